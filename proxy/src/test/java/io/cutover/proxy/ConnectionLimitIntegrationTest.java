package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.DataOutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code proxy.max_client_connections} (3 here) on the real cluster: a client beyond the limit gets FATAL 53300 naming
 * it, and nothing else is disturbed — the admitted sessions keep working, cancel requests still pass, a slot freed is
 * taken by the next client, and connections refused for the limit never hold a slot.
 */
class ConnectionLimitIntegrationTest {

  private static final int LIMIT = 3;
  private static final String MESSAGE = "cutover: too many client connections on the write endpoint"
      + " (proxy.max_client_connections is " + LIMIT + ")";

  private static Harness h;
  private final List<AutoCloseable> open = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    h = Harness.startOnCluster("proxy: {max_client_connections: " + LIMIT + "}\n");
  }

  @AfterAll
  static void stop() throws Exception {
    h.close();
  }

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
    open.clear();
    Poll.until(Duration.ofSeconds(10), "every client connection closed",
        () -> h.cutover.connections().open(Endpoint.WRITE) == 0 && h.cutover.connections().open(Endpoint.READ) == 0);
  }

  private Connection write(String... props) throws SQLException {
    Connection c = h.write(props);
    open.add(c);
    return c;
  }

  private List<Connection> fill() throws SQLException {
    List<Connection> admitted = new ArrayList<>();
    for (int i = 0; i < LIMIT; i++) {
      admitted.add(write());
    }
    assertEquals(LIMIT, h.cutover.connections().open(Endpoint.WRITE));
    return admitted;
  }

  @Test
  void aClientBeyondTheLimitGets53300AndTheOthersKeepWorking() throws Exception {
    List<Connection> admitted = fill();
    long before = h.cutover.connections().overLimit(Endpoint.WRITE);
    SQLException e = assertThrows(SQLException.class, this::write);
    assertEquals("53300", e.getSQLState(), e.getMessage());
    assertTrue(e.getMessage().contains(MESSAGE), e.getMessage());
    // an SSLRequest first: declined with N, then the startup packet gets the same answer
    SQLException ssl = assertThrows(SQLException.class, () -> write("sslmode", "prefer"));
    assertEquals("53300", ssl.getSQLState(), ssl.getMessage());
    assertEquals(before + 2, h.cutover.connections().overLimit(Endpoint.WRITE));
    for (Connection c : admitted) {
      assertEquals("1", Harness.one(c, "select 1"), "an admitted session is not disturbed");
    }
    // the limit is per endpoint: the read endpoint still admits
    try (Connection r = h.read()) {
      assertEquals("t", Harness.one(r, "select pg_is_in_recovery()"));
    }
  }

  @Test
  void aFreedSlotIsTakenByTheNextClient() throws Exception {
    List<Connection> admitted = fill();
    admitted.get(0).close();
    Poll.until(Duration.ofSeconds(10), "the slot given back",
        () -> h.cutover.connections().open(Endpoint.WRITE) == LIMIT - 1);
    assertEquals("1", Harness.one(write(), "select 1"));
  }

  @Test
  void connectionsRefusedForTheLimitNeverHoldASlot() throws Exception {
    List<Connection> admitted = fill();
    // a flood beyond the limit: each sends an SSLRequest and is answered N, which proves Cutover accepted it (over the
    // limit: read for its first packets only, not counted) before the slot below is given back
    for (int i = 0; i < 20; i++) {
      Socket s = new Socket(InetAddress.getLoopbackAddress(), h.cutover.writePort());
      open.add(s);
      s.setSoTimeout(10_000);
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      out.writeInt(8);
      out.writeInt(PgWire.SSL_REQUEST_CODE);
      out.flush();
      assertEquals('N', s.getInputStream().read(), "declined: over the limit, never connected");
    }
    admitted.get(0).close();
    Poll.until(Duration.ofSeconds(10), "the slot given back",
        () -> h.cutover.connections().open(Endpoint.WRITE) == LIMIT - 1);
    assertEquals("1", Harness.one(write(), "select 1"), "the flood took no slot");
    assertEquals(LIMIT, h.cutover.connections().open(Endpoint.WRITE));
  }

  @Test
  void aCancelRequestStillPassesAtTheLimit() throws Exception {
    List<Connection> admitted = fill();
    Statement sleeping = admitted.get(0).createStatement();
    CompletableFuture<SQLException> query = CompletableFuture.supplyAsync(() -> {
      try {
        sleeping.execute("select pg_sleep(60)");
        return null;
      } catch (SQLException e) {
        return e;
      }
    });
    Poll.until(Duration.ofSeconds(10), "the query running", () -> sleepersOnPg1() == 1);
    sleeping.cancel(); // pgjdbc sends the CancelRequest on a new connection: the fourth on a full endpoint
    SQLException cancelled = query.get(10, TimeUnit.SECONDS);
    assertEquals("57014", cancelled == null ? null : cancelled.getSQLState(), "query_canceled");
  }

  @Test
  void theMetricsAreExported() throws Exception {
    fill();
    assertThrows(SQLException.class, this::write);
    String metrics;
    try (Http http = new Http(h.cutover.httpPort())) {
      metrics = http.get("/metrics").bodyAsString();
    }
    assertTrue(metrics.contains("cutover_client_connections{endpoint=\"write\"} " + LIMIT + ".0"), metrics);
    assertTrue(metrics.contains("cutover_client_connections_limit{endpoint=\"write\"} " + LIMIT + ".0"), metrics);
    String series = "cutover_sessions_over_limit_total{endpoint=\"write\"} ";
    String line = metrics.lines().filter(l -> l.startsWith(series)).findFirst().orElseThrow(() -> new AssertionError(metrics));
    double exported = Double.parseDouble(line.substring(series.length()));
    assertTrue(exported >= 1 && exported <= h.cutover.connections().overLimit(Endpoint.WRITE), line);
  }

  private static long sleepersOnPg1() {
    try {
      return Long.parseLong(Harness.oneShot(PgCluster.targets().get(0).port(),
          "select count(*) from pg_stat_activity where query = 'select pg_sleep(60)' and state = 'active'"));
    } catch (SQLException e) {
      return -1;
    }
  }
}
