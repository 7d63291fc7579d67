package io.cutover.proxy;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Request bodies the admin API cannot use are a JSON 400 that says where the JSON breaks or what was sent,
 * without the parser's internals. Over real HTTP; the target is a closed port (no PostgreSQL needed: a
 * body is refused before the monitor is asked).
 */
class AdminHttpBodyTest {

  private static Harness h;
  private static Http http;

  @BeforeAll
  static void start() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    h = Harness.start("targets:\n  - {name: pg1, host: 127.0.0.1, port: " + closedPort + "}\n"
        + "  - {name: pg2, host: 127.0.0.1, port: " + closedPort + "}\n" + Harness.ADMIN);
    http = new Http(h.cutover.httpPort());
  }

  @AfterAll
  static void stop() throws Exception {
    http.close();
    h.close();
  }

  /** The answer is {"error": "bad request", "detail": detail} and names no parser internals. */
  private static void assertBadBody(HttpResponse<Buffer> r, String detail) {
    assertEquals(400, r.statusCode(), r.bodyAsString());
    assertEquals("application/json", r.getHeader("Content-Type"));
    JsonObject body = r.bodyAsJsonObject();
    assertEquals(new JsonObject().put("error", "bad request").put("detail", detail), body);
    for (String internal : new String[] {"jackson", "Exception", "Source", "REDACTED", "code 98", "Failed to decode", "Json"}) {
      assertFalse(r.bodyAsString().contains(internal), internal + " in " + r.bodyAsString());
    }
  }

  @Test
  void malformedJsonSaysWhereItBreaks() throws Exception {
    assertBadBody(http.post("/api/v1/switchover", "{bad json"), "malformed JSON body near line 1, column 2");
    assertBadBody(http.post("/api/v1/maintenance", "{\n  \"enabled\": true,\n  \"reason\": nope\n}"),
        "malformed JSON body near line 3, column 17");
    assertBadBody(http.post("/api/v1/switchover", "{\"candidate\": \"pg2\""), "malformed JSON body: it ends early (line 1, column 20)");
    assertBadBody(http.post("/api/v1/targets/pg2/drain", "{\"close_after\": 30s}"), "malformed JSON body near line 1, column 19");
  }

  @Test
  void aBodyThatIsNotAnObjectSaysWhatItIs() throws Exception {
    assertBadBody(http.post("/api/v1/switchover", "[1, 2]"), "the body must be a JSON object, not an array");
    assertBadBody(http.post("/api/v1/failover", "\"pg2\""), "the body must be a JSON object, not a string");
    assertBadBody(http.post("/api/v1/targets/pg2/enable", "42"), "the body must be a JSON object, not a number");
    assertBadBody(http.post("/api/v1/maintenance", "null"), "the body must be a JSON object, not null");
  }

  @Test
  void theAuditRecordsTheRefusal() throws Exception {
    http.post("/api/v1/switchover", "{oops");
    JsonArray audit = http.get("/api/v1/audit").bodyAsJsonObject().getJsonArray("audit");
    JsonObject last = audit.getJsonObject(audit.size() - 1);
    assertEquals(400, last.getInteger("status"), audit.encode());
    assertTrue(last.getString("outcome").startsWith("refused: malformed JSON body near line 1"), audit.encode());
  }
}
