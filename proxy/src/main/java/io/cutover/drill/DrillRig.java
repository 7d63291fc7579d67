package io.cutover.drill;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.Row;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One drill run's set-up (the local cluster reset to pg1 primary, the drill's own Cutover instances with a
 * generated configuration, a writer through each) and the tools every fault uses: the local cluster
 * ({@link #pg}), signals, the instances' admin API, their logs. {@link #close()} stops every process the run
 * started, by PID, after waking any it froze.
 */
final class DrillRig implements AutoCloseable {

  /** One Cutover JVM started by the drill. */
  record Instance(int number, Process process, Path log, int writePort, int readPort, int httpPort) {
  }

  final Drill options;
  final Vertx vertx;
  final Path project;
  final Path runDir;
  final LocalCluster pg;
  final List<Instance> instances = new ArrayList<>();
  final List<DrillWriter> writers = new ArrayList<>();
  /** The ids {@link #finish} read from the primary, or null. */
  Set<Long> presentIds;
  private final Set<Long> frozen = ConcurrentHashMap.newKeySet();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final Thread emergencyStop = new Thread(this::emergencyStop, "drill-emergency-stop");

  DrillRig(Drill options, Vertx vertx, Path project, int run) throws IOException, InterruptedException {
    this.options = options;
    this.vertx = vertx;
    this.project = project;
    this.runDir = project.resolve(".run/drill/" + Drill.STAMP + "-run" + run);
    Files.createDirectories(runDir);
    this.pg = new LocalCluster(vertx, project);
    Runtime.getRuntime().addShutdownHook(emergencyStop);
  }

  /** Resets the cluster, starts the instances and a writer through each, and lets them write for 2 s. */
  void start(int count) throws Exception {
    pg.script("reset");
    if (options.sync) {
      pg.script("sync", "on");
    }
    Path config = DrillConfigs.cutover(options.config(), runDir, pg.ports);
    Path hazelcast = DrillConfigs.hazelcast(project.resolve("cluster-config/hazelcast.yaml"), runDir,
        options.hazelcastPort, count);
    String clusterName = "cutover-drill-" + java.util.UUID.randomUUID();
    for (int i = 0; i < count; i++) {
      int write = options.writePort + 10 * i;
      int read = options.readPort + 10 * i;
      int httpPort = options.httpPort() + 10 * i;
      Path log = runDir.resolve("cutover" + (i + 1) + ".log");
      Map<String, String> env = new java.util.HashMap<>();
      env.put("CUTOVER_CLUSTER__NAME", clusterName);
      env.put("CUTOVER_CLUSTER__SIZE", String.valueOf(count));
      env.put("CUTOVER_CLUSTER__HAZELCAST", hazelcast.toString());
      env.put("CUTOVER_HISTORY__DIR", runDir.resolve("history" + (i + 1)).toString()); // one per instance
      Process p = startCutover(project, config, log, write, read, httpPort, count > 1, env);
      instances.add(new Instance(i + 1, p, log, write, read, httpPort));
      System.out.printf("  cutover %d: pid %d, write %d, read %d, http %d, log %s%n", i + 1, p.pid(), write, read,
          httpPort, project.relativize(log));
    }
    for (Instance in : instances) {
      awaitWritable(vertx, in.writePort(), 60_000);
    }
    if (count > 1) {
      awaitClusterFormed(60_000);
    }
    exec(vertx, options.writePort, "create table if not exists cutover_drill (id bigint primary key); truncate cutover_drill");
    for (Instance in : instances) {
      DrillWriter w = new DrillWriter(vertx, "127.0.0.1", in.writePort(), (in.number() - 1) * 1_000_000_000L);
      w.start();
      writers.add(w);
    }
    sleep(2000);
  }

  /**
   * Starts a Cutover JVM ({@code proxy/target/cutover.jar}) with {@code config}, its listeners on 127.0.0.1 at the
   * given ports (environment overrides), output to {@code log}; {@code env} adds more overrides.
   */
  static Process startCutover(Path project, Path config, Path log, int write, int read, int http, boolean clustered,
                              Map<String, String> env) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("java", "-Xms32m", "-Xmx256m", "-XX:+UseSerialGC", "-jar",
        project.resolve("proxy/target/cutover.jar").toString(), "--config", config.toString()));
    if (clustered) {
      cmd.add("--cluster");
    }
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
        .directory(project.toFile());
    pb.environment().put("CUTOVER_LISTENERS__WRITE", "127.0.0.1:" + write);
    pb.environment().put("CUTOVER_LISTENERS__READ", "127.0.0.1:" + read);
    pb.environment().put("CUTOVER_LISTENERS__HTTP", "127.0.0.1:" + http);
    pb.environment().putAll(env);
    Process p = pb.start();
    p.getOutputStream().close();
    return p;
  }

  // ---- signals ----

  void signal(String sig, List<Long> pids) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("kill", "-" + sig));
    pids.forEach(p -> cmd.add(String.valueOf(p)));
    new ProcessBuilder(cmd).redirectErrorStream(true).start().waitFor(10, TimeUnit.SECONDS);
  }

  /** SIGSTOP; {@link #close()} sends SIGCONT to whatever is still frozen. */
  void freeze(List<Long> pids) throws IOException, InterruptedException {
    frozen.addAll(pids);
    signal("STOP", pids);
  }

  void thaw(List<Long> pids) throws IOException, InterruptedException {
    signal("CONT", pids);
    frozen.removeAll(pids);
  }

  // ---- the drill's Cutover instances ----

  /** GET /api/v1/cluster of instance {@code i} (0-based), or null when it does not answer within 2 s. */
  JsonObject clusterApi(int i) {
    try {
      HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + instances.get(i).httpPort()
          + "/api/v1/cluster")).timeout(Duration.ofSeconds(2)).GET().build();
      HttpResponse<String> res = http.send(req, HttpResponse.BodyHandlers.ofString());
      return res.statusCode() == 200 ? new JsonObject(res.body()) : null;
    } catch (Exception e) {
      return null;
    }
  }

  /** The instance (0-based) whose admin API says it leads the cluster, or -1. */
  int leader() {
    for (int i = 0; i < instances.size(); i++) {
      JsonObject c = clusterApi(i);
      if (c != null && c.getJsonObject("cluster", new JsonObject()).getBoolean("leader", false)) {
        return i;
      }
    }
    return -1;
  }

  private void awaitClusterFormed(long millis) throws Exception {
    long deadline = System.currentTimeMillis() + millis;
    while (System.currentTimeMillis() < deadline) {
      int leaders = 0;
      boolean all = true;
      for (int i = 0; i < instances.size(); i++) {
        JsonObject c = clusterApi(i);
        JsonObject info = c == null ? new JsonObject() : c.getJsonObject("cluster", new JsonObject());
        all &= info.getJsonArray("members", new JsonArray()).size() == instances.size();
        leaders += info.getBoolean("leader", false) ? 1 : 0;
      }
      if (all && leaders == 1) {
        return;
      }
      sleep(250);
    }
    throw new IllegalStateException("the drill's " + instances.size() + " instances did not form one cluster with "
        + "one leader within " + millis / 1000 + " s (see " + project.relativize(runDir) + ")");
  }

  /** The alert the failover machine logs when {@code pg_promote()} succeeded: "MonitorVerticle - pg2 promoted". */
  private static final java.util.regex.Pattern PROMOTED = java.util.regex.Pattern.compile("MonitorVerticle - \\S+ promoted$");

  /** "promoted" alerts in instance {@code i}'s log (0-based); every instance's when {@code i} is negative. */
  int promotions(int i) throws IOException {
    int n = 0;
    for (Instance in : i < 0 ? instances : List.of(instances.get(i))) {
      for (String line : Files.readAllLines(in.log(), StandardCharsets.UTF_8)) {
        if (PROMOTED.matcher(line).find()) {
          n++;
        }
      }
    }
    return n;
  }

  /**
   * The incidents instance {@code i} (0-based) logged, each in the version logged last (an incident is logged when it
   * closes and again when its RPO is measured after the fact), in the order they were first logged.
   */
  JsonArray incidents(int i) throws IOException {
    Map<Long, JsonObject> last = new java.util.LinkedHashMap<>();
    for (JsonObject version : incidentVersions(i)) {
      last.put(version.getLong("id"), version);
    }
    return new JsonArray(new ArrayList<>(last.values()));
  }

  /** Every incident line instance {@code i} (0-based) logged, oldest first. */
  List<JsonObject> incidentVersions(int i) throws IOException {
    List<JsonObject> out = new ArrayList<>();
    for (String line : Files.readAllLines(instances.get(i).log(), StandardCharsets.UTF_8)) {
      int at = line.indexOf(" incident - ");
      if (at >= 0) {
        out.add(new JsonObject(line.substring(at + " incident - ".length())));
      }
    }
    return out;
  }

  /** Targets fenced in the topology of any of {@code from} (0-based instances), sorted. */
  List<String> fenced(List<Integer> from) {
    java.util.TreeSet<String> out = new java.util.TreeSet<>();
    for (int i : from) {
      JsonObject c = clusterApi(i);
      if (c != null) {
        c.getJsonObject("topology").getJsonArray("targets").stream().map(JsonObject.class::cast)
            .filter(t -> t.getBoolean("fenced", false)).forEach(t -> out.add(t.getString("name")));
      }
    }
    return new ArrayList<>(out);
  }

  // ---- writes ----

  /** Waits until every writer in {@code ws} has an acknowledgement at or after {@code after} from a server other
   * than {@code excludePort} (-1: any), or until {@code deadline}. */
  static void awaitAcks(List<DrillWriter> ws, long after, int excludePort, long deadline) throws InterruptedException {
    while (ws.stream().anyMatch(w -> w.firstAckAfter(after, excludePort) < 0) && System.currentTimeMillis() < deadline) {
      sleep(10);
    }
  }

  /**
   * Stops the writers and counts, per instance, acknowledged writes, failed attempts and acknowledged ids missing
   * on the primary behind {@code idsPort} (a write endpoint); {@code missing_acknowledged} is null when that
   * endpoint cannot be read. Adds the totals and promotions (every instance's log) to {@code result}.
   */
  JsonArray finish(JsonObject result, int idsPort) throws Exception {
    writers.forEach(DrillWriter::stop);
    sleep(200);
    Set<Long> present = null;
    try {
      Set<Long> ids = new HashSet<>();
      get(PgConnection.connect(vertx, endpoint(idsPort)).compose(c -> c.query("select id from cutover_drill").execute()
          .eventually(c::close)), 30).forEach((Row r) -> ids.add(r.getLong(0)));
      present = ids;
      presentIds = ids;
    } catch (Exception e) {
      result.put("ids_error", "cannot read the ids through 127.0.0.1:" + idsPort + ": " + e.getMessage());
    }
    JsonArray per = new JsonArray();
    long missing = 0;
    for (int i = 0; i < writers.size(); i++) {
      DrillWriter w = writers.get(i);
      Set<Long> p = present;
      Long m = p == null ? null : w.acked.keySet().stream().filter(id -> !p.contains(id)).count();
      missing += m == null ? 0 : m;
      per.add(new JsonObject().put("instance", i + 1).put("acknowledged", w.acked.size())
          .put("failed_attempts", w.failedAttempts.get()).put("lost_acknowledged", m));
    }
    result.put("acknowledged", writers.stream().mapToLong(w -> w.acked.size()).sum())
        .put("failed_attempts", writers.stream().mapToLong(w -> w.failedAttempts.get()).sum())
        .put("lost_acknowledged", present == null ? null : missing)
        .put("promotions", promotions(-1))
        .put("cutover_logs", new JsonArray(instances.stream().map(in -> project.relativize(in.log()).toString()).toList()));
    return per;
  }

  static PgConnectOptions endpoint(int port) {
    return new PgConnectOptions().setHost("127.0.0.1").setPort(port).setUser("postgres").setDatabase("postgres")
        .setProperties(Map.of("application_name", "cutover-drill"));
  }

  /** Waits until a write through 127.0.0.1:{@code port} succeeds, at most {@code millis}. */
  static void awaitWritable(Vertx vertx, int port, long millis) throws Exception {
    long deadline = System.currentTimeMillis() + millis;
    while (true) {
      try {
        exec(vertx, port, "select txid_current()");
        return;
      } catch (Exception e) {
        if (System.currentTimeMillis() > deadline) {
          throw new IllegalStateException("no write accepted through port " + port + " within " + millis / 1000 + " s: "
              + e.getMessage());
        }
        sleep(100);
      }
    }
  }

  static void exec(Vertx vertx, int port, String sql) throws Exception {
    get(PgConnection.connect(vertx, endpoint(port)).compose(c -> c.query(sql).execute().eventually(c::close)), 30);
  }

  static <T> T get(Future<T> f, int seconds) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(seconds, TimeUnit.SECONDS);
  }

  static void sleep(long millis) throws InterruptedException {
    TimeUnit.MILLISECONDS.sleep(millis);
  }

  /** Stops the writers, wakes whatever the run froze, stops every instance by PID (SIGTERM, then SIGKILL). */
  @Override
  public void close() throws Exception {
    writers.forEach(DrillWriter::stop);
    if (!frozen.isEmpty()) {
      thaw(new ArrayList<>(frozen));
    }
    for (Instance in : instances) {
      in.process().destroy();
    }
    for (Instance in : instances) {
      if (!in.process().waitFor(20, TimeUnit.SECONDS)) {
        in.process().destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
    try {
      Runtime.getRuntime().removeShutdownHook(emergencyStop);
    } catch (IllegalStateException shuttingDown) {
      // the hook is running or about to
    }
  }

  /** On Ctrl-C or any other exit of the drill's JVM: wake what was frozen and kill what was started. */
  private void emergencyStop() {
    try {
      if (!frozen.isEmpty()) {
        signal("CONT", new ArrayList<>(frozen));
      }
    } catch (Exception ignored) {
      // best effort
    }
    instances.forEach(in -> in.process().destroyForcibly());
  }
}
