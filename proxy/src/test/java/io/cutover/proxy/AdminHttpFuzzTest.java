package io.cutover.proxy;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seeded fuzzing of the HTTP API over raw sockets (any method, path and body bytes, as a client can send them):
 * 2,000 requests of random methods (HTTP's, WebDAV's, made up, lowercase), paths (known routes, unknown, encoded
 * dots, malformed escapes, very long), bodies (JSON, malformed, binary, form, multipart) on any method, and tokens
 * (right, wrong, absent). Never a 5xx but a health check's 503 for an endpoint that cannot serve and a 501 for a
 * method HTTP does not define; a 4xx or 501 always JSON with {@code error}; every 405 and 501 with an {@code Allow}
 * that does not list the refused method; a {@code HEAD} answered without a body and with the status the same
 * {@code GET} gets; nothing of the implementation leaked, and the process healthy afterwards. Requests HTTP's decoder
 * rejects before any route get the JSON error too. No PostgreSQL needed: the target is a closed port.
 */
class AdminHttpFuzzTest {

  private static final long SEED = 20261203L;
  private static final int REQUESTS = 2000;
  /** The methods HTTP defines (RFC 9110, and PATCH). */
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

  @Test
  void randomRequestsNeverGetA5xxAndEveryErrorIsJson() throws Exception {
    Random rnd = new Random(SEED);
    List<String> methods = List.of("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
        "PROPFIND", "MKCOL", "FOO", "get", "post", "Head");
    List<String> paths = List.of("/health/live", "/health/ready", "/health/write", "/health/read",
        "/health/read?replicas_only=true", "/health/read?replicas_only=%zz", "/health/nope", "/metrics",
        "/api/v1/cluster", "/api/v1/incidents", "/api/v1/incidents?limit=abc", "/api/v1/incidents?limit=-1",
        "/api/v1/incidents?limit=%", "/api/v1/incidents/1", "/api/v1/incidents/x",
        "/api/v1/audit?limit=5", "/api/v1/openapi.yaml", "/api/v1/failover", "/api/v1/switchover",
        "/api/v1/maintenance", "/api/v1/targets/pg1/drain", "/api/v1/targets/pg9/enable", "/api/v1/targets//drain",
        "/api/v1/%2e%2e/%2e%2e/etc/passwd", "/%00", "/api/v1/targets/%ff/drain", "//api//v1", "/api/v1/cluster/",
        "/" + "a".repeat(3000), "/api/v1/targets/" + "x".repeat(1000) + "/drain");
    Map<Integer, Integer> histogram = new TreeMap<>();
    for (int i = 0; i < REQUESTS; i++) {
      String method = methods.get(rnd.nextInt(methods.size()));
      String path = paths.get(rnd.nextInt(paths.size()));
      byte[] body = body(rnd);
      String token = switch (rnd.nextInt(3)) {
        case 0 -> null;
        case 1 -> Harness.TOKEN;
        default -> "wrong-" + rnd.nextInt(1000);
      };
      String type = switch (rnd.nextInt(4)) {
        case 0 -> "application/json";
        case 1 -> "application/x-www-form-urlencoded";
        case 2 -> "multipart/form-data; boundary=xyz";
        default -> null;
      };
      RawHttp.Response r = RawHttp.send(h.cutover.httpPort(), method, path, token, type, body);
      String what = i + ": " + method + " " + path + " (" + (body == null ? "no" : body.length + " bytes of") + " body, "
          + type + ") -> " + r.status() + " " + r.headers() + " " + r.body();
      histogram.merge(r.status(), 1, Integer::sum);
      // a health check answers 503 when its endpoint cannot serve (no primary here): that is its answer, not an error
      boolean healthDown = r.status() == 503 && path.startsWith("/health/") && List.of("GET", "HEAD").contains(method);
      // 501: a method HTTP does not define (method names are case-sensitive: get and Head are not GET and HEAD)
      boolean undefined = r.status() == 501 && !DEFINED.contains(method);
      assertTrue(r.status() >= 200 && (r.status() < 500 || healthDown || undefined), "never a 5xx: " + what);
      assertFalse(r.body().contains("Exception") || r.body().contains(".java:"), "nothing leaked: " + what);
      if (r.status() == 405 || r.status() == 501) {
        String allow = r.header("Allow");
        assertTrue(allow != null && allow.matches("[A-Z]+(, [A-Z]+)*"), "Allow on a " + r.status() + ": " + what);
        assertFalse(List.of(allow.split(", ")).contains(method), "Allow does not list the refused method: " + what);
      }
      if (method.equals("HEAD")) {
        assertEquals("", r.body(), "no body after a HEAD: " + what);
        RawHttp.Response get = RawHttp.send(h.cutover.httpPort(), "GET", path, token, type, body);
        assertEquals(get.status(), r.status(), "HEAD has the status GET has: " + what + "; GET: " + get.body());
      } else if (r.status() >= 400 && !healthDown) {
        JsonObject json = new JsonObject(r.body());
        assertTrue(json.getString("error") != null, "a 4xx or 501 is JSON with error: " + what);
      }
    }
    System.out.println("admin API fuzz (seed " + SEED + ", " + REQUESTS + " requests): status histogram " + histogram);
    assertEquals(200, RawHttp.send(h.cutover.httpPort(), "GET", "/health/live").status(), "healthy after the fuzz");
  }

  /**
   * Requests HTTP's decoder rejects before any route (a request line over 4,096 bytes, headers over 8 KiB, a bad or
   * ambiguous Content-Length, a header line without a colon): the status Vert.x answers, now with the JSON error.
   */
  @Test
  void requestsTheDecoderRejectsAreAJson4xx() throws Exception {
    Map<String, Integer> requests = new java.util.LinkedHashMap<>();
    requests.put("GET /" + "a".repeat(5000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414);
    requests.put("GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(9000) + "\r\n\r\n", 431);
    requests.put("GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", 400);
    requests.put("GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400);
    requests.put("GET /health/live HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400);
    for (var e : requests.entrySet()) {
      String what = e.getKey().substring(0, Math.min(60, e.getKey().length())).replace("\r\n", "|");
      // read to the end: the server closes the connection after the answer
      RawHttp.Response r = RawHttp.exchange(h.cutover.httpPort(), e.getKey().getBytes(StandardCharsets.ISO_8859_1), what);
      assertEquals(e.getValue(), r.status(), what + ": " + r.body());
      assertEquals("application/json", r.header("Content-Type"), what);
      JsonObject json = new JsonObject(r.body());
      assertTrue(json.getString("error") != null && json.getString("detail") != null, what + ": " + r.body());
    }
    assertEquals(200, RawHttp.send(h.cutover.httpPort(), "GET", "/health/live").status(), "healthy after");
  }

  private static byte[] body(Random rnd) {
    return switch (rnd.nextInt(6)) {
      case 0 -> null;
      case 1 -> "{\"enabled\": true, \"candidate\": \"pg1\", \"close_after\": \"1s\"}".getBytes(StandardCharsets.UTF_8);
      case 2 -> "{bad json".getBytes(StandardCharsets.UTF_8);
      case 3 -> "a=1&b=2".getBytes(StandardCharsets.UTF_8);
      case 4 -> {
        byte[] b = new byte[rnd.nextInt(4096)];
        rnd.nextBytes(b);
        yield b;
      }
      default -> "[1, 2, 3]".getBytes(StandardCharsets.UTF_8);
    };
  }
}
