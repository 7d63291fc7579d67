package io.cutover.proxy.config;

import io.cutover.monitor.CheckOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigLoaderTest {

  static final String TARGETS = """
      targets:
        - {name: pg1, host: 127.0.0.1, port: 15432}
        - {name: pg2, host: 127.0.0.1, port: 15433}
      """;

  private static ConfigLoader.Result parse(String yaml) {
    return ConfigLoader.parse("test.yaml", yaml, Map.of());
  }

  private static List<String> problems(String yaml) {
    ConfigLoader.Result r = parse(yaml);
    assertFalse(r.ok(), "expected problems for:\n" + yaml);
    return r.problems();
  }

  @Test
  void defaultsApplyWhenOnlyTargetsAreGiven() {
    ConfigLoader.Result r = parse(TARGETS);
    assertTrue(r.ok(), r.problems().toString());
    CutoverConfig c = r.config();
    assertEquals(new ListenAddress("127.0.0.1", 6432), c.write());
    assertEquals(new ListenAddress("127.0.0.1", 6433), c.read());
    assertEquals(2, c.targets().size());
    assertEquals(CheckOptions.DEFAULT_INTERVAL, c.checks().getInterval());
    assertEquals(Duration.ofMillis(200), c.checks().getFastinter());
    assertEquals(Duration.ofSeconds(1), c.checks().getTimeout());
    assertEquals(3, c.checks().getFall());
    assertEquals(2, c.checks().getRise());
    assertEquals(-1, c.readMaxLagBytes(), "read.max_lag defaults to off");
    assertTrue(c.readFallbackToPrimary());
    assertEquals(Duration.ofSeconds(2), c.proxy().connectTimeout());
  }

  @Test
  void theShippedExampleIsValid() {
    Path example = io.cutover.monitor.PgCluster.projectRoot().resolve("cluster-config/cutover.yaml");
    ConfigLoader.Result r = ConfigLoader.load(example, Map.of());
    assertTrue(r.ok(), r.problems().toString());
    assertEquals(3, r.config().targets().size());
    assertEquals(Path.of(".run/history"), r.config().history().dir(), "persistence when following the README");
  }

  @Test
  void readsEveryKey() {
    ConfigLoader.Result r = parse(TARGETS + """
        listeners: {write: "0.0.0.0:7432", read: "127.0.0.1:7433"}
        checks: {interval: 2s, fastinter: 100ms, timeout: 500ms, fall: 5, rise: 4, user: mon, password: pw, database: db}
        read: {max_lag: 16MB, fallback_to_primary: false}
        proxy: {connect_timeout: 300ms, event_loops: 3}
        """);
    assertTrue(r.ok(), r.problems().toString());
    CutoverConfig c = r.config();
    assertEquals(new ListenAddress("0.0.0.0", 7432), c.write());
    assertEquals(Duration.ofSeconds(2), c.checks().getInterval());
    assertEquals(Duration.ofMillis(100), c.checks().getFastinter());
    assertEquals(Duration.ofMillis(500), c.checks().getTimeout());
    assertEquals(5, c.checks().getFall());
    assertEquals(4, c.checks().getRise());
    assertEquals("mon", c.checks().getUser());
    assertEquals("pw", c.checks().getPassword());
    assertEquals("db", c.checks().getDatabase());
    assertEquals(16L << 20, c.readMaxLagBytes());
    assertFalse(c.readFallbackToPrimary());
    assertEquals(Duration.ofMillis(300), c.proxy().connectTimeout());
    assertEquals(3, c.proxy().eventLoops());
    assertFalse(c.toJson().encode().contains("pw"), "the password is never printed");
  }

  @Test
  void failoverSection() {
    ConfigLoader.Result r = parse(TARGETS + """
        proxy: {connect_wait: 2s}
        failover:
          mode: manual
          rto: 3s
          max_lag_on_failover: 64kB
          failback_delay: 5s
          auto_failback: true
          preferred: pg2
          switchover_timeout: 4s
          promote_timeout: 3s
          incidents_kept: 7
          hooks: {on_failover: "echo {new_name}", on_fence: "echo f", on_switchover: "echo s", timeout: 2s}
        """);
    assertTrue(r.ok(), r.problems().toString());
    var f = r.config().failover();
    assertEquals(io.cutover.monitor.FailoverOptions.Mode.MANUAL, f.getMode());
    assertEquals(Duration.ofSeconds(3), f.getRto());
    assertEquals(64 * 1024, f.getMaxLagOnFailoverBytes());
    assertEquals(Duration.ofSeconds(5), f.getFailbackDelay());
    assertTrue(f.isAutoFailback());
    assertEquals("pg2", f.getPreferred());
    assertEquals(Duration.ofSeconds(4), f.getSwitchoverTimeout());
    assertEquals(Duration.ofSeconds(3), f.getPromoteTimeout());
    assertEquals("3s", r.config().toJson().getJsonObject("failover").getString("promote_timeout"));
    assertEquals(7, f.getIncidentsKept());
    assertEquals("echo {new_name}", f.getOnFailover());
    assertEquals(Duration.ofSeconds(2), f.getHookTimeout());
    assertEquals(Duration.ofSeconds(2), r.config().proxy().connectWait());
    ConfigLoader.Result defaults = parse(TARGETS);
    assertEquals(io.cutover.monitor.FailoverOptions.Mode.AUTO, defaults.config().failover().getMode());
    assertEquals(1L << 20, defaults.config().failover().getMaxLagOnFailoverBytes());
    assertEquals(Duration.ofSeconds(60), defaults.config().failover().getFailbackDelay());
    assertEquals(io.cutover.monitor.FailoverOptions.DEFAULT_PROMOTE_TIMEOUT, defaults.config().failover().getPromoteTimeout());
    assertEquals(Duration.ofSeconds(5), defaults.config().proxy().connectWait());
    assertEquals(Duration.ofSeconds(10), defaults.config().proxy().startupTimeout());
    assertEquals("10s", defaults.config().toJson().getJsonObject("proxy").getString("startup_timeout"));
  }

  @Test
  void maxClientConnectionsIsPerEndpointWithinLimits() {
    assertEquals(1000, parse(TARGETS).config().proxy().maxClientConnections());
    assertEquals(1000, parse(TARGETS).config().toJson().getJsonObject("proxy").getInteger("max_client_connections"));
    assertEquals(50, parse(TARGETS + "proxy: {max_client_connections: 50}\n").config().proxy().maxClientConnections());
    assertEquals(List.of("proxy.max_client_connections: must be between 1 and 1000000 (got 0)"),
        problems(TARGETS + "proxy: {max_client_connections: 0}\n"));
    assertEquals(List.of("proxy.max_client_connections: must be an integer (got 'many')"),
        problems(TARGETS + "proxy: {max_client_connections: many}\n"));
  }

  @Test
  void resolverServersAreAddressesWithOptionalPorts() {
    ResolverOptions defaults = parse(TARGETS).config().resolver();
    assertEquals(List.of(), defaults.servers());
    assertEquals(Duration.ofSeconds(5), defaults.timeout());
    assertEquals("/etc/resolv.conf", parse(TARGETS).config().toJson().getJsonObject("resolver").getString("servers"));
    ResolverOptions set = parse(TARGETS + "resolver: {servers: [10.0.0.2, '10.0.0.3:5353', '::1'], timeout: 1s}\n")
        .config().resolver();
    assertEquals(List.of("10.0.0.2", "10.0.0.3:5353", "::1"), set.servers());
    assertEquals(List.of("10.0.0.2", "10.0.0.3:5353", "::1"), set.toVertx().getServers());
    assertEquals(1000, set.toVertx().getQueryTimeout());
    assertEquals(List.of(
            "resolver.servers: must be an IPv4 address with an optional :port (1-65535), or an IPv6 address (got 'dns.example')",
            "resolver.servers: must be an IPv4 address with an optional :port (1-65535), or an IPv6 address (got '10.0.0.2:0')",
            "resolver.timeout: must be at least 100ms (got '10ms')"),
        problems(TARGETS + "resolver: {servers: [dns.example, '10.0.0.2:0'], timeout: 10ms}\n"));
  }

  @Test
  void startupTimeoutIsParsedAndAtLeast100ms() {
    assertEquals(Duration.ofMillis(300),
        ConfigLoader.parse("t", TARGETS + "proxy: {startup_timeout: 300ms}\n", Map.of()).config().proxy().startupTimeout());
    ConfigLoader.Result tooShort = ConfigLoader.parse("t", TARGETS + "proxy: {startup_timeout: 50ms}\n", Map.of());
    assertFalse(tooShort.ok());
    assertTrue(tooShort.problems().toString().contains("proxy.startup_timeout"), tooShort.problems().toString());
    assertTrue(tooShort.problems().toString().contains("must be at least 100ms"), tooShort.problems().toString());
  }

  @Test
  void aZeroLagLimitMeansZeroAndOffMeansNoLimit() {
    CutoverConfig zero = ConfigLoader.parse("t", TARGETS + "read: {max_lag: 0}\nfailover: {max_lag_on_failover: 0}\n", Map.of())
        .config();
    assertEquals(0, zero.readMaxLagBytes());
    assertEquals(0, zero.failover().getMaxLagOnFailoverBytes());
    assertEquals("0", zero.toJson().getJsonObject("read").getString("max_lag"));
    CutoverConfig off = ConfigLoader.parse("t", TARGETS + "read: {max_lag: off}\nfailover: {max_lag_on_failover: off}\n", Map.of())
        .config();
    assertEquals(-1, off.readMaxLagBytes());
    assertEquals(-1, off.failover().getMaxLagOnFailoverBytes());
    assertEquals("off", off.toJson().getJsonObject("read").getString("max_lag"));
    assertEquals("off", off.failover().toJson().getString("max_lag_on_failover"));
  }

  @Test
  void badFailoverSettings() {
    assertEquals(List.of(
            "failover.mode: must be auto, manual or follow (got 'yolo')",
            "failover.hooks.on_crash: unknown key",
            "failover.auto_failback: needs failover.preferred, the target to fail back to (got true)"),
        problems(TARGETS + "failover: {mode: yolo, auto_failback: true, hooks: {on_crash: x}}\n"));
    assertEquals(List.of("failover.preferred: must name a target (got 'pg9')"),
        problems(TARGETS + "failover: {preferred: pg9}\n"));
    assertEquals(List.of("failover.promote_timeout: must be at least 2s (got '1500ms')"),
        problems(TARGETS + "failover: {promote_timeout: 1500ms}\n"));
    assertEquals(List.of("failover.promote_timeout: not a duration (expected a number with a unit ms, s, m or h, "
            + "e.g. 200ms or 30s) (got 'soon')"),
        problems(TARGETS + "failover: {promote_timeout: soon}\n"));
  }

  @Test
  void presenceSection() {
    CutoverConfig defaults = parse(TARGETS).config();
    assertTrue(defaults.presence().enabled());
    assertEquals(Duration.ofSeconds(10), defaults.presence().heartbeat());
    CutoverConfig set = parse(TARGETS + "presence: {enabled: false, heartbeat: 2s}\n").config();
    assertFalse(set.presence().enabled());
    assertEquals(Duration.ofSeconds(2), set.presence().heartbeat());
    assertEquals("{\"enabled\":false,\"heartbeat\":\"2s\"}", set.toJson().getJsonObject("presence").encode());
    assertEquals(Duration.ofMillis(500), ConfigLoader.parse("t", TARGETS, Map.of("CUTOVER_PRESENCE__HEARTBEAT", "500ms"))
        .config().presence().heartbeat());
    assertEquals(List.of("presence.heartbeat: must be at least 100ms (got '50ms')", "presence.table: unknown key"),
        problems(TARGETS + "presence: {heartbeat: 50ms, table: x}\n"));
  }

  @Test
  void historySection() {
    assertEquals(CutoverConfig.History.OFF, parse(TARGETS).config().history(), "off when unset");
    assertEquals(CutoverConfig.History.OFF, parse(TARGETS + "history: {dir: off}\n").config().history(), "off (YAML: false)");
    assertEquals(CutoverConfig.History.OFF, parse(TARGETS + "history: {dir: 'off'}\n").config().history());
    CutoverConfig.History h = parse(TARGETS + "history: {dir: .run/history, max_file_size: 1MB, max_files: 3}\n")
        .config().history();
    assertEquals(new CutoverConfig.History(Path.of(".run/history"), 1 << 20, 3), h);
    assertEquals(new CutoverConfig.History(Path.of("/var/lib/cutover"), 10L << 20, 5), ConfigLoader.parse("t", TARGETS,
        Map.of("CUTOVER_HISTORY__DIR", "/var/lib/cutover")).config().history(), "defaults; the environment overrides");
    assertEquals(List.of(
            "history.max_file_size: must be at least 65536 bytes (got '1kB')",
            "history.max_files: must be between 2 and 100 (got 0)",
            "history.keep: unknown key",
            "history.dir: must be a directory path, or off (got ' ')"),
        problems(TARGETS + "history: {dir: ' ', max_file_size: 1kB, max_files: 0, keep: 5}\n"));
    assertEquals(List.of("history.max_file_size: not a size in bytes (expected e.g. 1048576, 512kB, 16MB or 1GB) (got 'big')",
            "history.dir: must be a directory path, or off (got 'true')"),
        problems(TARGETS + "history: {dir: true, max_file_size: big}\n"));
  }

  @Test
  void environmentOverridesKeys() {
    ConfigLoader.Result r = ConfigLoader.parse("t", TARGETS, Map.of(
        "CUTOVER_LISTENERS__WRITE", "127.0.0.1:9999",
        "CUTOVER_CHECKS__PASSWORD", "secret",
        "CUTOVER_READ__MAX_LAG", "1kB",
        "CUTOVER_PG_ROOT", "/ignored/without/double/underscore"));
    assertTrue(r.ok(), r.problems().toString());
    assertEquals(9999, r.config().write().port());
    assertEquals("secret", r.config().checks().getPassword());
    assertEquals(1024, r.config().readMaxLagBytes());
    assertEquals(List.of("CUTOVER_CHECKS__NOPE (checks.nope): unknown key"),
        ConfigLoader.parse("t", TARGETS, Map.of("CUTOVER_CHECKS__NOPE", "1")).problems());
  }

  @Test
  void aBadValueFromTheEnvironmentIsBlamedOnItsVariable() {
    ConfigLoader.Result r = ConfigLoader.parse("cutover.yaml", TARGETS + "checks: {fall: 2, rise: 0}\n",
        Map.of("CUTOVER_CHECKS__FALL", "0"));
    assertEquals(List.of("CUTOVER_CHECKS__FALL (checks.fall): must be between 1 and 1000 (got '0')",
        "checks.rise: must be between 1 and 1000 (got 0)"), r.problems());
    assertEquals(List.of("invalid configuration: CUTOVER_CHECKS__FALL (checks.fall): must be between 1 and 1000 (got '0')",
        "invalid configuration in cutover.yaml: checks.rise: must be between 1 and 1000 (got 0)"), r.messages());
  }

  @Test
  void environmentProblemsOfEveryShape() {
    assertEquals(List.of("CUTOVER_FROB__NICATE (frob): unknown key"),
        ConfigLoader.parse("t", TARGETS, Map.of("CUTOVER_FROB__NICATE", "1")).problems(), "a mapping the variable made");
    assertEquals(List.of("CUTOVER_LISTENERS__WRITE__HOST (listeners.write.host): listeners.write is not a mapping "
            + "and cannot be overridden key by key"),
        ConfigLoader.parse("t", TARGETS + "listeners: {write: '127.0.0.1:7000'}\n",
            Map.of("CUTOVER_LISTENERS__WRITE__HOST", "h")).problems());
    assertEquals(List.of("CUTOVER_LISTENERS__WRITE__HOST (listeners.write): must be a single value (got {host=h})"),
        ConfigLoader.parse("t", TARGETS, Map.of("CUTOVER_LISTENERS__WRITE__HOST", "h")).problems());
    assertEquals(List.of("CUTOVER_ADMIN_TOKEN (admin.token): must be at least 16 characters (the value is not shown)"),
        ConfigLoader.parse("t", TARGETS, Map.of("CUTOVER_ADMIN_TOKEN", "short")).problems());
    assertEquals(List.of("admin.token: must be at least 16 characters (the value is not shown)"),
        ConfigLoader.parse("t", TARGETS + "admin: {token: short}\n", Map.of()).problems(), "from the file");
    assertEquals(List.of("CUTOVER_FAILOVER__MODE (failover.mode): must be auto, manual or follow (got 'yolo')"),
        ConfigLoader.parse("t", TARGETS + "failover: {mode: manual}\n", Map.of("CUTOVER_FAILOVER__MODE", "yolo")).problems(),
        "the variable wins over the file and takes the blame");
  }

  @Test
  void unknownKeysAnywhere() {
    assertEquals(List.of("targets[0].weight: unknown key", "checks.intervall: unknown key", "frobnicate: unknown key"),
        problems("""
            targets:
              - {name: pg1, host: h, port: 1, weight: 3}
            checks: {intervall: 1s}
            frobnicate: true
            """));
  }

  @Test
  void badDurations() {
    assertEquals(List.of(
            "checks.interval: not a duration (expected a number with a unit ms, s, m or h, e.g. 200ms or 30s) (got '1 sec')",
            "checks.fastinter: must be at least 10ms (got '1ms')",
            "checks.timeout: not a duration (expected a number with a unit ms, s, m or h, e.g. 200ms or 30s) (got 1000)"),
        problems(TARGETS + "checks: {interval: 1 sec, timeout: 1000, fastinter: 1ms}\n"));
  }

  @Test
  void portsOutOfRange() {
    assertEquals(List.of(
            "listeners.write: port out of range 0..65535 (got '127.0.0.1:70000')",
            "listeners.read: must be host:port, e.g. 127.0.0.1:6432 (got 'localhost')",
            "targets[0].port: must be between 1 and 65535 (got 0)",
            "targets[1].port: must be an integer (got 'abc')"),
        problems("""
            listeners: {write: "127.0.0.1:70000", read: localhost}
            targets:
              - {name: a, host: h, port: 0}
              - {name: b, host: h, port: abc}
            """));
  }

  @Test
  void noTargets() {
    assertEquals(List.of("targets: at least one target is required (a list of {name, host, port})"), problems("checks: {fall: 3}\n"));
    assertEquals(List.of("targets: at least one target is required (a list of {name, host, port})"), problems("targets: []\n"));
    assertEquals(List.of("targets: at least one target is required (a list of {name, host, port})"), problems(""));
  }

  @Test
  void duplicateAndMissingTargetFields() {
    assertEquals(List.of(
            "targets[1].name: duplicate target name (got 'pg1')",
            "targets[2].name: is required",
            "targets[2].host: is required",
            "targets[2].port: is required",
            "targets[3].name: must be 1-63 letters, digits, '_', '.' or '-' (got 'bad name')"),
        problems("""
            targets:
              - {name: pg1, host: h, port: 1}
              - {name: pg1, host: h, port: 2}
              - {}
              - {name: bad name, host: h, port: 3}
            """));
  }

  @Test
  void fallAndRiseBelowOne() {
    assertEquals(List.of("checks.fall: must be between 1 and 1000 (got 0)", "checks.rise: must be between 1 and 1000 (got -1)"),
        problems(TARGETS + "checks: {fall: 0, rise: -1}\n"));
  }

  @Test
  void wrongTypesAndBadSizes() {
    assertEquals(List.of(
            "listeners: must be a mapping of keys to values (got '127.0.0.1:6432')",
            "read.max_lag: not a size in bytes (expected e.g. 1048576, 512kB, 16MB or 1GB) (got 'lots')",
            "read.fallback_to_primary: must be true or false (got 'maybe')"),
        problems(TARGETS + "listeners: 127.0.0.1:6432\nread: {max_lag: lots, fallback_to_primary: maybe}\n"));
  }

  @Test
  void invalidYamlAndDuplicateKeys() {
    List<String> p = problems("targets: [\n");
    assertEquals(1, p.size());
    assertTrue(p.get(0).startsWith("test.yaml: invalid YAML: "), p.get(0));
    List<String> dup = problems(TARGETS + "checks: {fall: 1}\nchecks: {fall: 2}\n");
    assertEquals(1, dup.size());
    assertTrue(dup.get(0).contains("duplicate key checks"), dup.get(0));
    assertEquals(List.of("test.yaml: the top level must be a mapping of keys to values"), problems("- a\n- b\n"));
  }

  @Test
  void unreadableFile(@TempDir Path dir) throws IOException {
    assertEquals(List.of(dir.resolve("missing.yaml") + ": cannot read configuration file: no such file"),
        ConfigLoader.load(dir.resolve("missing.yaml"), Map.of()).problems());
    Path bin = dir.resolve("bin.yaml");
    Files.write(bin, new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1});
    assertEquals(List.of(bin + ": cannot read configuration file: not UTF-8 text"), ConfigLoader.load(bin, Map.of()).problems());
    assertEquals(1, ConfigLoader.load(dir, Map.of()).problems().size(), "a directory is not a file");
  }
}
