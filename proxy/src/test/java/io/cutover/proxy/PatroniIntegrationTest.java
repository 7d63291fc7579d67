package io.cutover.proxy;

import io.cutover.monitor.MonitorVerticle;
import io.cutover.monitor.Poll;
import io.cutover.monitor.TargetState;
import io.cutover.monitor.TargetStatus;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cutover in front of the real Patroni cluster of {@code scripts/patroni-cluster}: routing by {@code patroni} checks
 * ({@code GET /patroni}) and by {@code http} checks (Patroni's {@code /primary} and {@code /replica}), lag from
 * Patroni's WAL positions, a Patroni switchover followed, and a REST API that is down while PostgreSQL runs.
 */
class PatroniIntegrationTest {

  /** Harness.FAST_CHECKS with a timeout that Patroni's REST API (a Python thread per request) keeps to on a busy machine. */
  private static final String CHECKS = "checks: {interval: 500ms, fastinter: 100ms, timeout: 2s, fall: 3, rise: 2}\n";
  private PatroniStack stack;

  @BeforeEach
  void leaderPg1() {
    stack = PatroniStack.ensureLeaderPg1();
  }

  private String targets(String kind) {
    StringBuilder sb = new StringBuilder("targets:\n");
    stack.pgPorts.forEach((name, port) -> sb.append("  - {name: ").append(name).append(", host: 127.0.0.1, port: ")
        .append(port).append(", check: {kind: ").append(kind).append(", port: ").append(stack.restPorts.get(name))
        .append("}}\n"));
    return sb.toString() + CHECKS + "presence: {enabled: false}\nfailover: {failback_delay: 1s}\n";
  }

  private static Harness steady(String yaml) throws Exception {
    Harness h = Harness.start(yaml);
    h.await("pg1 primary, pg2 and pg3 readable",
        t -> "pg1".equals(t.primary()) && t.readable().contains("pg2") && t.readable().contains("pg3"));
    return h;
  }

  private static TargetStatus target(Harness h, String name) {
    return h.cutover.topology().target(name).orElseThrow();
  }

  private static String mode(Harness h) throws Exception {
    return h.cutover.vertx().eventBus().<JsonObject>request(MonitorVerticle.CLUSTER_ADDRESS, "")
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).body().getString("mode");
  }

  @Test
  void patroniChecksRouteToTheLeaderAndMeasureLagFromPatronisWalPositions() throws Exception {
    int pg3 = stack.pgPorts.get("pg3");
    try (Harness h = steady(targets("patroni") + "read: {max_lag: 1MB}\n")) {
      assertEquals("follow", mode(h));
      try (Connection w = h.write(); Connection r = h.read()) {
        assertEquals(String.valueOf(stack.pgPorts.get("pg1")), Harness.one(w, "show port"));
        assertEquals("f", Harness.one(w, "select pg_is_in_recovery()"));
        assertEquals("t", Harness.one(r, "select pg_is_in_recovery()"));
      }
      TargetStatus replica = target(h, "pg2");
      assertTrue(replica.timeline() >= 1 && replica.timeline() == target(h, "pg1").timeline(), "timeline from Patroni");
      assertTrue(replica.lagBytes() >= 0, "lag from Patroni's WAL positions: " + replica.lagBytes());
      assertTrue(List.of("unreported", "streaming").contains(replica.receiver()), replica.receiver());

      // replay paused on pg3 while 4 MB of WAL are written: Patroni's replayed_location stays behind
      Harness.execute(pg3, "select pg_wal_replay_pause()");
      try {
        Harness.execute(h.cutover.writePort(), "create table if not exists cutover_patroni_lag (x text)");
        Harness.execute(h.cutover.writePort(),
            "insert into cutover_patroni_lag select repeat('x', 1000) from generate_series(1, 4000)");
        h.await("pg3 out of the read pool for its lag", t -> !t.readable().contains("pg3"));
        TargetStatus lagging = target(h, "pg3");
        assertTrue(lagging.lagBytes() > 1 << 20, "lag " + lagging.lagBytes());
        assertTrue(lagging.readReason().startsWith("pg3 replay lag ") && lagging.readReason()
            .endsWith(" bytes exceeds read.max_lag 1048576 bytes"), lagging.readReason());
        assertEquals(TargetState.UP, lagging.state(), "lagging is not failing");
      } finally {
        Harness.execute(pg3, "select pg_wal_replay_resume()");
        Harness.execute(h.cutover.writePort(), "drop table if exists cutover_patroni_lag");
      }
      h.await("pg3 caught up", t -> t.readable().contains("pg3"));
    }
  }

  @Test
  void httpChecksRouteByPatronisPrimaryAndReplicaEndpoints() throws Exception {
    try (Harness h = steady(targets("http"))) {
      assertEquals("follow", mode(h));
      try (Connection w = h.write()) {
        assertEquals(String.valueOf(stack.pgPorts.get("pg1")), Harness.one(w, "show port"));
      }
      assertEquals(-1, target(h, "pg2").lagBytes(), "an http check sees no WAL positions");
      assertEquals("unreported", target(h, "pg2").receiver());
    }
  }

  @Test
  void aPatroniSwitchoverIsFollowedWithoutCutoverPromotingAnything() throws Exception {
    try (Harness h = steady(targets("patroni"))) {
      long before = target(h, "pg1").timeline();
      stack.switchover("pg2");
      h.await("pg2 primary after Patroni's switchover", t -> "pg2".equals(t.primary()) && t.readable().contains("pg3"));
      try (Connection w = h.write()) {
        assertEquals(String.valueOf(stack.pgPorts.get("pg2")), Harness.one(w, "show port"));
        assertEquals("f", Harness.one(w, "select pg_is_in_recovery()"));
      }
      assertTrue(target(h, "pg2").timeline() > before, "a new timeline: " + target(h, "pg2").timeline());
      assertEquals(target(h, "pg2").timeline(), target(h, "pg3").timeline(), "pg3 follows it");
      assertTrue(h.incidents().stream().noneMatch(i -> "cutover".equals(((JsonObject) i).getString("promoted_by"))),
          "Cutover promoted nothing: " + h.incidents().encode());
    }
  }

  @Test
  void patronisPauseIsShownAndLoggedUntilItEnds() throws Exception {
    try (Harness h = steady(targets("patroni"))) {
      stack.ctl("pause", "--wait");
      try {
        h.await("pg1 reported paused", t -> t.target("pg1").orElseThrow().patroni() != null
            && t.target("pg1").orElseThrow().patroni().pause());
        Poll.until(java.time.Duration.ofSeconds(10), "the pause in the decision log", () -> decided(h,
            "pg1: Patroni reports pause (maintenance mode: Patroni does not fail over)"));
        assertEquals("pg1", h.cutover.topology().primary(), "a pause changes no routing");
      } finally {
        stack.ctl("resume", "--wait");
      }
      Poll.until(java.time.Duration.ofSeconds(10), "the end of the pause in the decision log", () -> decided(h,
          "pg1: Patroni reports pause ended (Patroni fails over again)"));
    }
  }

  @Test
  void postgresDownUnderARunningPatroniFailsTheCheckWithPatronisState() throws Exception {
    try (Harness h = steady(targets("patroni"))) {
      try (java.net.ServerSocket blocker = stack.keepPostgresDown("pg3")) {
        // while it retries its query of a server that is down, Patroni answers GET /patroni late (a check may time
        // out); once its start of the server failed, it answers at once with the state
        h.await("pg3 down, Patroni reporting a state other than running", t -> {
          TargetStatus s = t.target("pg3").orElseThrow();
          return s.state() == TargetState.DOWN && s.lastError() != null && s.lastError().startsWith("Patroni reports state '");
        });
        assertTrue(!target(h, "pg3").lastError().contains("'running'"), target(h, "pg3").lastError());
        assertEquals(new io.cutover.monitor.PatroniFlags(false, false), target(h, "pg3").patroni(),
            "Patroni itself answers");
        assertEquals(List.of("pg2"), h.cutover.topology().readable());
      }
      h.await("pg3 readable again once Patroni started it", t -> t.readable().contains("pg3"));
    }
  }

  private static boolean decided(Harness h, String reason) {
    try {
      return h.cutover.vertx().eventBus().<JsonObject>request(MonitorVerticle.CLUSTER_ADDRESS, "")
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).body().getJsonArray("decisions")
          .stream().anyMatch(d -> reason.equals(((JsonObject) d).getString("reason")));
    } catch (Exception e) {
      return false;
    }
  }

  @Test
  void aRestApiThatIsDownWhilePostgresRunsTakesTheTargetDown() throws Exception {
    int pg3 = stack.pgPorts.get("pg3");
    try (Harness h = steady(targets("patroni"))) {
      stack.killDaemon("pg3");
      try {
        h.await("pg3 down: its REST API is gone", t -> t.target("pg3").orElseThrow().state() == TargetState.DOWN);
        assertEquals("GET /patroni: connection refused", target(h, "pg3").lastError());
        assertEquals("t", Harness.oneShot(pg3, "select pg_is_in_recovery()"), "its PostgreSQL still serves");
        assertEquals(List.of("pg2"), h.cutover.topology().readable());
        try (Connection r = h.read()) {
          assertEquals(String.valueOf(stack.pgPorts.get("pg2")), Harness.one(r, "show port"), "reads avoid pg3");
        }
      } finally {
        stack.stopPostgres("pg3"); // the orphaned server: the script starts a member's Patroni and PostgreSQL together
        stack.start("pg3");
      }
      h.await("pg3 readable again with its Patroni back", t -> t.readable().contains("pg3"));
    }
  }
}
