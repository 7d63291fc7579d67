package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import io.cutover.proxy.http.AdminHttp;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The management plane over real HTTP against a running Cutover on the real cluster. */
class AdminHttpIntegrationTest {

  private Harness h;
  private Http http;

  @BeforeEach
  void start() throws Exception {
    h = Harness.startOnCluster(Harness.ADMIN + "failover: {failback_delay: 1s}\n");
    http = new Http(h.cutover.httpPort());
  }

  @AfterEach
  void stop() throws Exception {
    http.close();
    h.close();
  }

  private static void assertError(HttpResponse<Buffer> r, int status, String detailContains) {
    assertEquals(status, r.statusCode(), r.bodyAsString());
    assertEquals("application/json", r.getHeader("Content-Type"));
    JsonObject body = r.bodyAsJsonObject();
    assertNotNull(body.getString("error"), r.bodyAsString());
    assertTrue(body.getString("detail").contains(detailContains), r.bodyAsString());
    assertFalse(r.bodyAsString().contains("\tat "), "no stack trace");
  }

  @Test
  void healthEndpointsAnswerGetAndHead() throws Exception {
    for (String path : List.of("/health/live", "/health/ready", "/health/write", "/health/read")) {
      HttpResponse<Buffer> get = http.get(path);
      assertEquals(200, get.statusCode(), path + " " + get.bodyAsString());
      assertNotNull(get.bodyAsJsonObject().getString("status"));
      HttpResponse<Buffer> head = http.send(HttpMethod.HEAD, path, null, null);
      assertEquals(200, head.statusCode(), path);
      assertTrue(head.body() == null || head.body().length() == 0, "HEAD has no body");
    }
    assertEquals("pg1", http.get("/health/write").bodyAsJsonObject().getString("primary"));
    assertEquals(new JsonArray(List.of("pg2", "pg3")), http.get("/health/read").bodyAsJsonObject().getJsonArray("readable"));
  }

  @Test
  void clusterShowsTopologyModeTargetsAndSessions() throws Exception {
    try (Connection c = h.write()) {
      Harness.one(c, "select 1");
      JsonObject cluster = http.get("/api/v1/cluster").bodyAsJsonObject();
      assertEquals("auto", cluster.getString("mode"));
      assertEquals(10_000L, cluster.getLong("rto_target_ms"));
      assertEquals(1L << 20, cluster.getLong("rpo_target_bytes"));
      assertFalse(cluster.getJsonObject("maintenance").getBoolean("enabled"));
      JsonObject topology = cluster.getJsonObject("topology");
      assertEquals("pg1", topology.getString("primary"));
      assertTrue(topology.getLong("version") > 0);
      JsonObject pg2 = topology.getJsonArray("targets").getJsonObject(1);
      assertEquals("pg2", pg2.getString("name"));
      assertEquals("replica", pg2.getString("role"));
      for (String key : List.of("state", "lag_bytes", "timeline", "fenced", "drained")) {
        assertTrue(pg2.containsKey(key), key);
      }
      assertEquals(1, cluster.getJsonObject("sessions").getInteger("write"));
      assertNotNull(cluster.getJsonArray("decisions"));
    }
  }

  @Test
  void everyErrorStatusIsJson() throws Exception {
    assertError(http.send(HttpMethod.POST, "/api/v1/switchover", null, "{\"candidate\":\"pg2\"}"), 401, "missing Authorization");
    assertError(http.send(HttpMethod.POST, "/api/v1/switchover", "wrong-token-but-long-enough", "{\"candidate\":\"pg2\"}"),
        401, "wrong token");
    assertError(http.post("/api/v1/switchover", "{bad json"), 400, "malformed JSON body near line 1, column 2");
    assertError(http.post("/api/v1/switchover", "[1, 2]"), 400, "the body must be a JSON object");
    assertError(http.post("/api/v1/switchover", "{\"candidate\": 5}"), 400, "candidate must be a string");
    assertError(http.post("/api/v1/switchover", "{}"), 400, "candidate (a target name) is required");
    assertError(http.post("/api/v1/maintenance", "{\"enabled\": \"yes\"}"), 400, "field enabled (true or false) is required");
    assertError(http.post("/api/v1/targets/pg2/drain", "{\"close_after\": \"soon\"}"), 400, "close_after");
    assertError(http.post("/api/v1/switchover", "{\"candidate\": \"pg9\"}"), 404, "unknown target pg9");
    assertError(http.post("/api/v1/targets/pg9/drain", null), 404, "unknown target pg9");
    assertError(http.get("/api/v1/nothing"), 404, "no such route");
    assertError(http.send(HttpMethod.DELETE, "/api/v1/cluster", null, null), 405, "DELETE is not allowed");
    assertError(http.send(HttpMethod.GET, "/api/v1/failover", null, null), 405, "GET is not allowed");
    assertError(http.post("/api/v1/switchover", "{\"candidate\": \"" + "x".repeat(70_000) + "\"}"), 413, "65536 bytes");
    assertError(http.post("/api/v1/switchover", "{\"candidate\": \"pg1\"}"), 409, "pg1 is already the primary");
    PgCluster.stop("pg3");
    try {
      h.await("pg3 down", t -> t.target("pg3").orElseThrow().state() == io.cutover.monitor.TargetState.DOWN);
      assertError(http.post("/api/v1/failover", "{\"candidate\": \"pg3\"}"), 409, "pg3 is down");
    } finally {
      PgCluster.start("pg3");
    }
    JsonArray audit = http.get("/api/v1/audit").bodyAsJsonObject().getJsonArray("audit");
    assertTrue(audit.size() >= 12, audit.encode());
    JsonObject first = audit.getJsonObject(audit.size() - 1);
    assertEquals("switchover", first.getString("action"), "newest first: the first call is last");
    assertEquals(401, first.getInteger("status"));
    assertFalse(audit.encode().contains(Harness.TOKEN), "the token never appears in the audit");
  }

  @Test
  void withoutATokenMutatingCallsAreForbidden() throws Exception {
    try (Harness noToken = Harness.start(Harness.clusterTargets()); Http plain = new Http(noToken.cutover.httpPort())) {
      assertError(plain.post("/api/v1/maintenance", "{\"enabled\": true}"), 403, "CUTOVER_ADMIN_TOKEN");
      assertEquals(200, plain.get("/api/v1/cluster").statusCode(), "reads need no token");
    }
  }

  @Test
  void maintenancePreventsAutomaticFailoverThenHealthAndMetricsFollowTheFailover() throws Exception {
    assertEquals(200, http.post("/api/v1/maintenance", "{\"enabled\": true, \"reason\": \"drill\"}").statusCode());
    assertTrue(http.get("/api/v1/cluster").bodyAsJsonObject().getJsonObject("maintenance").getBoolean("enabled"));
    PgCluster.run("kill", "pg1");
    Poll.until(Duration.ofSeconds(30), "failover refused by maintenance mode", () -> {
      try {
        return http.get("/api/v1/incidents").bodyAsString().contains("maintenance mode: automatic failover paused (drill)");
      } catch (Exception e) {
        return false;
      }
    });
    HttpResponse<Buffer> write = http.get("/health/write");
    assertEquals(503, write.statusCode());
    assertEquals("pg1 (last seen primary) is down; maintenance mode: no automatic failover (drill)",
        write.bodyAsJsonObject().getString("reason"), "the load balancer's check says why no promotion comes");
    assertTrue(write.bodyAsJsonObject().getBoolean("maintenance"));
    assertEquals(503, http.send(HttpMethod.HEAD, "/health/write", null, null).statusCode());
    for (String r : List.of("pg2", "pg3")) {
      assertEquals("t", Harness.oneShot(PgCluster.port(r), "select pg_is_in_recovery()"), r + " not promoted");
    }
    assertTrue(metric("cutover_failovers_total{kind=\"refused\"}") >= 1);
    assertEquals(0.0, metric("cutover_primary_routable"));
    assertEquals(1.0, metric("cutover_maintenance"));
    // no promotion can come: a new write session is refused at once with the reason, never held for connect_wait
    double refusedBefore = metric("cutover_sessions_refused_total{endpoint=\"write\"}");
    SQLException refused = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class, () -> h.write().close());
    assertEquals("57P03", refused.getSQLState());
    assertTrue(refused.getMessage().contains("maintenance mode: no automatic failover (drill)"), refused.getMessage());
    assertEquals(0.0, metric("cutover_sessions_held_total{endpoint=\"write\"}"), "not held");
    assertEquals(refusedBefore + 1, metric("cutover_sessions_refused_total{endpoint=\"write\"}"));

    assertEquals(200, http.post("/api/v1/maintenance", "{\"enabled\": false}").statusCode());
    assertEquals(0.0, metric("cutover_maintenance"));
    Poll.until(Duration.ofSeconds(30), "health/write back after the failover", () -> {
      try {
        return http.get("/health/write").statusCode() == 200;
      } catch (Exception e) {
        return false;
      }
    });
    Poll.until(Duration.ofSeconds(30), "failover counted", () -> metric("cutover_failovers_total{kind=\"failover\"}") == 1.0);
    assertEquals(1.0, metric("cutover_cutover_duration_seconds_count"));
    assertEquals(1.0, metric("cutover_primary_routable"));
    assertEquals(0.0, metric("cutover_target_up{role=\"primary\",target=\"pg1\"}"));
    String promoted = h.cutover.topology().primary();
    assertEquals(1.0, metric("cutover_target_up{role=\"primary\",target=\"" + promoted + "\"}"));
  }

  @Test
  void readHealthIsOkWhileReadsFallBackToThePrimary() throws Exception {
    for (String r : List.of("pg2", "pg3")) {
      assertEquals(200, http.post("/api/v1/targets/" + r + "/drain", null).statusCode());
    }
    h.await("no replica readable", t -> t.readable().isEmpty());
    assertEquals(String.valueOf(PgCluster.port("pg1")), Harness.oneShot(h.cutover.readPort(), "select inet_server_port()"),
        "reads fall back to the primary");
    HttpResponse<Buffer> read = http.get("/health/read");
    assertEquals(200, read.statusCode(), "the read endpoint serves reads: a load balancer must keep it");
    assertEquals("pg1", read.bodyAsJsonObject().getString("fallback"));
    assertTrue(read.bodyAsJsonObject().getString("reason").contains("pg2 is drained"), read.bodyAsString());
    HttpResponse<Buffer> replicasOnly = http.get("/health/read?replicas_only=true");
    assertEquals(503, replicasOnly.statusCode());
    assertTrue(replicasOnly.bodyAsJsonObject().getString("reason").contains("no replica is readable"), replicasOnly.bodyAsString());
    assertEquals(200, http.post("/api/v1/targets/pg3/enable", null).statusCode());
    h.await("pg3 readable", t -> t.readable().contains("pg3"));
    assertEquals(200, http.get("/health/read?replicas_only=true").statusCode());
    assertEquals(new JsonArray(List.of("pg3")), http.get("/health/read").bodyAsJsonObject().getJsonArray("readable"));
  }

  @Test
  void operatorFailoverPromotesTheRequestedCandidate() throws Exception {
    HttpResponse<Buffer> r = http.post("/api/v1/failover", "{\"candidate\": \"pg3\"}");
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertEquals("pg3", r.bodyAsJsonObject().getString("new_primary"));
    h.await("pg3 primary", t -> "pg3".equals(t.primary()));
    assertTrue(h.cutover.topology().target("pg1").orElseThrow().fenced());
    Poll.until(Duration.ofSeconds(30), "incident completed", () -> {
      try {
        return http.get("/api/v1/incidents").bodyAsString().contains("\"outcome\" : \"completed\"");
      } catch (Exception e) {
        return false;
      }
    });
    assertEquals(String.valueOf(PgCluster.port("pg3")), Harness.oneShot(h.cutover.writePort(), "select inet_server_port()"));
    assertError(http.post("/api/v1/failover", "{\"candidate\": \"pg1\"}"), 409, "pg1 is fenced");
  }

  @Test
  void drainStopsNewSessionsAndClosesTheRestAfterTheGracePeriod() throws Exception {
    int pg3 = PgCluster.port("pg3");
    Connection held = null;
    for (int i = 0; i < 4 && held == null; i++) {
      Connection c = h.read();
      if (Harness.one(c, "select inet_server_port()").equals(String.valueOf(pg3))) {
        held = c;
      } else {
        c.close();
      }
    }
    assertNotNull(held, "a session on pg3");
    try {
      assertEquals(200, http.post("/api/v1/targets/pg3/drain", "{\"close_after\": \"1s\"}").statusCode());
      h.await("pg3 drained", t -> t.target("pg3").orElseThrow().drained());
      for (int i = 0; i < 4; i++) {
        assertNotEquals(String.valueOf(pg3), Harness.oneShot(h.cutover.readPort(), "select inet_server_port()"));
      }
      Connection c = held;
      Poll.until(Duration.ofSeconds(10), "the drained session is closed", () -> {
        try {
          Harness.one(c, "select 1");
          return false;
        } catch (SQLException e) {
          return true;
        }
      });
      assertEquals(200, http.post("/api/v1/targets/pg3/enable", null).statusCode());
      h.await("pg3 readable again", t -> t.readable().contains("pg3"));
    } finally {
      held.close();
    }
  }

  @Test
  void metricsIncludeVertxAndCutoverSeries() throws Exception {
    assertEquals(200, http.get("/health/live").statusCode());
    Harness.oneShot(h.cutover.writePort(), "select 1");
    String text = http.get("/metrics").bodyAsString();
    for (String name : List.of("cutover_target_up", "cutover_target_last_up_timestamp_seconds", "cutover_replication_lag_bytes",
        "cutover_rto_target_seconds", "cutover_cutover_duration_seconds_bucket", "cutover_rto_breaches_total",
        "cutover_failovers_total", "cutover_client_sessions", "cutover_backend_connect_failures_total",
        "cutover_relayed_bytes_total", "vertx_http_server_", "vertx_net_server_", "jvm_memory_used_bytes")) {
      assertTrue(text.contains(name), name + " missing");
    }
  }

  /** Every route in the OpenAPI document exists on the real router, and every router route is documented. */
  @Test
  void openApiDocumentMatchesTheRouter() throws Exception {
    HttpResponse<Buffer> doc = http.get("/api/v1/openapi.yaml");
    assertEquals(200, doc.statusCode());
    Map<String, Object> api = new Yaml().load(doc.bodyAsString());
    @SuppressWarnings("unchecked")
    Map<String, Map<String, Object>> paths = (Map<String, Map<String, Object>>) api.get("paths");
    Set<String> documented = new HashSet<>();
    for (var e : paths.entrySet()) {
      for (String method : e.getValue().keySet()) {
        documented.add(method.toUpperCase() + " " + e.getKey());
        String path = e.getKey().replace("{name}", "pg2").replace("{id}", "1").replace("{file}", "app.js");
        String body = switch (path) {
          case "/api/v1/failover", "/api/v1/switchover" -> "{\"candidate\": 5}";
          case "/api/v1/maintenance" -> "{}";
          case "/api/v1/targets/pg2/drain" -> "{\"close_after\": 5}";
          default -> null;
        };
        // the event stream never ends: its HEAD answers the same status, headers only
        HttpMethod sent = path.equals("/api/v1/events") ? HttpMethod.HEAD : HttpMethod.valueOf(method.toUpperCase());
        // with the token, the shutdown would stop this Cutover: without it, the route still answers (401)
        HttpResponse<Buffer> r = http.send(sent, path, path.equals("/api/v1/shutdown") ? null : Harness.TOKEN, body);
        assertNotEquals(405, r.statusCode(), method + " " + path);
        assertFalse(r.statusCode() == 404 && r.bodyAsString().contains("no such route"), method + " " + path);
      }
    }
    var router = new AdminHttp(h.cutover.vertx(), new TopologyView(h.cutover.topology(), new RoutePolicy(true)),
        h.cutover.sessions(), PgCluster.targets(), null, new io.cutover.proxy.http.AuditLog(1), () -> true, "x", JsonObject::new).router();
    for (var route : router.getRoutes()) {
      if (route.getPath() == null || route.methods() == null) {
        continue; // a path's last route, refusing the methods it does not serve
      }
      // a prefix route ("/ui/*", the page's files) is documented as the prefix and a {file}
      String path = route.isExactPath() ? route.getPath().replace(":name", "{name}").replace(":id", "{id}")
          : route.getPath() + "{file}";
      for (HttpMethod m : route.methods()) {
        // every GET path serves HEAD (the document says so; it lists HEAD as an operation for the health checks only)
        boolean headOfGet = m == HttpMethod.HEAD && documented.contains("GET " + path);
        assertTrue(documented.contains(m.name() + " " + path) || headOfGet, m.name() + " " + path + " is not in openapi.yaml");
      }
    }
  }

  private double metric(String series) {
    try {
      for (String line : http.get("/metrics").bodyAsString().split("\n")) {
        if (line.startsWith(series + " ")) {
          return Double.parseDouble(line.substring(series.length() + 1).trim());
        }
      }
      return Double.NaN;
    } catch (Exception e) {
      return Double.NaN;
    }
  }
}
