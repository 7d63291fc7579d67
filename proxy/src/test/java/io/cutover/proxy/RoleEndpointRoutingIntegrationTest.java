package io.cutover.proxy;

import io.cutover.monitor.HttpPeer;
import io.cutover.monitor.MonitorVerticle;
import io.cutover.monitor.PatroniFlags;
import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import io.cutover.monitor.TargetState;
import io.cutover.monitor.TargetStatus;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole application routing by {@code patroni} and {@code http} checks: sessions go to the real local cluster
 * ({@code scripts/pg-cluster}), while the roles, WAL positions and cluster flags come from a real HTTP peer per target
 * answering in Patroni's shapes ({@link HttpPeer}), in agreement with the cluster (pg1 primary) until a step says
 * otherwise.
 */
class RoleEndpointRoutingIntegrationTest {

  private static final long LSN = 0x5000000L;
  /** Harness.FAST_CHECKS with a timeout that the first requests of a JVM on a busy machine keep to. */
  private static final String CHECKS = "checks: {interval: 500ms, fastinter: 100ms, timeout: 1s, fall: 3, rise: 2}";
  private Vertx vertx;
  private final HttpPeer[] peers = new HttpPeer[3];

  @BeforeEach
  void start() throws Exception {
    PgCluster.ensureCanonical();
    vertx = Vertx.vertx();
    for (int i = 0; i < 3; i++) {
      peers[i] = new HttpPeer(vertx);
    }
  }

  @AfterEach
  void stop() throws Exception {
    for (HttpPeer p : peers) {
      p.close();
    }
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** {@code GET /patroni} as Patroni 3.0.4+ writes it. */
  static String patroni(String role, int timeline, long received, long replayed, String extra) {
    String xlog = role.equals("master")
        ? "{\"location\": " + received + "}"
        : "{\"received_location\": " + received + ", \"replayed_location\": " + replayed
            + ", \"replayed_timestamp\": null, \"paused\": false}";
    return "{\"state\": \"running\", \"postmaster_start_time\": \"2024-05-02 10:11:12.5+00:00\", \"role\": \"" + role
        + "\", \"server_version\": 150010, \"xlog\": " + xlog + ", \"timeline\": " + timeline + ", "
        + (role.equals("master") ? "" : "\"replication_state\": \"streaming\", ") + extra
        + "\"dcs_last_seen\": 1714644672, \"patroni\": {\"version\": \"3.0.4\", \"scope\": \"demo\"}}";
  }

  private String targets(String kind) {
    StringBuilder sb = new StringBuilder("targets:\n");
    for (int i = 0; i < 3; i++) {
      var t = PgCluster.targets().get(i);
      sb.append("  - {name: ").append(t.name()).append(", host: 127.0.0.1, port: ").append(t.port())
          .append(", check: {kind: ").append(kind).append(", port: ").append(peers[i].port()).append("}}\n");
    }
    return sb.toString();
  }

  private static JsonObject cluster(Harness h) throws Exception {
    return h.cutover.vertx().eventBus().<JsonObject>request(MonitorVerticle.CLUSTER_ADDRESS, "")
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).body();
  }

  private static boolean decided(Harness h, String reason) {
    try {
      JsonArray decisions = cluster(h).getJsonArray("decisions");
      return decisions.stream().anyMatch(d -> reason.equals(((JsonObject) d).getString("reason")));
    } catch (Exception e) {
      return false;
    }
  }

  private static TargetStatus target(Harness h, String name) {
    return h.cutover.topology().target(name).orElseThrow();
  }

  @Test
  void patroniChecksRouteSessionsSurfaceItsFlagsAndFollowItsFailover() throws Exception {
    peers[0].answer("/patroni", 200, patroni("master", 1, LSN, -1, ""));
    peers[1].answer("/patroni", 200, patroni("replica", 1, LSN, LSN, ""));
    peers[2].answer("/patroni", 200, patroni("replica", 1, LSN, LSN - (2 << 20), ""));
    try (Harness h = Harness.start(targets("patroni") + CHECKS + "\n"
        + "read: {max_lag: 1MB}\npresence: {enabled: false}\n")) {
      h.await("pg1 primary from Patroni, pg2 readable", t -> "pg1".equals(t.primary()) && t.readable().contains("pg2"));
      assertEquals("follow", cluster(h).getString("mode"), "Patroni is the failover authority");
      try (Connection w = h.write(); Connection r = h.read()) {
        assertEquals("f", Harness.one(w, "select pg_is_in_recovery()"), "writes go to the primary Patroni names");
        assertEquals("t", Harness.one(r, "select pg_is_in_recovery()"));
      }

      // lag in bytes from Patroni's WAL positions, and read.max_lag applied to it
      TargetStatus pg3 = target(h, "pg3");
      assertEquals(2L << 20, pg3.lagBytes());
      assertEquals("pg3 replay lag 2097152 bytes exceeds read.max_lag 1048576 bytes", pg3.readReason());
      assertEquals("streaming", pg3.receiver());
      peers[2].answer("/patroni", 200, patroni("replica", 1, LSN, LSN, ""));
      h.await("pg3 caught up and readable", t -> t.readable().contains("pg3"));

      // pause and cluster_unlocked: in the topology and the decision log
      peers[0].answer("/patroni", 200, patroni("master", 1, LSN, -1, "\"pause\": true, "));
      h.await("pg1 reported paused", t -> new PatroniFlags(true, false).equals(t.target("pg1").orElseThrow().patroni()));
      Poll.until(Duration.ofSeconds(10), "the pause in the decision log",
          () -> decided(h, "pg1: Patroni reports pause (maintenance mode: Patroni does not fail over)"));
      peers[1].answer("/patroni", 200, patroni("replica", 1, LSN, LSN, "\"cluster_unlocked\": true, "));
      Poll.until(Duration.ofSeconds(10), "cluster_unlocked in the decision log",
          () -> decided(h, "pg2: Patroni reports cluster_unlocked (no member holds the leader lock)"));
      JsonObject pg2Json = cluster(h).getJsonObject("topology").getJsonArray("targets").getJsonObject(1);
      assertEquals(new JsonObject().put("pause", false).put("cluster_unlocked", true), pg2Json.getJsonObject("patroni"));

      // the primary's REST API down while PostgreSQL runs: refused checks take it DOWN after fall
      peers[0].close();
      h.await("pg1 down: its REST API refuses", t -> t.target("pg1").orElseThrow().state() == TargetState.DOWN);
      assertEquals("GET /patroni: connection refused", target(h, "pg1").lastError());
      assertNull(h.cutover.topology().primary());
      assertNull(target(h, "pg1").patroni(), "nothing known while Patroni does not answer");

      // Patroni promotes pg2 (its REST API says so): Cutover follows without promoting anything itself
      peers[1].answer("/patroni", 200, patroni("master", 2, LSN + 100, -1, ""));
      peers[2].answer("/patroni", 200, patroni("replica", 2, LSN + 100, LSN + 100, ""));
      h.await("pg2 routed as primary, pg3 following it", t -> "pg2".equals(t.primary()) && t.readable().equals(java.util.List.of("pg3")));
      assertEquals(0, target(h, "pg3").lagBytes());
    }
  }

  @Test
  void httpChecksRouteByTheRoleEndpointsStatuses() throws Exception {
    peers[0].answer("/primary", 200, "{}").answer("/replica", 503, "{}");
    for (int i = 1; i < 3; i++) {
      peers[i].answer("/primary", 503, "{}").answer("/replica", 200, "{}");
    }
    String yaml = targets("http") + CHECKS.replace("}", ", http: {replica_path: '/replica?lag=16MB'}}") + "\n"
        + "presence: {enabled: false}\nfailover: {failback_delay: 1s}\n";
    try (Harness h = Harness.start(yaml)) {
      h.await("pg1 primary, pg2 and pg3 readable", t -> "pg1".equals(t.primary()) && t.readable().size() == 2);
      assertEquals("follow", cluster(h).getString("mode"));
      assertEquals("lag=16MB", peers[1].lastQuery("/replica"));
      try (Connection w = h.write(); Connection r = h.read()) {
        assertEquals("f", Harness.one(w, "select pg_is_in_recovery()"));
        assertEquals("t", Harness.one(r, "select pg_is_in_recovery()"));
      }
      TargetStatus pg2 = target(h, "pg2");
      assertEquals(-1, pg2.lagBytes(), "no WAL positions over http");
      assertEquals("unreported", pg2.receiver());
      // Patroni's /replica?lag=16MB answers 503 once the replica lags: HAProxy takes it out, so does Cutover
      peers[2].answer("/replica", 503, "{}");
      h.await("pg3 down", t -> t.target("pg3").orElseThrow().state() == TargetState.DOWN && !t.readable().contains("pg3"));
      assertEquals("neither primary nor replica (GET /primary: 503, GET /replica?lag=16MB: 503)", target(h, "pg3").lastError());
      peers[2].answer("/replica", 200, "{}");
      h.await("pg3 up again", t -> t.target("pg3").orElseThrow().state() == TargetState.UP);
      h.await("pg3 readable again after failback_delay", t -> t.readable().contains("pg3"));
    }
  }
}
