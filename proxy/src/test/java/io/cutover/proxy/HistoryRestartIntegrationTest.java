package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import io.cutover.monitor.TargetState;
import io.cutover.monitor.Topology;
import io.cutover.monitor.TargetStatus;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Incidents and audit entries survive a restart of a single instance (history.dir), the records are listed newest
 * first with a limit and one incident by id, and enable ends a failback hold — on the real cluster over real HTTP.
 */
class HistoryRestartIntegrationTest {

  @TempDir
  Path dir;
  private Harness h;

  @AfterEach
  void stop() throws Exception {
    if (h != null) {
      h.close();
    }
  }

  private String history() {
    return "history: {dir: '" + dir + "'}\n";
  }

  private static JsonObject get(Http http, String path) throws Exception {
    HttpResponse<Buffer> r = http.get(path);
    assertEquals(200, r.statusCode(), path + ": " + r.bodyAsString());
    return r.bodyAsJsonObject();
  }

  private static List<String> actions(JsonArray audit) {
    return audit.stream().map(e -> ((JsonObject) e).getString("action") + " " + ((JsonObject) e).getInteger("status")).toList();
  }

  private static List<Long> ids(JsonArray incidents) {
    return incidents.stream().map(i -> ((JsonObject) i).getLong("id")).toList();
  }

  private static JsonObject completed(Http http, long id) {
    JsonObject[] found = new JsonObject[1];
    Poll.until(Duration.ofSeconds(60), "incident " + id + " completed", () -> {
      try {
        HttpResponse<Buffer> r = http.get("/api/v1/incidents/" + id);
        found[0] = r.statusCode() == 200 ? r.bodyAsJsonObject() : null;
        return found[0] != null && "completed".equals(found[0].getString("outcome"));
      } catch (Exception e) {
        return false;
      }
    });
    return found[0];
  }

  private static void assertBadRequest(Http http, String path, String detail) throws Exception {
    HttpResponse<Buffer> r = http.get(path);
    assertEquals(400, r.statusCode(), path + ": " + r.bodyAsString());
    assertEquals("application/json", r.getHeader("Content-Type"));
    assertTrue(r.bodyAsJsonObject().getString("detail").contains(detail), path + ": " + r.bodyAsString());
  }

  @Test
  void incidentsAndAuditSurviveARestartNewestFirstWithALimitAndById() throws Exception {
    // ---- the first run: audited commands, a failback hold ended by enable, a switchover ----
    h = Harness.startOnCluster(Harness.ADMIN + "failover: {failback_delay: 5m, switchover_timeout: 10s}\n" + history());
    JsonObject incident1;
    try (Http http = new Http(h.cutover.httpPort())) {
      assertEquals(400, http.post("/api/v1/switchover", "{}").statusCode());
      assertEquals(200, http.post("/api/v1/maintenance", "{\"enabled\": true, \"reason\": \"before the restart\"}").statusCode());
      assertEquals(200, http.post("/api/v1/maintenance", "{\"enabled\": false}").statusCode());

      PgCluster.stop("pg3");
      try {
        h.await("pg3 down", t -> t.target("pg3").orElseThrow().state() == TargetState.DOWN);
      } finally {
        PgCluster.start("pg3");
      }
      TargetStatus held = h.await("pg3 back and held by failback_delay", t -> t.target("pg3").orElseThrow().state() == TargetState.UP)
          .target("pg3").orElseThrow();
      assertNotNull(held.hold(), "held for failback_delay (5 min)");
      assertFalse(held.readable());
      HttpResponse<Buffer> enabled = http.post("/api/v1/targets/pg3/enable", null);
      assertEquals(200, enabled.statusCode(), enabled.bodyAsString());
      assertTrue(enabled.bodyAsJsonObject().getBoolean("hold_ended"), enabled.bodyAsString());
      assertFalse(enabled.bodyAsJsonObject().getBoolean("drain_ended"), enabled.bodyAsString());
      h.await("pg3 readable at once, not after 5 minutes", t -> t.readable().contains("pg3"));
      JsonObject enableAudit = get(http, "/api/v1/audit?limit=1").getJsonArray("audit").getJsonObject(0);
      assertEquals("enable", enableAudit.getString("action"));
      assertEquals("accepted: failback hold ended", enableAudit.getString("outcome"));

      HttpResponse<Buffer> sw = http.post("/api/v1/switchover", "{\"candidate\": \"pg2\"}");
      assertEquals(200, sw.statusCode(), sw.bodyAsString());
      assertEquals(1L, sw.bodyAsJsonObject().getLong("id"));
      incident1 = completed(http, 1);
    }
    h.close();
    h = null;
    PgCluster.run("rejoin", "pg1"); // the old primary follows pg2, so that it can be switched back to
    assertTrue(Files.size(dir.resolve("incidents.jsonl")) > 0);
    assertTrue(Files.size(dir.resolve("audit.jsonl")) > 0);

    // ---- the second run on the same directory: pg2 primary, pg1 its replica ----
    String config = Harness.clusterTargets() + Harness.FAST_CHECKS + Harness.ADMIN
        + "failover: {failback_delay: 1s, switchover_timeout: 10s}\n" + history();
    h = Harness.start(config);
    h.await("pg2 primary, pg1 readable", t -> "pg2".equals(t.primary()) && t.readable().contains("pg1"));
    ExecutionException taken = assertThrows(ExecutionException.class, () -> Harness.start(config).close());
    assertTrue(taken.getCause().getMessage().contains("cannot use history.dir " + dir) && taken.getCause().getMessage()
        .contains("another Cutover instance uses it"), taken.getCause().getMessage());
    try (Http http = new Http(h.cutover.httpPort())) {
      JsonObject incidents = get(http, "/api/v1/incidents");
      assertEquals(1, incidents.getInteger("total"), incidents.encodePrettily());
      assertEquals(incident1, incidents.getJsonArray("incidents").getJsonObject(0), "the final version, as it was shown");
      assertEquals(incident1, get(http, "/api/v1/incidents/1"));

      JsonObject audit = get(http, "/api/v1/audit");
      assertEquals(List.of("switchover 200", "enable 200", "maintenance 200", "maintenance 200", "switchover 400"),
          actions(audit.getJsonArray("audit")), "newest first");
      assertEquals(5, audit.getInteger("total"));
      assertEquals(false, audit.getJsonArray("audit").getJsonObject(2).getJsonObject("arguments").getBoolean("enabled"));
      JsonObject two = get(http, "/api/v1/audit?limit=2");
      assertEquals(List.of("switchover 200", "enable 200"), actions(two.getJsonArray("audit")));
      assertEquals(5, two.getInteger("total"));

      HttpResponse<Buffer> unknown = http.get("/api/v1/incidents/99");
      assertEquals(404, unknown.statusCode(), unknown.bodyAsString());
      assertTrue(unknown.bodyAsJsonObject().getString("detail").contains("no incident 99"), unknown.bodyAsString());
      assertBadRequest(http, "/api/v1/incidents/abc", "an incident id is a positive integer (got 'abc')");
      assertBadRequest(http, "/api/v1/incidents/0", "positive integer");
      for (String bad : List.of("0", "-1", "abc", "10001", "99999999999999999999", "1&limit=2", "")) {
        assertBadRequest(http, "/api/v1/incidents?limit=" + bad, "query parameter limit must be one integer from 1 to 10000");
      }
      assertBadRequest(http, "/api/v1/audit?limit=x", "query parameter limit");

      // a new incident is numbered after the one read back, and listed before it
      HttpResponse<Buffer> sw = http.post("/api/v1/switchover", "{\"candidate\": \"pg1\"}");
      assertEquals(200, sw.statusCode(), sw.bodyAsString());
      assertEquals(2L, sw.bodyAsJsonObject().getLong("id"));
      completed(http, 2);
      JsonObject both = get(http, "/api/v1/incidents");
      assertEquals(List.of(2L, 1L), ids(both.getJsonArray("incidents")));
      JsonObject newest = get(http, "/api/v1/incidents?limit=1");
      assertEquals(List.of(2L), ids(newest.getJsonArray("incidents")));
      assertEquals(2, newest.getInteger("total"));
      assertEquals(incident1, get(http, "/api/v1/incidents/1"));
      assertEquals(6, get(http, "/api/v1/audit").getInteger("total"), "the second run's switchover audited after those read back");
    }
  }

  /**
   * Maintenance mode and a drain set before a restart hold after it (restored from the audit log): a Cutover restarted
   * during a maintenance window does not fail over on its own, a drained replica gets no new session.
   */
  @Test
  void maintenanceModeAndDrainsSurviveARestart() throws Exception {
    String extra = Harness.ADMIN + history();
    h = Harness.startOnCluster(extra);
    try (Http http = new Http(h.cutover.httpPort())) {
      assertEquals(200, http.post("/api/v1/maintenance", "{\"enabled\": true, \"reason\": \"kernel upgrade\"}").statusCode());
      assertEquals(200, http.post("/api/v1/targets/pg3/drain", null).statusCode());
      assertEquals(200, http.post("/api/v1/targets/pg2/drain", null).statusCode());
      assertEquals(200, http.post("/api/v1/targets/pg2/enable", null).statusCode());
    }
    h.await("maintenance on, pg3 drained", t -> t.maintenance() && t.target("pg3").orElseThrow().drained());
    h.close();
    h = null;

    String again = Harness.clusterTargets() + Harness.FAST_CHECKS + "failover: {failback_delay: 1s}\n" + extra;
    h = Harness.start(again); // not startOnCluster: it waits for pg3 readable
    Topology t = h.await("maintenance on and pg3 drained again after the restart", x -> x.maintenance()
        && x.target("pg3").orElseThrow().drained() && x.primary() != null);
    assertFalse(t.target("pg2").orElseThrow().drained(), "pg2 was enabled after its drain");
    assertTrue(t.failoverPaused().contains("kernel upgrade"), t.failoverPaused());
    h.await("reads on pg2 only", x -> x.readable().equals(List.of("pg2")));
    try (Http http = new Http(h.cutover.httpPort())) {
      assertEquals(200, http.post("/api/v1/maintenance", "{\"enabled\": false}").statusCode());
      assertEquals(200, http.post("/api/v1/targets/pg3/enable", null).statusCode());
    }
    h.close();
    h = null;

    h = Harness.start(again);
    h.await("both replicas readable, no maintenance, after the third start", x -> !x.maintenance()
        && x.readable().contains("pg3") && x.readable().contains("pg2"));
  }
}
