package io.cutover.proxy;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the HTTP API answers by method, over raw sockets: a method HTTP defines that a known path does not serve is a
 * JSON 405 with {@code Allow} listing the path's methods; a method HTTP does not define (case-sensitive) on a known
 * path a JSON 501 with the same {@code Allow}; an unknown path 404 for any method; {@code HEAD} the status
 * {@code GET} gets, without a body. No PostgreSQL needed: the only target is a closed port, so a health check of the
 * write or read endpoint answers 503.
 */
class AdminHttpMethodsTest {

  /** Every path the API serves (path parameters filled in) and its {@code Allow}. */
  private static final Map<String, String> ALLOW = new LinkedHashMap<>();

  static {
    for (String read : List.of("/", "/ui/app.js", "/health/live", "/health/ready", "/health/write", "/health/read", "/api/v1/cluster",
        "/api/v1/incidents", "/api/v1/incidents/1", "/api/v1/audit", "/api/v1/events", "/api/v1/openapi.yaml", "/metrics")) {
      ALLOW.put(read, "GET, HEAD");
    }
    for (String write : List.of("/api/v1/failover", "/api/v1/switchover", "/api/v1/maintenance",
        "/api/v1/targets/pg1/drain", "/api/v1/targets/pg1/enable", "/api/v1/shutdown")) {
      ALLOW.put(write, "POST");
    }
  }

  private static final List<String> DEFINED = List.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
      "TRACE", "PATCH");

  private static Harness h;

  @BeforeAll
  static void start() throws Exception {
    h = Harness.start("targets: [{name: pg1, host: 127.0.0.1, port: 1}]\npresence: {enabled: false}\n" + Harness.ADMIN);
    // ready from here on: a HEAD and the GET after it see the same readiness
    h.await("a topology known", t -> t.version() > 0);
  }

  @AfterAll
  static void stop() throws Exception {
    h.close();
  }

  private static RawHttp.Response send(String method, String path) throws Exception {
    return RawHttp.send(h.cutover.httpPort(), method, path);
  }

  private static JsonObject jsonError(RawHttp.Response r, int status, String what) {
    assertEquals(status, r.status(), what + ": " + r.body());
    assertEquals("application/json", r.header("Content-Type"), what);
    JsonObject body = new JsonObject(r.body());
    assertTrue(body.getString("error") != null && body.getString("detail") != null, what + ": " + r.body());
    return body;
  }

  @Test
  void aDefinedMethodAPathDoesNotServeIs405WithThePathsAllow() throws Exception {
    int refused = 0;
    for (var e : ALLOW.entrySet()) {
      List<String> allowed = List.of(e.getValue().split(", "));
      for (String method : DEFINED) {
        if (allowed.contains(method)) {
          continue;
        }
        RawHttp.Response r = send(method, e.getKey());
        String what = method + " " + e.getKey();
        assertEquals(405, r.status(), what + ": " + r.body());
        assertEquals(e.getValue(), r.header("Allow"), what);
        if (method.equals("HEAD")) {
          assertEquals("", r.body(), what + " has no body");
        } else {
          JsonObject body = jsonError(r, 405, what);
          assertEquals("method not allowed", body.getString("error"));
          assertEquals(method + " is not allowed on " + e.getKey() + " (Allow: " + e.getValue() + ")",
              body.getString("detail"));
        }
        refused++;
      }
    }
    assertEquals(13 * 7 + 6 * 8, refused, "every defined method but the path's own, on every path");
  }

  @Test
  void optionsIsAnswered405WithAllow() throws Exception {
    RawHttp.Response r = send("OPTIONS", "/api/v1/targets/pg1/drain");
    jsonError(r, 405, "OPTIONS");
    assertEquals("POST", r.header("Allow"));
    assertNull(r.header("Access-Control-Allow-Origin"), "no CORS");
  }

  @Test
  void aMethodHttpDoesNotDefineIs501OnAKnownPathAnd404Elsewhere() throws Exception {
    for (String method : List.of("FOO", "PROPFIND", "MKCOL", "get", "Head", "post")) {
      for (var e : ALLOW.entrySet()) {
        RawHttp.Response r = send(method, e.getKey());
        JsonObject body = jsonError(r, 501, method + " " + e.getKey());
        assertEquals("not implemented", body.getString("error"));
        assertTrue(body.getString("detail").startsWith(method + " is not a method HTTP defines"), body.encode());
        assertEquals(e.getValue(), r.header("Allow"), method + " " + e.getKey());
      }
      for (String unknown : List.of("/nothing", "/health/nope", "/api/v1/incidents/1/more")) {
        RawHttp.Response r = send(method, unknown);
        assertEquals("not found", jsonError(r, 404, method + " " + unknown).getString("error"));
        assertNull(r.header("Allow"), "an unknown path has no Allow");
      }
    }
  }

  @Test
  void headGetsTheStatusGetGetsWithoutABody() throws Exception {
    List<String> paths = new ArrayList<>(documentedGetPaths());
    // every status a GET can have here: 503 (no primary, no replica), 400 (bad query or id), 404, 405
    paths.addAll(List.of("/health/read?replicas_only=true", "/health/read?replicas_only=%zz", "/health/nope",
        "/api/v1/incidents?limit=0", "/api/v1/incidents/x", "/api/v1/incidents/999", "/api/v1/failover", "/nothing", "/ui/app.js", "/ui/missing.js"));
    Map<String, Integer> statuses = new LinkedHashMap<>();
    for (String path : paths) {
      if (path.equals("/api/v1/events")) {
        // the event stream never ends, so its GET is not read to the end here (EventStreamIntegrationTest reads it)
        RawHttp.Response head = send("HEAD", path);
        assertEquals(200, head.status());
        assertEquals("text/event-stream; charset=utf-8", head.header("Content-Type"));
        assertEquals("", head.body());
        continue;
      }
      RawHttp.Response get = send("GET", path);
      RawHttp.Response head = send("HEAD", path);
      assertEquals(get.status(), head.status(), "HEAD " + path);
      assertEquals(get.header("Content-Type"), head.header("Content-Type"), "HEAD " + path);
      assertEquals(get.header("Allow"), head.header("Allow"), "HEAD " + path);
      assertFalse(get.body().isEmpty(), "GET " + path + " has a body");
      assertEquals("", head.body(), "HEAD " + path + " has none");
      statuses.put(path, get.status());
    }
    System.out.println("GET and HEAD statuses: " + statuses);
    assertEquals(200, statuses.get("/health/live"));
    assertEquals(200, statuses.get("/api/v1/cluster"));
    assertEquals(200, statuses.get("/"));
    assertEquals(200, statuses.get("/ui/app.js"));
    assertEquals(404, statuses.get("/ui/missing.js"));
    assertEquals(200, statuses.get("/metrics"));
    assertEquals(503, statuses.get("/health/write"));
    assertEquals(503, statuses.get("/health/read?replicas_only=true"));
    assertEquals(400, statuses.get("/health/read?replicas_only=%zz"), "a malformed escape is the client's");
    assertEquals(400, statuses.get("/api/v1/incidents?limit=0"));
    assertEquals(404, statuses.get("/health/nope"));
    assertEquals(404, statuses.get("/api/v1/incidents/999"));
    assertEquals(405, statuses.get("/api/v1/failover"));
  }

  /** The GET paths of the served OpenAPI document, path parameters filled in. */
  private static List<String> documentedGetPaths() throws Exception {
    Map<String, Object> api = new Yaml().load(send("GET", "/api/v1/openapi.yaml").body());
    @SuppressWarnings("unchecked")
    Map<String, Map<String, Object>> paths = (Map<String, Map<String, Object>>) api.get("paths");
    List<String> out = new ArrayList<>();
    paths.forEach((path, operations) -> {
      if (operations.containsKey("get")) {
        out.add(path.replace("{id}", "1").replace("{name}", "pg1").replace("{file}", "app.js"));
      }
    });
    assertEquals(13, out.size(), "the documented GET paths: " + out);
    return out;
  }
}
