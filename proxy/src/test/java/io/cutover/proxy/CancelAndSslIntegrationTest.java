package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CancelRequest forwarding and end-to-end TLS through the relay. */
class CancelAndSslIntegrationTest {

  private static Harness h;

  @BeforeAll
  static void start() throws Exception {
    h = Harness.startOnCluster("");
  }

  @AfterAll
  static void stop() throws Exception {
    h.close();
  }

  /** Runs {@code select pg_sleep(30)} on another thread; completes with its exception (null if it ran to the end). */
  private static CompletableFuture<SQLException> sleepAsync(Statement st) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        st.execute("select pg_sleep(30)");
        return null;
      } catch (SQLException e) {
        return e;
      }
    });
  }

  private static int running(int port) throws SQLException {
    return Integer.parseInt(Harness.oneShot(port,
        "select count(*) from pg_stat_activity where state = 'active' and query = 'select pg_sleep(30)'"));
  }

  @Test
  void cancelThroughTheReadEndpointReachesWhicheverReplicaRunsTheQuery() throws Exception {
    Set<String> replicasCancelled = new HashSet<>();
    for (int i = 0; i < 2; i++) {
      try (Connection c = h.read(); Statement st = c.createStatement()) {
        String port = Harness.one(c, "select inet_server_port()");
        CompletableFuture<SQLException> result = sleepAsync(st);
        Poll.until(Duration.ofSeconds(10), "pg_sleep running on " + port, () -> {
          try {
            return running(Integer.parseInt(port)) == 1;
          } catch (SQLException e) {
            return false;
          }
        });
        long start = System.nanoTime();
        st.cancel();
        SQLException e = result.get(15, TimeUnit.SECONDS);
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(e != null, "the query was cancelled, not completed");
        assertEquals("57014", e.getSQLState(), e.getMessage());
        assertTrue(tookMs < 10_000, "cancelled long before pg_sleep(30) ended: " + tookMs + " ms");
        replicasCancelled.add(port);
        assertEquals("1", Harness.one(c, "select 1"), "the session stays usable after a cancel");
      }
    }
    assertEquals(Set.of(String.valueOf(PgCluster.port("pg2")), String.valueOf(PgCluster.port("pg3"))), replicasCancelled);
  }

  @Test
  void cancelThroughTheWriteEndpoint() throws Exception {
    try (Connection c = h.write(); Statement st = c.createStatement()) {
      CompletableFuture<SQLException> result = sleepAsync(st);
      Poll.until(Duration.ofSeconds(10), "pg_sleep running on pg1", () -> {
        try {
          return running(PgCluster.port("pg1")) == 1;
        } catch (SQLException e) {
          return false;
        }
      });
      st.cancel();
      SQLException e = result.get(15, TimeUnit.SECONDS);
      assertEquals("57014", e == null ? null : e.getSQLState());
    }
  }

  @Test
  void tlsRunsEndToEndThroughBothEndpoints() throws Exception {
    try (Connection w = h.write("sslmode", "require"); Connection r = h.read("sslmode", "require")) {
      assertEquals("t", Harness.one(w, "select ssl from pg_stat_ssl where pid = pg_backend_pid()"));
      assertEquals("f", Harness.one(w, "select pg_is_in_recovery()"));
      assertEquals("t", Harness.one(r, "select ssl from pg_stat_ssl where pid = pg_backend_pid()"));
      assertEquals("t", Harness.one(r, "select pg_is_in_recovery()"));
    }
    try (Connection plain = h.write()) {
      assertEquals("f", Harness.one(plain, "select ssl from pg_stat_ssl where pid = pg_backend_pid()"));
    }
  }
}
