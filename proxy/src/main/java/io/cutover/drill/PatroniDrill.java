package io.cutover.drill;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.Row;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code scripts/drill --patroni}: the same node crash of the Patroni leader under two writers, one through Cutover
 * (its configuration from {@code cluster-config/cutover-patroni.yaml}: Patroni checks, {@code mode: follow}) and one
 * through HAProxy configured as Patroni documents it ({@link Haproxy}). Per run: the Patroni cluster started and pg1
 * made the leader, both proxies started, both writers writing for 2 s, then {@code scripts/patroni-cluster kill} of
 * the leader (its Patroni daemon and postmaster, SIGKILL). Measured per writer: the RTO the client saw (kill → first
 * write acknowledged by another member), failed attempts, acknowledged writes missing on the new leader; and
 * Cutover's incident. Prints a side-by-side table, writes a JSON file, exits 1 when an expectation did not hold.
 */
final class PatroniDrill {

  private final Drill options;
  private final Path project;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  PatroniDrill(Drill options, Path project) {
    this.options = options;
    this.project = project;
  }

  int call() throws Exception {
    Vertx vertx = Vertx.vertx();
    List<JsonObject> results = new ArrayList<>();
    try {
      PatroniCluster cluster = new PatroniCluster(project);
      for (int i = 1; i <= options.runs; i++) {
        System.out.printf("run %d/%d: kill -9 of the Patroni leader, one writer through Cutover, one through HAProxy%n",
            i, options.runs);
        JsonObject result = new JsonObject().put("run", i).put("fault", "patroni-kill");
        try {
          result.mergeIn(run(vertx, cluster, i));
        } catch (Exception e) {
          System.out.println("  run " + i + " failed: " + e);
          result.put("error", String.valueOf(e)).put("expectations", new Expectations()
              .expect("the run completes", false, e.getMessage()).toJson());
        }
        results.add(result);
      }
      System.out.println("  bringing the killed member back: scripts/patroni-cluster start");
      cluster.script("start");
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    JsonObject summary = PatroniDrillReport.summarize(results);
    System.out.println();
    System.out.print(PatroniDrillReport.markdown(results, summary));
    Path file = options.out != null ? options.out : project.resolve(".run/drill/drill-patroni-" + Drill.STAMP + ".json");
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.writeString(file, new JsonObject().put("summary", summary).put("runs", new JsonArray(results)).encodePrettily());
    System.out.println();
    System.out.println("results: " + file);
    return summary.getBoolean("expectations_held") ? 0 : 1;
  }

  private JsonObject run(Vertx vertx, PatroniCluster cluster, int run) throws Exception {
    Path runDir = project.resolve(".run/drill/" + Drill.STAMP + "-patroni-run" + run);
    Files.createDirectories(runDir);
    cluster.script("start");
    cluster.script("switchover", "pg1");
    String oldLeader = cluster.leader();
    if (oldLeader == null) {
      throw new IllegalStateException("the Patroni cluster has no leader");
    }
    int oldPort = cluster.pgPorts.get(oldLeader);
    Path config = DrillConfigs.patroni(options.config(), runDir, cluster.pgPorts, cluster.restPorts);
    Path cutoverLog = runDir.resolve("cutover.log");
    Process cutover = DrillRig.startCutover(project, config, cutoverLog, options.writePort, options.readPort,
        options.httpPort(), false, Map.of("CUTOVER_HISTORY__DIR", runDir.resolve("history").toString()));
    System.out.printf("  cutover: pid %d, write %d, log %s%n", cutover.pid(), options.writePort, project.relativize(cutoverLog));
    List<DrillWriter> writers = new ArrayList<>();
    try (Haproxy haproxy = Haproxy.start(runDir, options.haproxyPort, cluster.pgPorts, cluster.restPorts,
        runDir.resolve("haproxy.log"))) {
      System.out.printf("  haproxy: pid %d, write %d, config %s%n", haproxy.pid(), haproxy.port,
          project.relativize(runDir.resolve("haproxy.cfg")));
      DrillRig.awaitWritable(vertx, options.writePort, 60_000);
      DrillRig.awaitWritable(vertx, haproxy.port, 60_000);
      DrillRig.exec(vertx, options.writePort,
          "create table if not exists cutover_drill (id bigint primary key); truncate cutover_drill");
      DrillWriter viaCutover = new DrillWriter(vertx, "127.0.0.1", options.writePort, 0);
      DrillWriter viaHaproxy = new DrillWriter(vertx, "127.0.0.1", haproxy.port, 1_000_000_000L);
      writers.add(viaCutover);
      writers.add(viaHaproxy);
      writers.forEach(DrillWriter::start);
      DrillRig.sleep(2000);

      long killedAt = System.currentTimeMillis();
      cluster.script("kill", oldLeader);
      System.out.printf("  killed %s (Patroni daemon and postmaster, SIGKILL)%n", oldLeader);
      DrillRig.awaitAcks(writers, killedAt, oldPort, killedAt + options.timeoutMillis());
      DrillRig.sleep(1000);
      writers.forEach(DrillWriter::stop);
      DrillRig.sleep(200);
      Set<Long> present = presentIds(vertx, cluster);
      JsonObject result = new JsonObject().put("old_leader", oldLeader).put("run_dir", project.relativize(runDir).toString())
          .put("cutover", writer(viaCutover, killedAt, oldPort, present, cluster))
          .put("haproxy", writer(viaHaproxy, killedAt, oldPort, present, cluster));
      JsonObject incident = newestIncident();
      result.put("incident", incident);
      return result.put("expectations", expectations(result).toJson());
    } finally {
      writers.forEach(DrillWriter::stop);
      cutover.destroy();
      if (!cutover.waitFor(20, TimeUnit.SECONDS)) {
        cutover.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  private static Expectations expectations(JsonObject r) {
    JsonObject c = r.getJsonObject("cutover");
    JsonObject h = r.getJsonObject("haproxy");
    JsonObject incident = r.getJsonObject("incident");
    Long cr = c.getLong("rto_ms");
    Long hr = h.getLong("rto_ms");
    return new Expectations()
        .expect("writes resume through Cutover", cr != null, cr == null ? "never" : cr + " ms")
        .expect("writes resume through HAProxy", hr != null, hr == null ? "never" : hr + " ms")
        .expect("Cutover records the failover as an incident promoted by Patroni", incident != null
                && "external".equals(incident.getString("promoted_by")) && incident.getString("new_primary") != null,
            incident == null ? "no incident" : incident.getString("kind") + ", promoted_by "
                + incident.getString("promoted_by") + ", new primary " + incident.getString("new_primary"))
        .expect("Cutover's writer resumes before HAProxy's", cr != null && (hr == null || cr < hr),
            (cr == null ? "never" : cr + " ms") + " vs " + (hr == null ? "never" : hr + " ms"));
  }

  /** One writer's figures: client-seen RTO, the member that acknowledged first, failed attempts, acknowledged writes lost. */
  private static JsonObject writer(DrillWriter w, long killedAt, int oldPort, Set<Long> present, PatroniCluster cluster) {
    long first = w.firstAckAfter(killedAt, oldPort);
    Long lost = present == null ? null : w.acked.keySet().stream().filter(id -> !present.contains(id)).count();
    return new JsonObject().put("rto_ms", first < 0 ? null : first - killedAt)
        .put("new_leader", cluster.memberOfPort(w.firstAckPort(killedAt, oldPort)))
        .put("acknowledged", w.acked.size()).put("failed_attempts", w.failedAttempts.get())
        .put("acknowledged_by_old_leader_after_kill", w.acksFrom(oldPort, killedAt)).put("lost_acknowledged", lost);
  }

  /** The ids on the new leader (straight to it, not through either proxy), or null when it cannot be read. */
  private static Set<Long> presentIds(Vertx vertx, PatroniCluster cluster) {
    try {
      String leader = cluster.leader();
      if (leader == null) {
        return null;
      }
      Set<Long> ids = new HashSet<>();
      DrillRig.get(PgConnection.connect(vertx, DrillRig.endpoint(cluster.pgPorts.get(leader)))
          .compose(c -> c.query("select id from cutover_drill").execute().eventually(c::close)), 30)
          .forEach((Row r) -> ids.add(r.getLong(0)));
      return ids;
    } catch (Exception e) {
      return null;
    }
  }

  /** The newest incident of the drill's Cutover (GET /api/v1/incidents?limit=1), or null. */
  private JsonObject newestIncident() {
    try {
      HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + options.httpPort()
          + "/api/v1/incidents?limit=1")).timeout(Duration.ofSeconds(5)).GET().build();
      HttpResponse<String> res = http.send(req, HttpResponse.BodyHandlers.ofString());
      if (res.statusCode() != 200) {
        return null;
      }
      Object body = io.vertx.core.json.Json.decodeValue(res.body());
      JsonArray list = body instanceof JsonArray a ? a : ((JsonObject) body).getJsonArray("incidents", new JsonArray());
      return list.isEmpty() ? null : list.getJsonObject(0);
    } catch (Exception e) {
      return null;
    }
  }
}
