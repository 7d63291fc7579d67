package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.TargetState;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Replicas leave and rejoin the read pool: when stopped, and when their replay lag exceeds read.max_lag. */
class ReadPoolIntegrationTest {

  @Test
  void aStoppedReplicaLeavesThePoolAndReturnsAfterRestart() throws Exception {
    try (Harness h = Harness.startOnCluster("")) {
      // interval + fall x fastinter + timeout with Harness.FAST_CHECKS (fall 3, rise 2: full health 4)
      long boundMs = 500 + 3 * 100 + 500;
      h.await("pg3 at full health", t -> t.target("pg3").orElseThrow().health() == 4);
      Set<Integer> healthWhileUp = new TreeSet<>();
      try {
        PgCluster.stop("pg3");
        long tookMs = h.awaitMillis(Duration.ofMillis(boundMs + 2000), "pg3 leaves the read pool", t -> {
          var pg3 = t.target("pg3").orElseThrow();
          if (pg3.state() == TargetState.UP) {
            healthWhileUp.add(pg3.health());
          }
          return !t.readable().contains("pg3");
        });
        assertEquals(TargetState.DOWN, h.cutover.topology().target("pg3").orElseThrow().state());
        assertEquals(0, h.cutover.topology().target("pg3").orElseThrow().health());
        assertTrue(tookMs <= boundMs + 2000, "took " + tookMs + " ms");
        assertTrue(healthWhileUp.contains(3) && healthWhileUp.contains(2),
            "fall: pg3 stayed UP through its first failed checks (health seen while UP: " + healthWhileUp + ")");
        for (int i = 0; i < 4; i++) {
          assertEquals(String.valueOf(PgCluster.port("pg2")), Harness.oneShot(h.cutover.readPort(), "select inet_server_port()"),
              "reads go to the remaining replica");
        }
      } finally {
        PgCluster.start("pg3");
      }
      h.await("pg3 back in the read pool", t -> t.readable().contains("pg3"));
      assertEquals(TargetState.UP, h.cutover.topology().target("pg3").orElseThrow().state());
      assertEquals(4, h.cutover.topology().target("pg3").orElseThrow().health(), "rise successes restore full health");
    }
  }

  @Test
  void aLaggingReplicaLeavesThePoolUntilItCatchesUp() throws Exception {
    int pg3 = PgCluster.port("pg3");
    try (Harness h = Harness.startOnCluster("read: {max_lag: 64kB}\n")) {
      try (Connection direct3 = Harness.connect(pg3); Connection primary = Harness.connect(PgCluster.port("pg1"))) {
        try {
          Harness.one(direct3, "select pg_wal_replay_pause()::text");
          try (var st = primary.createStatement()) {
            st.execute("drop table if exists cutover_lag_test");
            st.execute("create table cutover_lag_test as select repeat('x', 1000) as x from generate_series(1, 2000)");
          }
          // pg2 replays the same burst and may briefly lag too; it catches up while pg3's replay stays paused
          h.await("pg3 over max_lag out of the pool, pg2 in it",
              t -> !t.readable().contains("pg3") && t.readable().contains("pg2"));
          var status = h.cutover.topology().target("pg3").orElseThrow();
          assertTrue(status.lagBytes() > 64 * 1024, "lag " + status.lagBytes());
          assertEquals(TargetState.UP, status.state(), "lagging is not down");
          assertFalse(status.readable());
          for (int i = 0; i < 4; i++) {
            assertEquals(String.valueOf(PgCluster.port("pg2")), Harness.oneShot(h.cutover.readPort(), "select inet_server_port()"));
          }
        } finally {
          Harness.one(direct3, "select pg_wal_replay_resume()::text");
          try (var st = primary.createStatement()) {
            st.execute("drop table if exists cutover_lag_test");
          }
        }
        h.await("pg3 caught up and back in the pool", t -> t.readable().contains("pg3"));
      }
    }
  }
}
