package io.cutover.drill;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.Row;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * A game day against the local cluster ({@code scripts/drill}): per run, reset the cluster (pg1 primary),
 * start Cutover, write every ~10 ms through the write endpoint, then either kill the primary
 * ({@code scripts/pg-cluster kill pg1}) and wait for writes to flow again, or ({@code --flap}) freeze the
 * primary (SIGSTOP of the postmaster and its children) for 2 s, five times, 5 s apart. Prints a markdown
 * table and writes a JSON file. This is a command-line tool: it blocks its own main thread while it waits,
 * never an event loop.
 */
@Command(name = "drill", mixinStandardHelpOptions = true,
    description = "Failover drill against the local cluster of scripts/pg-cluster.")
public final class Drill implements Callable<Integer> {

  @Option(names = "--runs", description = "runs (default 1); median/min/max are reported")
  int runs = 1;
  @Option(names = "--sync", description = "synchronous replication (scripts/pg-cluster sync on)")
  boolean sync;
  @Option(names = "--flap", description = "freeze the primary 2 s, five times, 5 s apart, instead of killing it")
  boolean flap;
  @Option(names = "--config", description = "Cutover configuration (default cluster-config/cutover.yaml)")
  Path config = Path.of("cluster-config/cutover.yaml");
  @Option(names = "--write-port", description = "write endpoint port for the drill's Cutover (default 7432)")
  int writePort = 7432;
  @Option(names = "--read-port", description = "read endpoint port for the drill's Cutover (default 7433)")
  int readPort = 7433;
  @Option(names = "--instances", description = "clustered Cutover instances, a writer through each (default 1)")
  int instances = 1;
  @Option(names = "--out", description = "JSON results file (default .run/drill/drill-<time>.json)")
  Path out;

  private final Path project = Path.of("").toAbsolutePath();

  public static void main(String[] args) {
    System.exit(new CommandLine(new Drill()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    Vertx vertx = Vertx.vertx();
    List<JsonObject> results = new ArrayList<>();
    try {
      for (int i = 1; i <= runs; i++) {
        System.out.printf("run %d/%d (%s%s)%n", i, runs, flap ? "flap" : "kill the primary", sync ? ", synchronous replication" : "");
        results.add(run(vertx, i));
      }
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    JsonObject report = DrillReport.summarize(results, flap, sync);
    System.out.println();
    System.out.print(DrillReport.markdown(results, report, flap));
    Path file = out != null ? out : project.resolve(".run/drill/drill-" + Instant.now().toString().replace(':', '-') + ".json");
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.writeString(file, new JsonObject().put("summary", report).put("runs", new JsonArray(results)).encodePrettily());
    System.out.println();
    System.out.println("results: " + file);
    return 0;
  }

  private JsonObject run(Vertx vertx, int n) throws Exception {
    script("reset");
    if (sync) {
      script("sync", "on");
    }
    String clusterName = "cutover-drill-" + java.util.UUID.randomUUID();
    List<Process> cutovers = new ArrayList<>();
    List<Path> logs = new ArrayList<>();
    JsonObject result = new JsonObject().put("run", n).put("instances", instances);
    try {
      for (int i = 0; i < instances; i++) {
        Path log = Files.createTempFile("cutover-drill-" + (i + 1) + "-", ".log");
        List<String> cmd = new ArrayList<>(List.of("java", "-Xms32m", "-Xmx256m", "-XX:+UseSerialGC", "-jar",
            project.resolve("proxy/target/cutover.jar").toString(), "--config", config.toString()));
        if (instances > 1) {
          cmd.add("--cluster");
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
            .directory(project.toFile());
        pb.environment().put("CUTOVER_LISTENERS__WRITE", "127.0.0.1:" + (writePort + 10 * i));
        pb.environment().put("CUTOVER_LISTENERS__READ", "127.0.0.1:" + (readPort + 10 * i));
        pb.environment().put("CUTOVER_LISTENERS__HTTP", "127.0.0.1:" + (readPort + 1 + 10 * i));
        pb.environment().put("CUTOVER_CLUSTER__NAME", clusterName);
        pb.environment().put("CUTOVER_CLUSTER__SIZE", String.valueOf(instances));
        Process p = pb.start();
        p.getOutputStream().close();
        cutovers.add(p);
        logs.add(log);
        System.out.println("  cutover " + (i + 1) + ": pid " + p.pid() + ", write 127.0.0.1:" + (writePort + 10 * i)
            + ", log " + log);
      }
      for (int i = 0; i < instances; i++) {
        awaitWritable(vertx, writePort + 10 * i, 60_000);
      }
      exec(vertx, writePort, "create table if not exists cutover_drill (id bigint primary key); truncate cutover_drill");
      List<DrillWriter> writers = new ArrayList<>();
      for (int i = 0; i < instances; i++) {
        DrillWriter w = new DrillWriter(vertx, "127.0.0.1", writePort + 10 * i, i * 1_000_000_000L);
        w.start();
        writers.add(w);
      }
      sleep(2000);
      JsonArray perInstance = new JsonArray();
      if (flap) {
        for (int i = 0; i < 5; i++) {
          List<Long> pids = postmasterTree("pg1");
          signal("STOP", pids);
          sleep(2000);
          signal("CONT", pids);
          sleep(3000);
        }
        sleep(2000);
      } else {
        int oldPort = pgPort("pg1");
        script("kill", "pg1");
        long killAt = System.currentTimeMillis(); // SIGKILL delivered
        long deadline = killAt + 60_000;
        while (writers.stream().anyMatch(w -> w.firstAckAfter(killAt, oldPort) < 0) && System.currentTimeMillis() < deadline) {
          sleep(10);
        }
        long worst = -1;
        for (int i = 0; i < instances; i++) {
          long firstAck = writers.get(i).firstAckAfter(killAt, oldPort);
          perInstance.add(new JsonObject().put("instance", i + 1).put("client_rto_ms", firstAck < 0 ? null : firstAck - killAt));
          worst = firstAck < 0 || worst == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(worst, firstAck - killAt);
        }
        result.put("kill_at", Instant.ofEpochMilli(killAt).toString())
            .put("client_rto_ms", worst < 0 || worst == Long.MAX_VALUE ? null : worst);
        sleep(3000);
        // a backend of the killed postmaster can still commit until it notices; with asynchronous
        // replication such a write may never reach a replica
        result.put("acknowledged_by_old_primary_after_kill", writers.stream().mapToLong(w -> w.acksFrom(oldPort, killAt)).sum());
      }
      writers.forEach(DrillWriter::stop);
      sleep(200);
      Set<Long> present = ids(vertx);
      long missing = 0;
      for (int i = 0; i < instances; i++) {
        DrillWriter w = writers.get(i);
        long m = w.acked.keySet().stream().filter(id -> !present.contains(id)).count();
        missing += m;
        if (flap) {
          perInstance.add(new JsonObject().put("instance", i + 1));
        }
        perInstance.getJsonObject(i).put("acknowledged", w.acked.size()).put("failed_attempts", w.failedAttempts.get())
            .put("missing_acknowledged", m);
      }
      result.put("acknowledged", writers.stream().mapToLong(w -> w.acked.size()).sum())
          .put("failed_attempts", writers.stream().mapToLong(w -> w.failedAttempts.get()).sum())
          .put("missing_acknowledged", missing)
          .put("per_instance", perInstance);
    } finally {
      for (Process p : cutovers) {
        p.destroy();
      }
      for (Process p : cutovers) {
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
    }
    List<JsonObject> incidents = new ArrayList<>();
    int promotions = 0;
    for (int i = 0; i < logs.size(); i++) {
      for (String line : Files.readAllLines(logs.get(i), StandardCharsets.UTF_8)) {
        int at = line.indexOf(" incident - ");
        if (at >= 0 && i == 0) {
          incidents.add(new JsonObject(line.substring(at + " incident - ".length())));
        }
        if (line.contains("MonitorVerticle - ") && line.endsWith(" promoted")) {
          promotions++;
        }
      }
    }
    result.put("failovers", promotions).put("incidents", new JsonArray(new ArrayList<>(incidents)))
        .put("cutover_logs", new JsonArray(logs.stream().map(Path::toString).toList()));
    return result;
  }

  private PgConnectOptions endpoint(int port) {
    return new PgConnectOptions().setHost("127.0.0.1").setPort(port).setUser("postgres").setDatabase("postgres")
        .setProperties(Map.of("application_name", "cutover-drill"));
  }

  private void awaitWritable(Vertx vertx, int port, long millis) throws Exception {
    long deadline = System.currentTimeMillis() + millis;
    while (true) {
      try {
        exec(vertx, port, "select txid_current()");
        return;
      } catch (Exception e) {
        if (System.currentTimeMillis() > deadline) {
          throw new IllegalStateException("the drill's Cutover did not accept writes on port " + port + ": " + e.getMessage());
        }
        sleep(100);
      }
    }
  }

  private void exec(Vertx vertx, int port, String sql) throws Exception {
    get(PgConnection.connect(vertx, endpoint(port)).compose(c -> c.query(sql).execute().eventually(c::close)));
  }

  private Set<Long> ids(Vertx vertx) throws Exception {
    Set<Long> out = new HashSet<>();
    get(PgConnection.connect(vertx, endpoint(writePort)).compose(c -> c.query("select id from cutover_drill").execute()
        .eventually(c::close))).forEach((Row r) -> out.add(r.getLong(0)));
    return out;
  }

  private static <T> T get(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private void script(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(project.resolve("scripts/pg-cluster").toString());
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " failed:\n" + text);
    }
  }

  private List<Long> postmasterTree(String node) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(project.resolve("scripts/pg-cluster").toString(), "env").start();
    String env = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor();
    String root = env.lines().filter(l -> l.startsWith("CUTOVER_PG_ROOT=")).findFirst().orElseThrow().substring(16);
    long pid = Long.parseLong(Files.readAllLines(Path.of(root, node, "postmaster.pid")).get(0).trim());
    List<Long> pids = new ArrayList<>();
    pids.add(pid);
    ProcessHandle.of(pid).ifPresent(h -> h.descendants().forEach(d -> pids.add(d.pid())));
    return pids;
  }

  private int pgPort(String node) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(project.resolve("scripts/pg-cluster").toString(), "env").start();
    String env = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor();
    String key = "CUTOVER_PG_PORT" + node.substring(2) + "=";
    return Integer.parseInt(env.lines().filter(l -> l.startsWith(key)).findFirst().orElseThrow().substring(key.length()));
  }

  private static void signal(String sig, List<Long> pids) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("kill", "-" + sig));
    pids.forEach(p -> cmd.add(String.valueOf(p)));
    new ProcessBuilder(cmd).redirectErrorStream(true).start().waitFor(10, TimeUnit.SECONDS);
  }

  private static void sleep(long millis) throws InterruptedException {
    TimeUnit.MILLISECONDS.sleep(millis);
  }
}
