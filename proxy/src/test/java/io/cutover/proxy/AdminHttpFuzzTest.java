package io.cutover.proxy;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Seeded fuzzing of the HTTP API over raw sockets (any method, path and body bytes, as a client can send them):
 * 2,000 requests of random methods (HTTP's, WebDAV's, made up, lowercase), paths (known routes, unknown, encoded
 * dots, very long), bodies (JSON, malformed, binary, form, multipart) on any method, and tokens (right, wrong,
 * absent). Never a 5xx (but a health check's 503 for an endpoint that cannot serve), a 4xx always JSON with {@code error}, nothing of the implementation leaked, and the
 * process healthy afterwards. No PostgreSQL needed: the target is a closed port.
 */
class AdminHttpFuzzTest {

  private static final long SEED = 20261203L;
  private static final int REQUESTS = 2000;
  private static Harness h;

  @BeforeAll
  static void start() throws Exception {
    h = Harness.start("targets: [{name: pg1, host: 127.0.0.1, port: 1}]\npresence: {enabled: false}\n" + Harness.ADMIN);
  }

  @AfterAll
  static void stop() throws Exception {
    h.close();
  }

  private record Response(int status, String body) {
  }

  @Test
  void randomRequestsNeverGetA5xxAndEveryErrorIsJson() throws Exception {
    Random rnd = new Random(SEED);
    List<String> methods = List.of("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND",
        "MKCOL", "FOO", "get", "post", "Head");
    List<String> paths = List.of("/health/live", "/health/ready", "/health/write", "/health/read",
        "/health/read?replicas_only=true", "/health/nope", "/metrics", "/api/v1/cluster", "/api/v1/incidents",
        "/api/v1/incidents?limit=abc", "/api/v1/incidents?limit=-1", "/api/v1/incidents/1", "/api/v1/incidents/x",
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
      Response r = send(method, path, token, type, body);
      String what = i + ": " + method + " " + path + " (" + (body == null ? "no" : body.length + " bytes of") + " body, "
          + type + ") -> " + r.status() + " " + r.body();
      histogram.merge(r.status(), 1, Integer::sum);
      // a health check answers 503 when its endpoint cannot serve (no primary here): that is its answer, not an error
      boolean healthDown = r.status() == 503 && path.startsWith("/health/") && List.of("GET", "HEAD").contains(method);
      assertTrue(r.status() >= 200 && (r.status() < 500 || healthDown), "never a 5xx: " + what);
      assertFalse(r.body().contains("Exception") || r.body().contains(".java:"), "nothing leaked: " + what);
      if (r.status() >= 400 && !healthDown && !method.equalsIgnoreCase("HEAD")) {
        JsonObject json = new JsonObject(r.body());
        assertTrue(json.getString("error") != null, "a 4xx is JSON with error: " + what);
      }
    }
    System.out.println("admin API fuzz (seed " + SEED + ", " + REQUESTS + " requests): status histogram " + histogram);
    assertEquals(200, send("GET", "/health/live", null, null, null).status(), "healthy after the fuzz");
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

  /** One request on its own connection ({@code Connection: close}); the whole response, bounded by 10 s. */
  private static Response send(String method, String path, String token, String type, byte[] body) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", h.cutover.httpPort()), 5000);
      s.setSoTimeout(10_000);
      StringBuilder head = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\n")
          .append("Host: 127.0.0.1\r\nConnection: close\r\n");
      if (token != null) {
        head.append("Authorization: Bearer ").append(token).append("\r\n");
      }
      if (type != null) {
        head.append("Content-Type: ").append(type).append("\r\n");
      }
      if (body != null) {
        head.append("Content-Length: ").append(body.length).append("\r\n");
      }
      head.append("\r\n");
      OutputStream out = s.getOutputStream();
      out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      if (body != null) {
        out.write(body);
      }
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      for (int n; (n = in.read(buf)) > 0; ) {
        all.write(buf, 0, n);
        if (method.equalsIgnoreCase("HEAD") && all.toString(StandardCharsets.ISO_8859_1).contains("\r\n\r\n")) {
          break; // a HEAD response has no body; the connection may stay open
        }
      }
      String text = all.toString(StandardCharsets.UTF_8);
      if (!text.startsWith("HTTP/1.1 ")) {
        fail("no HTTP response to " + method + " " + path + ": [" + text + "]");
      }
      int status = Integer.parseInt(text.substring(9, 12));
      int split = text.indexOf("\r\n\r\n");
      return new Response(status, split < 0 ? "" : text.substring(split + 4));
    }
  }
}
