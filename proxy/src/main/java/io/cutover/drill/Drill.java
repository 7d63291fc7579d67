package io.cutover.drill;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * A game day against the local cluster ({@code scripts/drill}): per run, reset the cluster (pg1 primary), start
 * the drill's own Cutover instance(s) with a writer through each, inject a fault ({@link Fault}: kill, freeze,
 * flap, zone-loss, power-loss; one class each), measure what the clients saw and check what was expected. Prints
 * a markdown table and the expectations ("held" / "NOT held"), writes a JSON file, and exits 1 when an
 * expectation did not hold. It refuses to start (exit {@value DrillPreflight#EXIT_BUSY}) while another Cutover
 * manages the local cluster ({@link DrillPreflight}). This is a command-line tool: it blocks its own main thread
 * while it waits, never an event loop.
 */
@Command(name = "drill", mixinStandardHelpOptions = true,
    description = "Failover drill against the local cluster of scripts/pg-cluster.")
public final class Drill implements Callable<Integer> {

  static final String STAMP = Instant.now().toString().replace(':', '-');

  @Option(names = "--fault", description = "kill (default), freeze, flap, zone-loss or power-loss")
  String fault = "kill";
  @Option(names = "--flap", description = "same as --fault flap")
  boolean flap;
  @Option(names = "--runs", description = "runs (default 1); median/min/max are reported")
  int runs = 1;
  @Option(names = "--sync", description = "synchronous replication (scripts/pg-cluster sync on); then no acknowledged write may be lost")
  boolean sync;
  @Option(names = "--instances", description = "clustered Cutover instances, a writer through each (default 1; zone-loss: 3, at least 3)")
  Integer instances;
  @Option(names = "--leader", description = "zone-loss: kill (default) or freeze the leader instance")
  String leader = "kill";
  @Option(names = "--freeze-for", description = "freeze, zone-loss --leader freeze: seconds frozen (default 15)")
  int freezeFor = 15;
  @Option(names = "--down-for", description = "power-loss: seconds all nodes stay down (default 15)")
  int downFor = 15;
  @Option(names = "--timeout", description = "seconds to wait for writes to resume (and a frozen leader to follow, the RPO measured after pg1's restart), per run (default 60)")
  int timeout = 60;
  @Option(names = "--config", description = "Cutover configuration (default cluster-config/cutover.yaml, with --patroni cluster-config/cutover-patroni.yaml); the targets pg1..pg3 get the ports of scripts/pg-cluster env (scripts/patroni-cluster env)")
  Path config;
  @Option(names = "--patroni", description = "the same leader crash in a Patroni cluster (scripts/patroni-cluster) under two writers, one through Cutover and one through HAProxy configured as Patroni documents it; side-by-side table")
  boolean patroni;
  @Option(names = "--haproxy-port", description = "--patroni: HAProxy's write listener (default 7440)")
  int haproxyPort = 7440;
  @Option(names = "--write-port", description = "write endpoint of instance 1 (default 7432; instance N: +10*(N-1))")
  int writePort = 7432;
  @Option(names = "--read-port", description = "read endpoint of instance 1 (default 7433)")
  int readPort = 7433;
  @Option(names = "--http-port", description = "HTTP (admin API) of instance 1 (default: read port + 1)")
  Integer httpPort;
  @Option(names = "--hazelcast-port", description = "first Hazelcast port of the drill's cluster (default 5801; instance N: +N-1)")
  int hazelcastPort = 5801;
  @Option(names = "--out", description = "JSON results file (default .run/drill/drill-<fault>-<time>.json)")
  Path out;

  private final Path project = Path.of("").toAbsolutePath();

  public static void main(String[] args) {
    System.exit(new CommandLine(new Drill()).execute(args));
  }

  Path config() {
    return config != null ? config : Path.of(patroni ? "cluster-config/cutover-patroni.yaml" : "cluster-config/cutover.yaml");
  }

  int httpPort() {
    return httpPort != null ? httpPort : readPort + 1;
  }

  long timeoutMillis() {
    return timeout * 1000L;
  }

  @Override
  public Integer call() throws Exception {
    if (patroni) {
      if (runs < 1 || timeout < 1) {
        throw new CommandLine.ParameterException(new CommandLine(this), "--runs and --timeout must be positive");
      }
      return new PatroniDrill(this, project).call();
    }
    Fault f = flap ? Fault.FLAP : Fault.parse(fault);
    int n = instances != null ? instances : f == Fault.ZONE_LOSS ? 3 : 1;
    if (f == Fault.ZONE_LOSS && n < 3) {
      throw new CommandLine.ParameterException(new CommandLine(this), "zone-loss needs --instances 3 or more (got " + n + ")");
    }
    if (!leader.equals("kill") && !leader.equals("freeze")) {
      throw new CommandLine.ParameterException(new CommandLine(this), "--leader must be kill or freeze");
    }
    if (n < 1 || runs < 1 || timeout < 1 || freezeFor < 1 || downFor < 0 || freezeFor >= timeout) {
      throw new CommandLine.ParameterException(new CommandLine(this),
          "--instances, --runs, --timeout and --freeze-for must be positive, --freeze-for below --timeout");
    }
    Fault.Run drill = f.create(this);
    Vertx vertx = Vertx.vertx();
    List<JsonObject> results = new ArrayList<>();
    try {
      java.util.Optional<String> busy = DrillPreflight.refusal(vertx, new LocalCluster(vertx, project).ports);
      if (busy.isPresent()) {
        System.err.println(busy.get());
        return DrillPreflight.EXIT_BUSY;
      }
      for (int i = 1; i <= runs; i++) {
        System.out.printf("run %d/%d: %s%s, %d instance(s)%s%n", i, runs, f.label,
            f == Fault.ZONE_LOSS ? " (leader: " + leader + ")" : "", n, sync ? ", synchronous replication" : "");
        JsonObject result = new JsonObject().put("run", i).put("fault", f.label).put("instances", n);
        try (DrillRig rig = new DrillRig(this, vertx, project, i)) {
          result.put("run_dir", project.relativize(rig.runDir).toString());
          rig.start(n);
          result.mergeIn(drill.run(rig));
        } catch (Exception e) {
          // the run is reported (and fails the drill) instead of losing the runs before it
          System.out.println("  run " + i + " failed: " + e);
          result.put("error", String.valueOf(e)).put("expectations", new Expectations()
              .expect("the run completes", false, e.getMessage()).toJson());
        }
        results.add(result);
      }
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    JsonObject report = DrillReport.summarize(results, f, sync);
    System.out.println();
    System.out.print(DrillReport.markdown(results, report, f));
    Path file = out != null ? out : project.resolve(".run/drill/drill-" + f.label + "-" + STAMP + ".json");
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.writeString(file, new JsonObject().put("summary", report).put("runs", new JsonArray(results)).encodePrettily());
    System.out.println();
    System.out.println("results: " + file);
    return report.getBoolean("expectations_held") ? 0 : 1;
  }
}
