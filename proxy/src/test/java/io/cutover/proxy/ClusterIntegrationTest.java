package io.cutover.proxy;

import io.cutover.monitor.MonitorVerticle;
import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
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
        + "failover: {failback_delay: 1s}\n"
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
}
