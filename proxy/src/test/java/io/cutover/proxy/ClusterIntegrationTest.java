package io.cutover.proxy;

import io.cutover.monitor.MonitorVerticle;
import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import io.cutover.monitor.cluster.ClusterAuthority;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Three clustered Cutover instances (Hazelcast on 127.0.0.1) over the real PostgreSQL cluster. */
class ClusterIntegrationTest {

  private final List<Harness> instances = new ArrayList<>();
  private final String clusterName = "cutover-test-" + UUID.randomUUID();

  @BeforeEach
  void canonicalCluster() {
    PgCluster.ensureCanonical();
  }

  @AfterEach
  void stop() throws Exception {
    for (int i = instances.size() - 1; i >= 0; i--) {
      instances.get(i).close();
    }
  }

  private Harness start(String targets) throws Exception {
    String hazelcast = PgCluster.projectRoot().resolve("cluster-config/hazelcast.yaml").toString();
    Harness h = Harness.start(targets
        + "checks: {interval: 500ms, fastinter: 100ms, timeout: 500ms, fall: 3, rise: 2}\n"
        + "failover: {failback_delay: 1s}\n" + Harness.ADMIN
        + "cluster: {enabled: true, size: 3, name: " + clusterName + ", hazelcast: '" + hazelcast + "'}\n");
    instances.add(h);
    return h;
  }

  private void startThree(String leaderTargets) throws Exception {
    start(leaderTargets);
    start(Harness.clusterTargets());
    start(Harness.clusterTargets());
    for (Harness h : instances) {
      Poll.until(Duration.ofSeconds(60), "three members", () -> h.cutover.authority().toJson().getJsonArray("members").size() == 3);
    }
    assertTrue(instances.get(0).cutover.authority().isLeader(), "the oldest member leads");
    assertEquals(1, instances.stream().filter(h -> h.cutover.authority().isLeader()).count(), "exactly one leader");
  }

  private static String uuid(Harness h) {
    return h.cutover.authority().toJson().getJsonArray("members").stream().map(JsonObject.class::cast)
        .filter(m -> m.getBoolean("local")).findFirst().orElseThrow().getString("uuid");
  }

  private static <T> T get(io.vertx.core.Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  /** Sends a fence to {@code to}'s per-member address; returns the failure code, or 0 if it was obeyed. */
  private static int fence(Harness from, Harness to, String target, long version, String leaderUuid) throws Exception {
    try {
      get(from.cutover.vertx().eventBus().request(ClusterAuthority.FENCE + "." + uuid(to),
          new JsonObject().put("target", target).put("version", version).put("leader", leaderUuid)));
      return 0;
    } catch (java.util.concurrent.ExecutionException e) {
      return e.getCause() instanceof ReplyException re ? re.failureCode() : -1;
    }
  }

  private static String recovery(String node) throws SQLException {
    return Harness.oneShot(PgCluster.port(node), "select pg_is_in_recovery()");
  }

  @Test
  void killingThePrimaryPromotesExactlyOnceAndEveryInstanceRoutesToTheNewPrimary() throws Exception {
    startThree(Harness.clusterTargets());
    for (Harness h : instances) {
      h.await("pg1 primary everywhere", t -> "pg1".equals(t.primary()));
    }
    PgCluster.run("kill", "pg1");
    String promoted = instances.get(0).await("a new primary", t -> t.primary() != null && !t.primary().equals("pg1")).primary();
    for (Harness h : instances) {
      h.await("every instance routes to " + promoted, t -> promoted.equals(t.primary()));
      assertEquals(String.valueOf(PgCluster.port(promoted)), Harness.oneShot(h.cutover.writePort(), "select inet_server_port()"));
    }
    String other = promoted.equals("pg2") ? "pg3" : "pg2";
    assertEquals("f", recovery(promoted));
    assertEquals("t", recovery(other), "exactly one promotion");

    // the decision is recorded cluster-wide; its version is the fencing token every instance routes above
    JsonObject decision = get(instances.get(2).cutover.authority().decision());
    assertEquals("failover", decision.getString("kind"), decision.encode());
    assertEquals("pg1", decision.getString("old_primary"));
    assertEquals(promoted, decision.getString("new_primary"));
    long token = decision.getLong("version");
    for (Harness h : instances) {
      h.await("routes by a version above the decision's " + token, t -> t.version() > token);
    }
    // a stale decision is harmless: a fence with an older version, or from a member that is not the leader,
    // is refused and routing stays as it is
    Harness leader = instances.get(0);
    Harness follower = instances.get(2);
    assertEquals(409, fence(leader, follower, promoted, token - 1, uuid(leader)), "an older decision's fence");
    assertEquals(409, fence(instances.get(1), follower, promoted, token + 100, uuid(instances.get(1))),
        "a fence from a member that is not the leader");
    assertEquals(promoted, follower.cutover.topology().primary());
    assertFalse(follower.cutover.topology().target(promoted).orElseThrow().fenced());
    assertEquals(String.valueOf(PgCluster.port(promoted)), Harness.oneShot(follower.cutover.writePort(), "select inet_server_port()"));
  }

  @Test
  void aLeaderCutOffFromThePrimaryAloneCausesNoFailover() throws Exception {
    // the leader reaches pg1 through a relay the test can cut; the followers reach it directly
    try (FaultProxy toPg1 = new FaultProxy(PgCluster.port("pg1"))) {
      startThree(Harness.clusterTargets().replace("port: " + PgCluster.port("pg1"), "port: " + toPg1.port()));
      for (Harness h : instances) {
        h.await("pg1 primary everywhere", t -> "pg1".equals(t.primary()));
      }
      Harness leader = instances.get(0);
      toPg1.cut();
      Poll.until(Duration.ofSeconds(30), "the leader refuses for lack of quorum", () -> {
        try {
          JsonArray incidents = leader.cutover.vertx().eventBus().<JsonArray>request(MonitorVerticle.INCIDENTS_ADDRESS, "")
              .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).body();
          return incidents.encode().contains("no quorum for a failover: 1 of 3 instances see pg1 DOWN");
        } catch (Exception e) {
          return false;
        }
      });
      JsonObject authority = leader.cutover.authority().toJson();
      assertEquals("wait", authority.getString("authority"), authority.encode());
      assertEquals("t", recovery("pg2"), "no promotion");
      assertEquals("t", recovery("pg3"), "no promotion");
      for (Harness follower : instances.subList(1, 3)) {
        assertEquals("pg1", follower.cutover.topology().primary());
        assertEquals(String.valueOf(PgCluster.port("pg1")),
            Harness.oneShot(follower.cutover.writePort(), "select inet_server_port()"), "followers keep writing to pg1");
      }
    }
  }

  @Test
  void anAdminCallOnAFollowerActsClusterWide() throws Exception {
    startThree(Harness.clusterTargets());
    for (Harness h : instances) {
      h.await("pg1 primary everywhere", t -> "pg1".equals(t.primary()));
    }
    Harness follower = instances.get(2);
    try (Http http = new Http(follower.cutover.httpPort())) {
      var drained = http.post("/api/v1/targets/pg3/drain", null);
      assertEquals(200, drained.statusCode(), drained.bodyAsString());
      for (Harness h : instances) {
        h.await("pg3 drained on every instance", t -> t.target("pg3").orElseThrow().drained());
      }
      assertEquals(200, http.post("/api/v1/targets/pg3/enable", null).statusCode());
      var r = http.post("/api/v1/switchover", "{\"candidate\": \"pg2\"}");
      assertEquals(200, r.statusCode(), r.bodyAsString());
    }
    for (Harness h : instances) {
      h.await("every instance routes writes to pg2", t -> "pg2".equals(t.primary()));
      assertEquals(String.valueOf(PgCluster.port("pg2")), Harness.oneShot(h.cutover.writePort(), "select inet_server_port()"));
    }
    assertEquals("f", recovery("pg2"));
    // the leader fenced pg1 on every instance before the switchover began
    for (Harness h : instances.subList(1, 3)) {
      JsonArray decisions = get(h.cutover.vertx().eventBus().<JsonObject>request(MonitorVerticle.CLUSTER_ADDRESS, ""))
          .body().getJsonArray("decisions");
      assertTrue(decisions.encode().contains("pg1 fenced by the failover authority"), decisions.encode());
    }
    // any instance shows every member's view and the cluster-wide audit
    try (Http other = new Http(instances.get(1).cutover.httpPort())) {
      Poll.until(Duration.ofSeconds(20), "every member routes to pg2", () -> {
        try {
          JsonArray views = other.get("/api/v1/cluster").bodyAsJsonObject().getJsonObject("cluster").getJsonArray("member_views");
          return views.size() == 3 && views.stream().allMatch(v -> "pg2".equals(((JsonObject) v).getJsonObject("topology").getString("primary")));
        } catch (Exception e) {
          return false;
        }
      });
      JsonArray audit = other.get("/api/v1/audit").bodyAsJsonObject().getJsonArray("audit");
      assertTrue(audit.stream().anyMatch(e -> "switchover".equals(((JsonObject) e).getString("action"))
          && ((JsonObject) e).getInteger("status") == 200), audit.encode());
      assertTrue(audit.stream().anyMatch(e -> "drain".equals(((JsonObject) e).getString("action"))), audit.encode());
      Poll.until(Duration.ofSeconds(20), "the leader's switchover incident, seen from a follower", () -> {
        try {
          JsonObject inc = other.get("/api/v1/incidents").bodyAsJsonObject();
          return "cluster".equals(inc.getString("recorded_by")) && inc.getJsonArray("incidents").stream()
              .map(JsonObject.class::cast).anyMatch(i -> "switchover".equals(i.getString("kind"))
                  && "completed".equals(i.getString("outcome")) && i.getString("recorded_by") != null);
        } catch (Exception e) {
          return false;
        }
      });
    }
  }

  @Test
  void whenTheLeaderLeavesTheNextOldestLeadsAndAFailoverStillWorks() throws Exception {
    startThree(Harness.clusterTargets());
    Harness oldLeader = instances.remove(0);
    long start = System.nanoTime();
    oldLeader.close();
    Harness next = instances.get(0);
    long tookMs = Poll.until(Duration.ofSeconds(30), "a new leader", () -> next.cutover.authority().isLeader());
    assertTrue(tookMs < 10_000, "took " + tookMs + " ms (graceful leave: at once; a crash: hazelcast.max.no.heartbeat.seconds)");
    System.out.println("new leader after " + (System.nanoTime() - start) / 1_000_000 + " ms");
    assertEquals(1, instances.stream().filter(h -> h.cutover.authority().isLeader()).count());
    PgCluster.run("kill", "pg1");
    for (Harness h : instances) {
      h.await("failover with two of three instances", t -> t.primary() != null && !t.primary().equals("pg1"));
    }
    String promoted = instances.get(0).cutover.topology().primary();
    instances.get(1).await("the other instance follows", t -> promoted.equals(t.primary()));
    // maintenance mode and drains asked on any instance are kept in the shared state
    String other = promoted.equals("pg2") ? "pg3" : "pg2";
    try (Http http = new Http(instances.get(1).cutover.httpPort())) {
      assertEquals(200, http.post("/api/v1/maintenance", "{\"enabled\": true, \"reason\": \"drill\"}").statusCode());
      assertEquals(200, http.post("/api/v1/targets/" + other + "/drain", null).statusCode());
    }
    // an instance started later joins, applies them and routes by the current roles
    Harness late = start(Harness.clusterTargets());
    late.await(other + " drained on the late instance", t -> t.target(other).orElseThrow().drained());
    try (Http http = new Http(late.cutover.httpPort())) {
      JsonObject c = http.get("/api/v1/cluster").bodyAsJsonObject();
      assertTrue(c.getJsonObject("maintenance").getBoolean("enabled"), c.encode());
      assertEquals("drill", c.getJsonObject("maintenance").getString("reason"));
      assertEquals(promoted, c.getJsonObject("cluster").getJsonObject("decision").getString("new_primary"), c.encode());
    }
    late.await("the late instance routes to " + promoted, t -> promoted.equals(t.primary()));
    Poll.until(Duration.ofSeconds(30), "three members again", () -> late.cutover.authority().toJson().getJsonArray("members").size() == 3);
    assertFalse(late.cutover.authority().isLeader(), "the newest member is a follower");
    assertEquals(String.valueOf(PgCluster.port(promoted)), Harness.oneShot(late.cutover.writePort(), "select inet_server_port()"));
  }
}
