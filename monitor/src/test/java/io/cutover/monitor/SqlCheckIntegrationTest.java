package io.cutover.monitor;

import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.net.Socket;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Role checks against the real local cluster, and against sockets that fail in the two ways that matter. */
class SqlCheckIntegrationTest {

  private static Vertx vertx;
  private static SqlCheck check;

  @BeforeAll
  static void setUp() {
    PgCluster.ensureCanonical();
    vertx = Vertx.vertx();
    check = new SqlCheck(vertx, new CheckOptions().setTimeout(Duration.ofMillis(500)), Clock.systemUTC());
  }

  @AfterAll
  static void tearDown() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static Observation run(Target t) throws Exception {
    return check.check(t).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void primaryReportsItsRoleTimelineAndLsn() throws Exception {
    Observation o = run(PgCluster.targets().get(0));
    assertTrue(o.ok(), String.valueOf(o.error()));
    assertEquals(Role.PRIMARY, o.role());
    assertTrue(o.timeline() >= 1, "timeline " + o.timeline());
    assertTrue(o.currentLsn() > 0);
    assertEquals(-1, o.replayLsn());
  }

  @Test
  void replicasReportRecoveryAndReplayPositions() throws Exception {
    for (Target t : PgCluster.targets().subList(1, 3)) {
      Observation o = run(t);
      assertTrue(o.ok(), t.name() + ": " + o.error());
      assertEquals(Role.REPLICA, o.role(), t.name());
      assertTrue(o.replayLsn() > 0 && o.receiveLsn() > 0, t.name());
      assertTrue(o.timeline() >= 1);
      assertNull(o.error());
    }
  }

  @Test
  void nothingListeningIsRefused() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Observation o = run(new Target("gone", "127.0.0.1", port));
    assertEquals(FailureKind.REFUSED, o.failure());
    assertEquals(Role.UNKNOWN, o.role());
  }

  @Test
  void aServerThatAcceptsButNeverAnswersTimesOut() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 5, java.net.InetAddress.getLoopbackAddress())) {
      Thread acceptor = new Thread(() -> {
        try (Socket ignored = s.accept()) {
          Thread.sleep(5000);
        } catch (Exception ignored) {
          // closed by the test
        }
      });
      acceptor.setDaemon(true);
      acceptor.start();
      long start = System.nanoTime();
      Observation o = run(new Target("frozen", "127.0.0.1", s.getLocalPort()));
      long tookMs = (System.nanoTime() - start) / 1_000_000;
      assertEquals(FailureKind.TIMEOUT, o.failure());
      assertTrue(tookMs < 5000, "bounded by checks.timeout, took " + tookMs + " ms");
      acceptor.interrupt();
    }
  }
}
