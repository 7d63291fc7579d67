package io.cutover.proxy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.cutover.drill.DrillPreflight;
import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import io.cutover.monitor.Presence;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One Cutover per cluster, or a clear warning: two unclustered Cutovers on the same real cluster find each other
 * through the marker table ({@link Presence}), each warns once naming the other and lists it in
 * {@code /api/v1/cluster}; the drill's pre-flight refuses while one runs and passes once both stopped cleanly
 * (their rows deleted) even with a stale row left in the table; a check user that may not create the table gets
 * one warning and a working Cutover.
 */
class PresenceIntegrationTest {

  /**
   * A short heartbeat: rows are refreshed at least every 1.5 s (heartbeat + checks.interval of the fast checks) and
   * stale 4.5 s after their instance stopped refreshing them.
   */
  static final String PRESENCE = "presence: {heartbeat: 1s}\n";
  static final String RESTRICTED_USER = "cutover_presence_test";

  private final ListAppender<ILoggingEvent> log = new ListAppender<>();
  private final Logger presenceLogger = (Logger) LoggerFactory.getLogger(Presence.class);
  private Vertx vertx;

  @BeforeEach
  void setUp() {
    log.start();
    presenceLogger.addAppender(log);
    vertx = Vertx.vertx();
  }

  @AfterEach
  void tearDown() throws Exception {
    presenceLogger.detachAppender(log);
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void twoUnclusteredCutoversWarnAboutEachOtherAndTheDrillRefusesWhileOneRuns() throws Exception {
    PgCluster.ensureCanonical();
    int pg1 = PgCluster.port("pg1");
    Harness a = Harness.startOnCluster(PRESENCE);
    Harness b = null;
    try (Http httpA = new Http(a.cutover.httpPort())) {
      b = Harness.startOnCluster(PRESENCE);
      String idA = a.cutover.instanceId();
      String idB = b.cutover.instanceId();
      try (Http httpB = new Http(b.cutover.httpPort())) {
        Poll.until(Duration.ofSeconds(30), "each lists the other in /api/v1/cluster other_cutovers",
            () -> List.of(idB).equals(otherIds(httpA)) && List.of(idA).equals(otherIds(httpB)));

        JsonObject seenByA = others(httpA).getJsonObject(0);
        assertNull(seenByA.getString("cluster"));
        assertEquals("127.0.0.1:" + b.cutover.httpPort(), seenByA.getString("http"));
        assertEquals(ProcessHandle.current().pid(), seenByA.getLong("pid"));
        assertEquals(Presence.Identity.localHostName(), seenByA.getString("host"));
        assertEquals(1500L, seenByA.getLong("heartbeat_ms"), "presence.heartbeat + checks.interval");
        Instant firstSeen = Instant.parse(seenByA.getString("seen_at"));
        assertFalse(Instant.parse(seenByA.getString("started_at")).isAfter(firstSeen));
        JsonObject self = cluster(httpA).getJsonObject("presence");
        assertEquals(idA, self.getJsonObject("instance").getString("id"));
        assertTrue(self.getJsonObject("problems").isEmpty(), self.encode());

        // a few more heartbeats: still one warning per other instance
        Poll.until(Duration.ofSeconds(30), "A reads B's row refreshed twice more",
            () -> others(httpA).stream().map(JsonObject.class::cast)
                .anyMatch(o -> Instant.parse(o.getString("seen_at")).isAfter(firstSeen.plusMillis(2000))));
        assertEquals(1, warnings("cutover " + idB + " ("), "A warns once about B: " + messages());
        assertEquals(1, warnings("cutover " + idA + " ("), "B warns once about A: " + messages());

        Optional<String> refusal = DrillPreflight.refusal(vertx, ports());
        assertTrue(refusal.isPresent(), "the drill refuses while two Cutovers run");
        assertTrue(refusal.get().startsWith("drill: refusing to start: 2 other Cutovers manage the local cluster: "),
            refusal.get());
        assertTrue(refusal.get().contains("cutover " + idA + " (") && refusal.get().contains("cutover " + idB + " ("),
            refusal.get());
        assertFalse(refusal.get().contains("\n"), "one line: " + refusal.get());
      }

      b.close();
      b = null;
      assertEquals("0", Harness.oneShot(pg1, "select count(*) from cutover_instances where id = '" + idB + "'"),
          "a clean stop deletes the instance's row");
      Poll.until(Duration.ofSeconds(30), "A no longer lists B", () -> otherIds(httpA).isEmpty());
      assertTrue(messages().stream().anyMatch(m -> m.contains("cutover " + idB + " (") && m.contains("no longer seen")),
          messages().toString());

      Optional<String> refusal = DrillPreflight.refusal(vertx, ports());
      assertTrue(refusal.isPresent() && refusal.get().contains("another Cutover manages the local cluster: cutover "
          + idA + " (") && !refusal.get().contains(idB), String.valueOf(refusal));

      // a row of an instance that died without cleaning up: stale after three of its heartbeats
      exec(pg1, "insert into cutover_instances values ('stale-test', null, 'elsewhere', null, 1, 1000,"
          + " now() - interval '1 hour', now() - interval '1 minute') on conflict (id) do update set seen_at = excluded.seen_at");
      a.close();
      a = null;
      assertEquals("0", Harness.oneShot(pg1, "select count(*) from cutover_instances where id = '" + idA + "'"));
      assertEquals(Optional.empty(), DrillPreflight.refusal(vertx, ports()),
          "nothing runs: the drill may start (the stale row does not count)");
    } finally {
      if (b != null) {
        b.close();
      }
      if (a != null) {
        a.close();
      }
      exec(pg1, "delete from cutover_instances where id = 'stale-test'");
    }
  }

  @Test
  void aCheckUserThatMayNotCreateTheTableGetsOneWarningAndAWorkingCutover() throws Exception {
    PgCluster.ensureCanonical();
    int pg1 = PgCluster.port("pg1");
    exec(pg1, "drop table if exists cutover_instances");
    exec(pg1, "do $$ begin if not exists (select from pg_roles where rolname = '" + RESTRICTED_USER
        + "') then create role " + RESTRICTED_USER + " login in role pg_monitor; end if; end $$");
    try {
      Harness h = Harness.start(Harness.clusterTargets() + PRESENCE + "failover: {failback_delay: 1s}\n"
          + Harness.FAST_CHECKS.replace("checks: {", "checks: {user: " + RESTRICTED_USER + ", "));
      try (h; Http http = new Http(h.cutover.httpPort())) {
        h.await("pg1 primary", t -> "pg1".equals(t.primary()));
        Poll.until(Duration.ofSeconds(30), "the create refusal is reported in /api/v1/cluster",
            () -> cluster(http).getJsonObject("presence").getJsonObject("problems").getString("create") != null);
        String problem = cluster(http).getJsonObject("presence").getJsonObject("problems").getString("create");
        assertTrue(problem.startsWith("42501 "), problem);
        long at = System.nanoTime();
        Poll.until(Duration.ofSeconds(30), "three more heartbeats", () -> System.nanoTime() - at > 3_500_000_000L);
        assertEquals(1, log.list.stream().filter(e -> e.getLevel() == Level.WARN).count(), "one warning: " + messages());
        String warning = messages().get(0);
        assertTrue(warning.contains("cannot create table cutover_instances") && warning.contains("42501")
            && warning.contains("Carrying on without it"), warning);
        assertEquals(new JsonArray(), others(http));
        assertEquals("pg1", h.cutover.topology().primary(), "the monitor works on");
      }
    } finally {
      exec(pg1, "drop role if exists " + RESTRICTED_USER);
    }
  }

  // ---- helpers ----

  private static void exec(int port, String sql) throws Exception {
    try (var c = Harness.connect(port); var st = c.createStatement()) {
      st.execute(sql);
    }
  }

  private static Map<String, Integer> ports() {
    Map<String, Integer> ports = new LinkedHashMap<>();
    for (String n : List.of("pg1", "pg2", "pg3")) {
      ports.put(n, PgCluster.port(n));
    }
    return ports;
  }

  private static JsonObject cluster(Http http) {
    try {
      return Http.json(http.get("/api/v1/cluster"));
    } catch (Exception e) {
      throw new AssertionError("GET /api/v1/cluster failed: " + e, e);
    }
  }

  private static JsonArray others(Http http) {
    JsonArray others = cluster(http).getJsonArray("other_cutovers");
    assertNotNull(others, "other_cutovers is present while presence is enabled");
    return others;
  }

  private static List<String> otherIds(Http http) {
    return others(http).stream().map(o -> ((JsonObject) o).getString("id")).toList();
  }

  private long warnings(String naming) {
    return log.list.stream().filter(e -> e.getLevel() == Level.WARN && e.getFormattedMessage().contains(naming)).count();
  }

  private List<String> messages() {
    return log.list.stream().map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
  }
}
