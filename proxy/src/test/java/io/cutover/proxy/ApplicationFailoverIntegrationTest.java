package io.cutover.proxy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import io.cutover.monitor.Topology;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a real application sees during a cutover: a HikariCP pool of {@value #POOL} connections over pgjdbc through
 * the write endpoint, {@value #WORKERS} busy workers inserting rows (each insert borrows a connection and returns
 * it, as an application does), every acknowledged write and every error recorded with its time, SQLSTATE and
 * the backend PID of the pooled connection it ran on. The primary is killed with {@code kill -9} (or switched
 * over by the admin API) while the workers run.
 *
 * <p>What holds, and is asserted:
 * <ul>
 *   <li>Each pooled connection that was open to the old primary fails at most once: HikariCP evicts a
 *       connection on SQLSTATE 57P01 or class 08, and every error seen is one of those. Only busy connections
 *       (used or opened within HikariCP's 500 ms alive-bypass window before the borrow) can fail; a connection
 *       idle longer is validated ({@code Connection.isValid}) when borrowed and, dead, replaced without an error.
 *       So errors ≤ busy pooled connections. A worker may see two errors when, after its own connection
 *       failed, it borrows another worker's just-returned connection to the old primary before that worker
 *       does: still one error per connection.</li>
 *   <li>No error on a connection opened after the kill: Cutover holds new sessions until the new primary
 *       answers, so the retry on a new connection succeeds; nothing is refused with 57P03.</li>
 *   <li>Every error comes before the first write the new primary acknowledges; none after.</li>
 *   <li>The pool's idle connections never surface an error; after the cutover every one of the pool's
 *       connections, borrowed at once, answers from the new primary.</li>
 * </ul>
 * Measured and printed, not asserted: the client-seen gap (kill → first write acknowledged by the new primary),
 * the SQLSTATEs, how many sessions Cutover held, acknowledged writes missing on the new primary (asynchronous
 * replication can lose some; with synchronous replication none may be missing, which is asserted) and how many
 * of the failed writes had committed anyway.
 */
class ApplicationFailoverIntegrationTest {

  static final int POOL = 10;
  static final int WORKERS = 8;
  static final String APPLICATION_NAME = "cutover-app-test";
  static final String TABLE = "app_writes";

  private Harness h;
  private App app;

  @BeforeEach
  void canonicalCluster() {
    PgCluster.ensureCanonical();
  }

  @AfterEach
  void stop() throws Exception {
    try {
      if (app != null) {
        app.close();
      }
    } finally {
      try {
        if (h != null) {
          h.close();
        }
      } finally {
        DriverManager.setLoginTimeout(0);  // HikariCP set it JVM-wide (connectionTimeout + 0.5 s)
        PgCluster.ensureCanonical();
      }
    }
  }

  @Test
  void killingThePrimaryCostsEachBusyPooledConnectionAtMostOneErrorAndNothingFailsOnceTheNewPrimaryAnswers()
      throws Exception {
    killThePrimary("kill -9 pg1");
  }

  @Test
  void withSynchronousReplicationNoAcknowledgedWriteIsLostWhenThePrimaryIsKilled() throws Exception {
    PgCluster.run("sync", "on");  // the reset after the test turns it off again
    Seen seen = killThePrimary("kill -9 pg1, synchronous replication");
    assertEquals(0, seen.lost, "acknowledged writes missing on the new primary");
  }

  private Seen killThePrimary(String label) throws Exception {
    // the default checks (interval 1s, fastinter 200ms, timeout 1s, fall 3), as an operator runs it
    h = Harness.start(Harness.clusterTargets() + "proxy: {connect_wait: 5s}\n");
    Before before = startApplication();

    // kill -9 of pg1's postmaster, as `scripts/pg-cluster kill pg1` sends it, from here: the instant is known
    ProcessHandle postmaster = ProcessHandle.of(Pids.postmasterTree(PgCluster.projectRoot(), "pg1").get(0)).orElseThrow();
    long killedAt = System.nanoTime();
    assertTrue(postmaster.destroyForcibly(), "SIGKILL sent to pg1's postmaster");
    postmaster.onExit().get(30, TimeUnit.SECONDS);
    Topology t = h.await("a replica promoted", x -> x.primary() != null && !x.primary().equals("pg1"));
    String promoted = t.primary();
    Seen seen = awaitWritesOn(promoted);

    report(label, killedAt, before, seen, promoted, awaitIncident("failover"));
    assertWhatTheApplicationSaw(before, seen, promoted);
    return seen;
  }

  @Test
  void aSwitchoverCostsEachBusyPooledConnectionAtMostOneErrorAndLosesNoAcknowledgedWrite() throws Exception {
    h = Harness.start(Harness.clusterTargets() + Harness.ADMIN + "proxy: {connect_wait: 5s}\n");
    Before before = startApplication();

    long requestedAt;
    try (Http http = new Http(h.cutover.httpPort())) {
      requestedAt = System.nanoTime();
      var reply = http.post("/api/v1/switchover", "{\"candidate\":\"pg2\"}");
      assertEquals(200, reply.statusCode(), reply.bodyAsString());
    }
    h.await("pg2 primary", x -> "pg2".equals(x.primary()));
    Seen seen = awaitWritesOn("pg2");

    report("switchover pg1 -> pg2", requestedAt, before, seen, "pg2", awaitIncident("switchover"));
    assertWhatTheApplicationSaw(before, seen, "pg2");
    assertEquals(0, seen.lost, "acknowledged writes missing on pg2 after a switchover");
  }

  /** The pool, full, its workers writing to pg1; the pool's connections (backend PIDs) on pg1. */
  private record Before(Set<Integer> poolPids) {
  }

  /** What the application recorded, taken once its workers stopped. */
  private record Seen(List<App.Ack> acks, List<App.Failure> failures, long lost, long failedButCommitted) {
  }

  private Before startApplication() throws Exception {
    h.await("pg1 primary, pg2 and pg3 readable",
        x -> "pg1".equals(x.primary()) && x.readable().contains("pg2") && x.readable().contains("pg3"));
    try (Connection c = h.write(); Statement st = c.createStatement()) {
      st.execute("drop table if exists " + TABLE + "; create table " + TABLE + " (id bigserial primary key, "
          + "worker int not null, seq bigint not null, at timestamptz not null default clock_timestamp(), "
          + "unique (worker, seq))");
    }
    app = new App(h.cutover.writePort());
    Poll.until(Duration.ofSeconds(30), "the pool holds " + POOL + " connections",
        () -> app.pool.getHikariPoolMXBean().getTotalConnections() == POOL);
    app.start();
    int pg1 = PgCluster.port("pg1");
    // 200 writes take each worker more than 1 s (it pauses 5 ms after each): the pool's other connections have
    // been idle longer than HikariCP's 500 ms alive-bypass window by the time of the fault, as idle ones are
    Poll.until(Duration.ofSeconds(60), "every worker had 200 writes acknowledged by pg1",
        () -> app.perWorker(pg1).values().stream().filter(n -> n >= 200).count() == WORKERS);
    Set<Integer> pids = new HashSet<>();
    try (Connection c = Harness.connect(pg1); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("select pid from pg_stat_activity where application_name = '"
             + APPLICATION_NAME + "'")) {
      while (rs.next()) {
        pids.add(rs.getInt(1));
      }
    }
    assertEquals(POOL, pids.size(), "the pool's connections on pg1: " + pids);
    assertTrue(app.failures.isEmpty(), "no error before the fault: " + app.failures);
    return new Before(pids);
  }

  /** Waits until every worker had 100 writes acknowledged by {@code primary}, stops the workers, reads the rows. */
  private Seen awaitWritesOn(String primary) throws Exception {
    int port = PgCluster.port(primary);
    Poll.until(Duration.ofSeconds(60), "every worker had 100 writes acknowledged by " + primary
            + " (errors: " + app.failures + ")",
        () -> app.perWorker(port).values().stream().filter(n -> n >= 100).count() == WORKERS);
    app.stopWorkers();
    List<App.Ack> acks = new ArrayList<>(app.acks);
    List<App.Failure> failures = new ArrayList<>(app.failures);
    Set<String> present = new HashSet<>();
    try (Connection c = Harness.connect(port); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("select worker, seq from " + TABLE)) {
      while (rs.next()) {
        present.add(rs.getInt(1) + "/" + rs.getLong(2));
      }
    }
    long lost = acks.stream().filter(a -> !present.contains(a.worker() + "/" + a.seq())).count();
    long failedButCommitted = failures.stream().filter(f -> present.contains(f.worker() + "/" + f.seq())).count();
    return new Seen(acks, failures, lost, failedButCommitted);
  }

  private void assertWhatTheApplicationSaw(Before before, Seen seen, String promoted) throws SQLException {
    int oldPort = PgCluster.port("pg1");
    int newPort = PgCluster.port(promoted);
    assertTrue(seen.acks.stream().allMatch(a -> a.port() == oldPort || a.port() == newPort),
        "writes acknowledged only by pg1 and " + promoted);
    Set<Integer> busy = seen.acks.stream().filter(a -> a.port() == oldPort).map(App.Ack::pid)
        .collect(Collectors.toSet());
    assertTrue(before.poolPids.containsAll(busy), "the workers wrote on the pool's connections only");
    Set<Integer> idle = new HashSet<>(before.poolPids);
    idle.removeAll(busy);

    String errors = "errors: " + seen.failures;
    Set<Integer> failedPids = new HashSet<>();
    for (App.Failure f : seen.failures) {
      assertTrue(f.sqlState() != null && (f.sqlState().equals("57P01") || f.sqlState().startsWith("08")),
          "every error is one HikariCP evicts its connection for (57P01 or class 08): " + f);
      assertTrue(busy.contains(f.pid()), "every error comes from a busy connection to pg1, none from an idle one "
          + idle + " or a new one: " + f);
      assertTrue(failedPids.add(f.pid()), "each pooled connection fails at most once: " + errors);
    }
    assertTrue(seen.failures.size() <= busy.size(), "errors ≤ busy pooled connections (" + busy.size() + "): " + errors);

    long firstNewAck = seen.acks.stream().filter(a -> a.port() == newPort).mapToLong(App.Ack::at).min().orElseThrow();
    for (App.Failure f : seen.failures) {
      assertTrue(f.at() < firstNewAck, "no error once " + promoted + " acknowledged a write: " + f);
    }
    for (int w = 0; w < WORKERS; w++) {
      int worker = w;
      long lastError = seen.failures.stream().filter(f -> f.worker() == worker).mapToLong(App.Failure::at).max()
          .orElse(Long.MIN_VALUE);
      assertTrue(seen.acks.stream().anyMatch(a -> a.worker() == worker && a.port() == newPort && a.at() > lastError),
          "worker " + worker + " wrote again after its error");
    }
    assertEquals(0, h.cutover.traffic().refused(Endpoint.WRITE).sum(), "no write session refused (57P03)");

    // the idle connections: borrowed after the cutover, with everything else, they answer from the new primary
    List<Connection> all = new ArrayList<>();
    try {
      for (int i = 0; i < POOL; i++) {
        all.add(app.pool.getConnection());
      }
      for (Connection c : all) {
        assertEquals(String.valueOf(newPort), Harness.one(c, "select inet_server_port()"));
      }
    } finally {
      for (Connection c : all) {
        c.close();
      }
    }
  }

  private JsonObject awaitIncident(String kind) {
    JsonObject[] found = new JsonObject[1];
    Poll.until(Duration.ofSeconds(30), "a completed " + kind + " incident", () -> {
      for (Object o : h.incidents()) {
        JsonObject i = (JsonObject) o;
        if (kind.equals(i.getString("kind")) && "completed".equals(i.getString("outcome"))) {
          found[0] = i;
          return true;
        }
      }
      return false;
    });
    return found[0];
  }

  private void report(String fault, long faultAt, Before before, Seen seen, String promoted, JsonObject incident) {
    int newPort = PgCluster.port(promoted);
    long firstNewAck = seen.acks.stream().filter(a -> a.port() == newPort).mapToLong(App.Ack::at).min().orElseThrow();
    long lastOldAck = seen.acks.stream().filter(a -> a.port() != newPort).mapToLong(App.Ack::at).max().orElseThrow();
    Map<String, Long> states = new TreeMap<>(seen.failures.stream()
        .collect(Collectors.groupingBy(f -> f.sqlState() + " " + f.message(), Collectors.counting())));
    Set<Integer> busy = seen.acks.stream().filter(a -> a.port() != newPort).map(App.Ack::pid).collect(Collectors.toSet());
    long firstError = seen.failures.stream().mapToLong(App.Failure::at).min().orElse(faultAt);
    long lastError = seen.failures.stream().mapToLong(App.Failure::at).max().orElse(faultAt);
    String line = String.format("APPLICATION %s: first write acknowledged by %s %d ms after the fault (last by pg1 at"
            + " %+d ms); %d errors on %d busy of %d pooled connections, first %+d ms, last %+d ms; SQLSTATEs %s;"
            + " %d write sessions held by Cutover, %d refused; %d acknowledged writes (%d on %s), %d missing on %s;"
            + " %d failed writes committed anyway; incident %s ms (Cutover's timeline)",
        fault, promoted, ms(firstNewAck - faultAt), ms(lastOldAck - faultAt), seen.failures.size(), busy.size(),
        before.poolPids.size(), ms(firstError - faultAt), ms(lastError - faultAt), states,
        h.cutover.traffic().held(Endpoint.WRITE).sum(), h.cutover.traffic().refused(Endpoint.WRITE).sum(),
        seen.acks.size(), seen.acks.stream().filter(a -> a.port() == newPort).count(), promoted, seen.lost, promoted,
        seen.failedButCommitted, incident.getValue("duration_ms"));
    System.out.println(line);
    seen.failures.stream().sorted(Comparator.comparingLong(App.Failure::at)).forEach(f -> System.out.printf(
        "  error %+d ms worker %d pid %d %s %s%n", ms(f.at() - faultAt), f.worker(), f.pid(), f.sqlState(), f.message()));
  }

  private static long ms(long nanos) {
    return nanos / 1_000_000;
  }

  /**
   * The application: a HikariCP pool over pgjdbc through the write endpoint, configured as the README's "What
   * applications see during a failover" recommends, and {@value #WORKERS} workers each borrowing a connection
   * per insert.
   */
  static final class App implements AutoCloseable {

    /** A write the server acknowledged: when, by which worker, which row, which server port and backend. */
    record Ack(long at, int worker, long seq, int port, int pid) {
    }

    /** An error the application saw: when, which worker and row, the backend PID of its connection (-1: none). */
    record Failure(long at, int worker, long seq, int pid, String sqlState, String message) {
    }

    final HikariDataSource pool;
    final Queue<Ack> acks = new ConcurrentLinkedQueue<>();
    final Queue<Failure> failures = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<Thread> workers = new ArrayList<>();

    App(int writePort) {
      HikariConfig c = new HikariConfig();
      c.setPoolName("app");
      c.setJdbcUrl("jdbc:postgresql://127.0.0.1:" + writePort + "/postgres");
      c.setUsername("postgres");
      c.setMaximumPoolSize(POOL);
      c.setMinimumIdle(POOL);
      // a borrow may wait for a new connection that Cutover holds for up to proxy.connect_wait (5 s)
      c.setConnectionTimeout(10_000);
      c.addDataSourceProperty("ApplicationName", APPLICATION_NAME);
      c.addDataSourceProperty("sslmode", "disable");
      c.addDataSourceProperty("gssEncMode", "disable");
      c.addDataSourceProperty("tcpKeepAlive", "true");
      // pgjdbc applies socketTimeout to the login too: it must outlast proxy.connect_wait
      c.addDataSourceProperty("socketTimeout", "30");
      pool = new HikariDataSource(c);
    }

    void start() {
      String sql = "insert into " + TABLE + " (worker, seq) values (?, ?) returning inet_server_port()";
      for (int w = 0; w < WORKERS; w++) {
        int worker = w;
        Thread t = new Thread(() -> work(worker, sql), "app-worker-" + w);
        t.setDaemon(true);
        workers.add(t);
        t.start();
      }
    }

    private void work(int worker, String sql) {
      long seq = 0;
      while (running.get()) {
        seq++;
        int pid = -1;
        try (Connection c = pool.getConnection()) {
          pid = c.unwrap(PGConnection.class).getBackendPID();
          try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setInt(1, worker);
            ps.setLong(2, seq);
            try (ResultSet rs = ps.executeQuery()) {
              rs.next();
              acks.add(new Ack(System.nanoTime(), worker, seq, rs.getInt(1), pid));
            }
          }
        } catch (SQLException e) {
          failures.add(new Failure(System.nanoTime(), worker, seq, pid, e.getSQLState(), e.getMessage()));
        }
        try {
          Thread.sleep(5);  // the application's pace between writes, not a wait for a condition
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    /** Acknowledged writes per worker by the server on {@code port}. */
    Map<Integer, Long> perWorker(int port) {
      return acks.stream().filter(a -> a.port() == port).collect(Collectors.groupingBy(Ack::worker, Collectors.counting()));
    }

    void stopWorkers() throws InterruptedException {
      running.set(false);
      for (Thread t : workers) {
        t.join(30_000);
        assertFalse(t.isAlive(), t.getName() + " stopped");
      }
    }

    @Override
    public void close() throws InterruptedException {
      try {
        stopWorkers();
      } finally {
        pool.close();
      }
    }
  }
}
