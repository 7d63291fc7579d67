package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import io.cutover.monitor.Topology;
import io.cutover.proxy.config.ConfigLoader;
import io.cutover.proxy.config.CutoverConfig;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** Starts an in-process Cutover (listeners on port 0) and talks to it with the PostgreSQL JDBC driver. */
final class Harness implements AutoCloseable {

  /** The admin token tests configure with {@link #ADMIN}. */
  static final String TOKEN = "test-token-0123456789";
  /** Configuration enabling the admin API's mutating calls. */
  static final String ADMIN = "admin: {token: " + TOKEN + "}\n";

  /** Fast checks so tests see state changes quickly. */
  static final String FAST_CHECKS = "checks: {interval: 500ms, fastinter: 100ms, timeout: 500ms, fall: 3, rise: 2}\n";

  final Cutover cutover;

  private Harness(Cutover cutover) {
    this.cutover = cutover;
  }

  static String clusterTargets() {
    StringBuilder sb = new StringBuilder("targets:\n");
    for (var t : PgCluster.targets()) {
      sb.append("  - {name: ").append(t.name()).append(", host: 127.0.0.1, port: ").append(t.port()).append("}\n");
    }
    return sb.toString();
  }

  /** The listeners of {@link #start}: all on 127.0.0.1, ports chosen by the kernel. */
  static final String LOCAL_LISTENERS = "listeners: {write: '127.0.0.1:0', read: '127.0.0.1:0', http: '127.0.0.1:0'}\n";

  static Harness start(String yaml) throws Exception {
    return startConfigured(LOCAL_LISTENERS + yaml);
  }

  /** Starts Cutover with {@code yaml} as its whole configuration (listeners included). */
  static Harness startConfigured(String yaml) throws Exception {
    ConfigLoader.Result r = ConfigLoader.parse("test", yaml, Map.of());
    if (!r.ok()) {
      throw new IllegalArgumentException(r.problems().toString());
    }
    CutoverConfig config = r.config();
    return new Harness(Cutover.start(config).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS));
  }

  /**
   * Starts Cutover with one target, {@code gone}, on a closed port (no read fallback) and waits until it is DOWN:
   * every session has no backend. {@code extraYaml} adds settings.
   */
  static Harness startWithoutBackend(String extraYaml) throws Exception {
    return startWithoutBackend(LOCAL_LISTENERS, extraYaml);
  }

  /** {@link #startWithoutBackend(String)} with other {@code listeners} (a YAML line). */
  static Harness startWithoutBackend(String listeners, String extraYaml) throws Exception {
    int closedPort;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    Harness h = startConfigured(listeners + "targets:\n  - {name: gone, host: 127.0.0.1, port: " + closedPort + "}\n" + FAST_CHECKS
        + "read: {fallback_to_primary: false}\n" + extraYaml);
    h.await("target gone is down", t -> t.target("gone").orElseThrow().state() == io.cutover.monitor.TargetState.DOWN);
    return h;
  }

  /** Starts Cutover over the real cluster and waits until pg1 is primary and both replicas are readable. */
  static Harness startOnCluster(String extraYaml) throws Exception {
    return startOnCluster(LOCAL_LISTENERS, extraYaml);
  }

  /** {@link #startOnCluster(String)} with other {@code listeners} (a YAML line). */
  static Harness startOnCluster(String listeners, String extraYaml) throws Exception {
    PgCluster.ensureCanonical();
    String failover = extraYaml.contains("failover:") ? "" : "failover: {failback_delay: 1s}\n";
    Harness h = startConfigured(listeners + clusterTargets() + FAST_CHECKS + failover + extraYaml);
    h.await("pg1 primary, pg2 and pg3 readable",
        t -> "pg1".equals(t.primary()) && t.readable().contains("pg2") && t.readable().contains("pg3"));
    return h;
  }

  Topology await(String what, Predicate<Topology> p) {
    Poll.until(Duration.ofSeconds(30), what + " (last: " + cutover.topology().summary() + ")", () -> p.test(cutover.topology()));
    return cutover.topology();
  }

  long awaitMillis(Duration deadline, String what, Predicate<Topology> p) {
    return Poll.until(deadline, what, () -> p.test(cutover.topology()));
  }

  Connection write(String... props) throws SQLException {
    return connect(cutover.writePort(), props);
  }

  Connection read(String... props) throws SQLException {
    return connect(cutover.readPort(), props);
  }

  static Connection connect(int port, String... props) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", "postgres");
    p.setProperty("connectTimeout", "10");
    p.setProperty("sslmode", "disable");
    p.setProperty("gssEncMode", "disable");
    for (int i = 0; i + 1 < props.length; i += 2) {
      p.setProperty(props[i], props[i + 1]);
    }
    return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", p);
  }

  /** Runs {@code sql} on a new session through {@code port} in the background; completes with its single value. */
  static java.util.concurrent.CompletableFuture<String> queryAsync(int port, String sql) {
    return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try (Connection c = connect(port)) {
        return one(c, sql);
      } catch (SQLException e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    });
  }

  static String one(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  /** Executes {@code sql} (no result) on a fresh connection to {@code port} and closes it. */
  static void execute(int port, String sql) throws SQLException {
    try (Connection c = connect(port); Statement st = c.createStatement()) {
      st.execute(sql);
    }
  }

  /** Runs {@code sql} on a fresh connection to {@code port} and closes it. */
  static String oneShot(int port, String sql) throws SQLException {
    try (Connection c = connect(port)) {
      return one(c, sql);
    }
  }

  /** This instance's incidents (open one last), or an empty array when the monitor does not answer within 10 s. */
  io.vertx.core.json.JsonArray incidents() {
    try {
      return cutover.vertx().eventBus().<io.vertx.core.json.JsonArray>request(
          io.cutover.monitor.MonitorVerticle.INCIDENTS_ADDRESS, "").toCompletionStage().toCompletableFuture()
          .get(10, TimeUnit.SECONDS).body();
    } catch (Exception e) {
      return new io.vertx.core.json.JsonArray();
    }
  }

  @Override
  public void close() throws Exception {
    cutover.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
