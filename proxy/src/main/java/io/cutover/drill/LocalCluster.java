package io.cutover.drill;

import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The local PostgreSQL cluster of {@code scripts/pg-cluster}, as the environment in effect has it
 * ({@code scripts/pg-cluster env}: CUTOVER_PG_ROOT, CUTOVER_PG_PORT1..3): its nodes' ports and postmasters,
 * the script's commands, and queries straight to a node.
 */
final class LocalCluster {

  /** Node name → port. */
  final Map<String, Integer> ports = new LinkedHashMap<>();
  private final Vertx vertx;
  private final Path project;
  private final Path root;

  LocalCluster(Vertx vertx, Path project) throws IOException, InterruptedException {
    this.vertx = vertx;
    this.project = project;
    Map<String, String> env = new LinkedHashMap<>();
    script("env").lines().filter(l -> l.contains("=")).forEach(l -> env.put(l.substring(0, l.indexOf('=')),
        l.substring(l.indexOf('=') + 1)));
    root = Path.of(env.get("CUTOVER_PG_ROOT"));
    for (int i = 1; i <= 3; i++) {
      ports.put("pg" + i, Integer.parseInt(env.get("CUTOVER_PG_PORT" + i)));
    }
  }

  int port(String node) {
    return ports.get(node);
  }

  /** The node listening on {@code port}, or "port N". */
  String nodeOfPort(int port) {
    return ports.entrySet().stream().filter(e -> e.getValue() == port).map(Map.Entry::getKey).findFirst()
        .orElse(port < 0 ? null : "port " + port);
  }

  long postmasterPid(String node) throws IOException {
    return Long.parseLong(Files.readAllLines(root.resolve(node).resolve("postmaster.pid")).get(0).trim());
  }

  /** The postmaster of {@code node} and all its children. */
  List<Long> postmasterTree(String node) throws IOException {
    long pid = postmasterPid(node);
    List<Long> pids = new ArrayList<>();
    pids.add(pid);
    ProcessHandle.of(pid).ifPresent(h -> h.descendants().forEach(d -> pids.add(d.pid())));
    return pids;
  }

  /** Runs {@code scripts/pg-cluster ARGS}; its output, or an exception when it fails. */
  String script(String... args) throws IOException, InterruptedException {
    Process p = scriptAsync(args);
    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IllegalStateException("scripts/pg-cluster " + String.join(" ", args) + " failed:\n" + text);
    }
    return text;
  }

  Process scriptAsync(String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(project.resolve("scripts/pg-cluster").toString());
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectErrorStream(true).start();
  }

  /** A query straight to {@code node} (not through Cutover); null when it fails. */
  RowSet<Row> queryNode(String node, String sql) {
    PgConnectOptions o = new PgConnectOptions().setHost("127.0.0.1").setPort(port(node)).setUser("postgres")
        .setDatabase("postgres").setProperties(Map.of("application_name", "cutover-drill-probe"));
    try {
      return DrillRig.get(PgConnection.connect(vertx, o).compose(c -> c.query(sql).execute().eventually(c::close)), 5);
    } catch (Exception e) {
      return null;
    }
  }

  /** The nodes that answer as primaries (not in recovery). */
  List<String> primaries() {
    List<String> out = new ArrayList<>();
    for (String node : ports.keySet()) {
      RowSet<Row> rows = queryNode(node, "select pg_is_in_recovery()");
      if (rows != null && !rows.iterator().next().getBoolean(0)) {
        out.add(node);
      }
    }
    return out;
  }
}
