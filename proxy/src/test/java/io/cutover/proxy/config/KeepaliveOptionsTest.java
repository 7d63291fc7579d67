package io.cutover.proxy.config;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.cutover.proxy.config.ConfigLoaderTest.TARGETS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code proxy.keepalive} section: defaults, every key, the environment, and one problem line per bad value. */
class KeepaliveOptionsTest {

  private static ConfigLoader.Result parse(String yaml, Map<String, String> env) {
    return ConfigLoader.parse("test.yaml", TARGETS + yaml, env);
  }

  private static KeepaliveOptions keepalive(String yaml) {
    ConfigLoader.Result r = parse(yaml, Map.of());
    assertTrue(r.ok(), r.problems().toString());
    return r.config().proxy().keepalive();
  }

  private static List<String> problems(String yaml) {
    ConfigLoader.Result r = parse(yaml, Map.of());
    assertFalse(r.ok(), "expected problems for:\n" + yaml);
    return r.problems();
  }

  @Test
  void defaultsNoticeADeadIdlePeerWithinAMinuteWithoutAUserTimeout() {
    KeepaliveOptions k = keepalive("");
    assertEquals(new KeepaliveOptions(30, 10, 3, Duration.ZERO), k);
    assertEquals(KeepaliveOptions.defaults(), k);
    assertEquals(ProxyOptions.defaults().keepalive(), k);
    assertFalse(k.hasUserTimeout());
    assertEquals(Duration.ofSeconds(60), k.deadPeerBound());
    assertEquals("{\"idle\":\"30s\",\"interval\":\"10s\",\"count\":3,\"user_timeout\":\"off\"}",
        parse("", Map.of()).config().toJson().getJsonObject("proxy").getJsonObject("keepalive").encode());
  }

  @Test
  void readsEveryKey() {
    KeepaliveOptions k = keepalive("proxy: {keepalive: {idle: 2m, interval: 5s, count: 4, user_timeout: 1500ms}}\n");
    assertEquals(new KeepaliveOptions(120, 5, 4, Duration.ofMillis(1500)), k);
    assertTrue(k.hasUserTimeout());
    assertEquals("{\"idle\":\"120s\",\"interval\":\"5s\",\"count\":4,\"user_timeout\":\"1500ms\"}", k.toJson().encode());
    assertEquals(new KeepaliveOptions(1, 1, 1, Duration.ZERO),
        keepalive("proxy: {keepalive: {idle: 1s, interval: 1s, count: 1, user_timeout: off}}\n"));
    assertEquals(new KeepaliveOptions(32767, 32767, 127, Duration.ZERO),
        keepalive("proxy: {keepalive: {idle: 32767s, interval: 32767s, count: 127, user_timeout: 0}}\n"));
  }

  @Test
  void theEnvironmentOverridesKeyByKey() {
    ConfigLoader.Result r = parse("proxy: {keepalive: {idle: 10s}}\n",
        Map.of("CUTOVER_PROXY__KEEPALIVE__INTERVAL", "2s", "CUTOVER_PROXY__KEEPALIVE__USER_TIMEOUT", "20s"));
    assertTrue(r.ok(), r.problems().toString());
    assertEquals(new KeepaliveOptions(10, 2, 3, Duration.ofSeconds(20)), r.config().proxy().keepalive());
    assertEquals(List.of("CUTOVER_PROXY__KEEPALIVE__COUNT (proxy.keepalive.count): must be between 1 and 127 (got '0')"),
        parse("", Map.of("CUTOVER_PROXY__KEEPALIVE__COUNT", "0")).problems());
  }

  @Test
  void eachBadValueIsOneLine() {
    assertEquals(List.of(
            "proxy.keepalive.idle: must be whole seconds between 1s and 32767s (got '0s')",
            "proxy.keepalive.interval: must be whole seconds between 1s and 32767s (got '1500ms')",
            "proxy.keepalive.count: must be between 1 and 127 (got 128)",
            "proxy.keepalive.user_timeout: must be off or between 100ms and 24h (got '50ms')"),
        problems("proxy: {keepalive: {idle: 0s, interval: 1500ms, count: 128, user_timeout: 50ms}}\n"));
    assertEquals(List.of(
            "proxy.keepalive.idle: must be whole seconds between 1s and 32767s (got '32768s')",
            "proxy.keepalive.interval: not a duration (expected a number with a unit ms, s, m or h, e.g. 200ms or 30s) (got 10)",
            "proxy.keepalive.count: must be an integer (got 'three')",
            "proxy.keepalive.user_timeout: must be off or between 100ms and 24h (got '25h')",
            "proxy.keepalive.probes: unknown key"),
        problems("proxy: {keepalive: {idle: 32768s, interval: 10, count: three, user_timeout: 25h, probes: 3}}\n"));
    assertEquals(List.of("proxy.keepalive: must be a mapping of keys to values (got 'on')"),
        problems("proxy: {keepalive: 'on'}\n"));
  }

  @Test
  void theBoundIsIdlePlusIntervalTimesCountOrTheFirstProbeAfterTheUserTimeout() {
    assertEquals(Duration.ofSeconds(3), new KeepaliveOptions(1, 1, 2, Duration.ZERO).deadPeerBound());
    assertEquals(Duration.ofSeconds(60), new KeepaliveOptions(30, 10, 3, Duration.ofSeconds(60)).deadPeerBound());
    assertEquals(Duration.ofSeconds(70), new KeepaliveOptions(30, 10, 3, Duration.ofSeconds(61)).deadPeerBound());
    assertEquals(Duration.ofSeconds(40), new KeepaliveOptions(30, 10, 9, Duration.ofSeconds(5)).deadPeerBound(),
        "at least one unanswered probe");
  }
}
