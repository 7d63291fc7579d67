package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * (c) A fence from the cluster's failover authority is acknowledged only after this instance's sessions to
 * the fenced target are closed: {@link Cutover#fence}, which {@code ClusterAuthority} answers the leader's
 * fence request with, completes only once the sockets are closed. In-process against the real cluster;
 * {@code failover.mode: manual}, so fencing the primary promotes nothing.
 */
class FenceAckIntegrationTest {

  private Harness h;

  @AfterEach
  void stop() throws Exception {
    if (h != null) {
      h.close();
    }
  }

  @Test
  void theFenceCompletesOnlyAfterTheSessionsAreClosed() throws Exception {
    // one event loop: the acknowledgement and the sessions' sockets share a thread, so an acknowledgement sent
    // before the close ran would see the sessions still open, every time
    h = Harness.startOnCluster("failover: {mode: manual, failback_delay: 1s}\n"
        + "proxy: {connect_wait: 300ms, event_loops: 1}\n");
    Connection c = h.write();
    Connection c2 = h.write();
    String pid = Harness.one(c, "select pg_backend_pid()");
    Harness.one(c2, "select 1");
    assertEquals(2, h.cutover.sessions().sessions("pg1"));

    AtomicInteger openAtAck = new AtomicInteger(-1);
    JsonObject reply = h.cutover.fence("pg1")
        .onSuccess(r -> openAtAck.set(h.cutover.sessions().sessions("pg1") + h.cutover.sessions().pending("pg1")))
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);

    // at the moment of the acknowledgement: no session to pg1 has an open socket, and routing fences pg1
    assertEquals(0, openAtAck.get(), "acknowledged while sessions to pg1 were still open");
    assertEquals("pg1", reply.getString("fenced"));
    assertTrue(h.cutover.topology().target("pg1").orElseThrow().fenced(), h.cutover.topology().summary());

    assertThrows(SQLException.class, () -> Harness.one(c, "select 1"));
    c.close();
    c2.close();
    int pg1 = PgCluster.port("pg1");
    Poll.until(Duration.ofSeconds(20), "pg1's server process " + pid + " for the fenced session ended",
        () -> "0".equals(oneShotQuietly(pg1, "select count(*) from pg_stat_activity where pid = " + pid)));
    SQLException refused = assertThrows(SQLException.class, h::write);
    assertEquals("57P03", refused.getSQLState(), refused.getMessage());
  }

  @Test
  void aFenceOfAnUnknownTargetFailsAndClosesNothing() throws Exception {
    h = Harness.startOnCluster("failover: {mode: manual, failback_delay: 1s}\n");
    try (Connection c = h.write()) {
      Harness.one(c, "select 1");
      var failed = h.cutover.fence("nope").toCompletionStage().toCompletableFuture();
      var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> failed.get(10, TimeUnit.SECONDS));
      assertTrue(e.getCause().getMessage().contains("nope"), e.getCause().getMessage());
      assertEquals("1", Harness.one(c, "select 1"));
    }
  }

  private static String oneShotQuietly(int port, String sql) {
    try {
      return Harness.oneShot(port, sql);
    } catch (SQLException e) {
      return "error: " + e.getMessage();
    }
  }
}
