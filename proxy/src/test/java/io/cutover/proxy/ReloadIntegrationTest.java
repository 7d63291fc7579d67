package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import io.cutover.monitor.Topology;
import io.cutover.proxy.config.ConfigLoader;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code POST /api/v1/reload} against an in-process Cutover over the real cluster: the configuration file is re-read
 * and applied without disturbing what it does not change.
 */
class ReloadIntegrationTest {

  static final String NEW_TOKEN = "another-token-9876543210";

  /** The file's text: the local listeners, the cluster's targets (less {@code without}), fast checks, the token. */
  static String yaml(String without, String token, String extra) {
    StringBuilder targets = new StringBuilder("targets:\n");
    for (var t : PgCluster.targets()) {
      if (!t.name().equals(without)) {
        targets.append("  - {name: ").append(t.name()).append(", host: 127.0.0.1, port: ").append(t.port()).append("}\n");
      }
    }
    return Harness.LOCAL_LISTENERS + targets + Harness.FAST_CHECKS + "failover: {failback_delay: 1s}\n"
        + "admin: {token: " + token + "}\n" + extra;
  }

  /** A Cutover started from {@code file}, as {@code Main} starts one, with reloads from the same file. */
  static final class Running implements AutoCloseable {
    final Cutover cutover;
    final Http http;

    Running(Path file) throws Exception {
      ConfigLoader.Result r = ConfigLoader.load(file, Map.of());
      assertTrue(r.ok(), r.messages().toString());
      cutover = Cutover.start(r.config()).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      cutover.reloader().source(file, Map.of(), false);
      http = new Http(cutover.httpPort());
    }

    Topology await(String what, Predicate<Topology> p) {
      Poll.until(Duration.ofSeconds(30), what + " (last: " + cutover.topology().summary() + ")",
          () -> p.test(cutover.topology()));
      return cutover.topology();
    }

    HttpResponse<Buffer> reload(String token, String body) throws Exception {
      return http.send(HttpMethod.POST, "/api/v1/reload", token, body);
    }

    /** An authorized, harmless mutating call: maintenance mode off. */
    int maintenanceOff(String token) throws Exception {
      return http.send(HttpMethod.POST, "/api/v1/maintenance", token, "{\"enabled\": false}").statusCode();
    }

    JsonObject newestAudit(String action) throws Exception {
      JsonArray audit = Http.json(http.get("/api/v1/audit?limit=20")).getJsonArray("audit");
      for (int i = 0; i < audit.size(); i++) {
        if (action.equals(audit.getJsonObject(i).getString("action"))) {
          return audit.getJsonObject(i);
        }
      }
      throw new AssertionError("no " + action + " in " + audit.encodePrettily());
    }

    @Override
    public void close() throws Exception {
      http.close();
      cutover.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static Running startOnCluster(Path file) throws Exception {
    PgCluster.ensureCanonical();
    Running c = new Running(file);
    c.await("pg1 primary, pg2 and pg3 readable",
        t -> "pg1".equals(t.primary()) && t.readable().contains("pg2") && t.readable().contains("pg3"));
    return c;
  }

  /** A read session on the replica listening on {@code port} (the read endpoint alternates between the replicas). */
  private static Connection readOn(Running c, int port, List<Connection> others) throws SQLException {
    for (int i = 0; i < 10; i++) {
      Connection conn = Harness.connect(c.cutover.readPort());
      if (Harness.one(conn, "select inet_server_port()").equals(String.valueOf(port))) {
        return conn;
      }
      others.add(conn);
    }
    throw new AssertionError("no read session reached port " + port);
  }

  @Test
  void removingPg3StopsReadsThereWhileAnEstablishedPg2SessionGoesOn(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("cutover.yaml"), yaml(null, Harness.TOKEN, ""));
    int pg2 = PgCluster.port("pg2");
    int pg3 = PgCluster.port("pg3");
    List<Connection> others = new ArrayList<>();
    try (Running c = startOnCluster(file);
         Connection onPg2 = readOn(c, pg2, others);
         Connection onPg3 = readOn(c, pg3, others)) {
      String pid = Harness.one(onPg2, "select pg_backend_pid()");
      long versionBefore = c.cutover.topology().version();

      Files.writeString(file, yaml("pg3", Harness.TOKEN, ""));
      long reloadedAt = System.nanoTime();
      HttpResponse<Buffer> r = c.reload(Harness.TOKEN, "{\"close_after\": \"5s\"}");
      assertEquals(200, r.statusCode(), r.bodyAsString());
      JsonObject body = Http.json(r);
      assertEquals("applied", body.getString("outcome"));
      assertEquals(new JsonArray().add("targets[pg3]"), body.getJsonArray("changed"));
      assertEquals(new JsonArray().add("pg3"), body.getJsonObject("targets").getJsonArray("removed"));
      assertEquals(5000L, body.getJsonObject("targets").getLong("close_after_ms"));
      assertEquals(new JsonArray(), body.getJsonArray("restart_needed"));
      assertTrue(body.getLong("version") > versionBefore, body.encode());

      Topology t = c.cutover.topology();
      assertTrue(t.target("pg3").isEmpty(), "pg3 is no longer a target: " + t.summary());
      assertEquals("pg1", t.primary(), "the primary is untouched");
      for (int i = 0; i < 6; i++) {
        assertEquals(String.valueOf(pg2), Harness.oneShot(c.cutover.readPort(), "select inet_server_port()"),
            "new reads go to pg2 only");
      }
      assertEquals(pid, Harness.one(onPg2, "select pg_backend_pid()"), "the pg2 session is the same backend");
      assertEquals(String.valueOf(pg3), Harness.one(onPg3, "select inet_server_port()"), "within the grace pg3's goes on");
      assertCancelReaches(onPg3, pg3);
      awaitClosed("pg3's session closed after the grace", onPg3);
      long closedAfterMs = (System.nanoTime() - reloadedAt) / 1_000_000;
      assertTrue(closedAfterMs >= 5000, "not before the grace: " + closedAfterMs + " ms");
      assertEquals(pid, Harness.one(onPg2, "select pg_backend_pid()"), "pg2's session outlives pg3's grace");
      assertEquals(String.valueOf(pg2), Harness.one(onPg2, "select inet_server_port()"));

      JsonObject audit = c.newestAudit("reload");
      assertEquals(200, audit.getInteger("status"));
      assertEquals("applied: changed targets[pg3]", audit.getString("outcome"));
      assertEquals("API", audit.getJsonObject("arguments").getString("trigger"));
      assertEquals(file.toString(), audit.getJsonObject("arguments").getString("file"));
      String metrics = c.http.get("/metrics").bodyAsString();
      assertTrue(metrics.contains("cutover_target_sessions{target=\"pg2\"}"), "pg2's meters stay");
      assertFalse(metrics.contains("target=\"pg3\""), "pg3's meters are gone");

      Files.writeString(file, yaml(null, Harness.TOKEN, ""));
      HttpResponse<Buffer> back = c.reload(Harness.TOKEN, null);
      assertEquals(200, back.statusCode(), back.bodyAsString());
      assertEquals(new JsonArray().add("pg3"), Http.json(back).getJsonObject("targets").getJsonArray("added"));
      c.await("pg3 back in the read pool", now -> now.readable().contains("pg3"));
      Poll.until(Duration.ofSeconds(30), "a new read session reaches pg3 again", () -> {
        try {
          return Harness.oneShot(c.cutover.readPort(), "select inet_server_port()").equals(String.valueOf(pg3));
        } catch (SQLException e) {
          return false;
        }
      });
      assertEquals(pid, Harness.one(onPg2, "select pg_backend_pid()"), "pg2's session is still the same backend");
      assertTrue(c.http.get("/metrics").bodyAsString().contains("cutover_target_sessions{target=\"pg3\"}"));
    } finally {
      for (Connection o : others) {
        o.close();
      }
    }
  }

  /** A query on {@code conn} (relayed to the server on {@code port}) is cancelled through Cutover's cancel forwarding. */
  private static void assertCancelReaches(Connection conn, int port) throws Exception {
    try (java.sql.Statement st = conn.createStatement()) {
      var sleeping = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
        try {
          st.execute("select pg_sleep(20)");
          return "not cancelled";
        } catch (SQLException e) {
          return e.getSQLState();
        }
      });
      Poll.until(Duration.ofSeconds(10), "the query runs on port " + port, () -> {
        try {
          return Harness.oneShot(port, "select count(*) from pg_stat_activity where query = 'select pg_sleep(20)'"
              + " and state = 'active'").equals("1");
        } catch (SQLException e) {
          return false;
        }
      });
      st.cancel();
      assertEquals("57014", sleeping.get(10, TimeUnit.SECONDS), "cancelled (query_canceled) by the forwarded cancel");
    }
  }

  @Test
  void anInvalidOrRefusedReloadChangesNothing(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("cutover.yaml"), yaml(null, Harness.TOKEN, ""));
    try (Running c = startOnCluster(file)) {
      Files.writeString(file, yaml(null, NEW_TOKEN, "frobnicate: 1\n").replace("fall: 3", "fall: 0"));
      HttpResponse<Buffer> r = c.reload(Harness.TOKEN, null);
      assertEquals(400, r.statusCode(), r.bodyAsString());
      JsonObject body = Http.json(r);
      assertEquals("bad request", body.getString("error"));
      assertTrue(body.getString("detail").contains("the running configuration stays"), body.encode());
      assertEquals(List.of("invalid configuration in " + file + ": checks.fall: must be between 1 and 1000 (got 0)",
          "invalid configuration in " + file + ": frobnicate: unknown key"),
          body.getJsonArray("problems").getList(), body.encode());
      assertEquals(200, c.maintenanceOff(Harness.TOKEN), "the old token still works");
      assertEquals(401, c.maintenanceOff(NEW_TOKEN));
      assertEquals(3, c.cutover.topology().targets().size());
      assertEquals(3, Http.json(c.http.get("/api/v1/cluster")).getJsonObject("checks").getInteger("fall"));
      JsonObject audit = c.newestAudit("reload");
      assertEquals(400, audit.getInteger("status"));
      assertTrue(audit.getString("outcome").startsWith("rejected: invalid configuration in " + file + ": checks.fall"),
          audit.encode());

      Files.writeString(file, yaml("pg1", Harness.TOKEN, ""));
      HttpResponse<Buffer> refused = c.reload(Harness.TOKEN, "{}");
      assertEquals(409, refused.statusCode(), refused.bodyAsString());
      JsonArray problems = Http.json(refused).getJsonArray("problems");
      assertEquals(1, problems.size(), problems.encode());
      assertTrue(problems.getString(0).startsWith("targets: pg1 is the primary of record: a reload cannot remove"),
          problems.encode());
      assertTrue(c.cutover.topology().target("pg1").isPresent());
      assertEquals("pg1", c.cutover.topology().primary());
      assertEquals(409, c.newestAudit("reload").getInteger("status"));

      assertEquals(400, c.reload(Harness.TOKEN, "{\"close_after\": \"soon\"}").statusCode());
      assertEquals(401, c.reload("wrong-token-0123456789", null).statusCode());
    }
  }

  @Test
  void aNewTokenAndFallApplyAtOnceAndARestartKeyIsNamed(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("cutover.yaml"), yaml(null, Harness.TOKEN, ""));
    try (Running c = startOnCluster(file)) {
      c.await("pg2 at full health 4", t -> t.target("pg2").orElseThrow().health() == 4);
      int httpPort = c.cutover.httpPort();
      Files.writeString(file, yaml(null, NEW_TOKEN, "proxy: {max_client_connections: 500}\n")
          .replace("fall: 3", "fall: 5").replace("http: '127.0.0.1:0'", "http: '127.0.0.1:1'"));
      HttpResponse<Buffer> r = c.reload(Harness.TOKEN, null);
      assertEquals(200, r.statusCode(), r.bodyAsString());
      JsonObject body = Http.json(r);
      assertEquals(new JsonArray().add("listeners.http").add("admin.token").add("checks.fall")
          .add("proxy.max_client_connections"), body.getJsonArray("changed"));
      assertEquals(new JsonArray().add("admin.token").add("checks.fall").add("proxy.max_client_connections"),
          body.getJsonArray("applied"));
      assertEquals(new JsonArray().add("listeners.http"), body.getJsonArray("restart_needed"));
      assertEquals("applied 3 changed key(s); these keys need a restart: listeners.http", body.getString("detail"));
      assertEquals(500, c.cutover.connections().max(), "proxy.max_client_connections applies to new connections");
      assertTrue(c.http.get("/metrics").bodyAsString().contains("cutover_client_connections_limit{endpoint=\"write\"} 500.0"));
      assertFalse(body.getJsonObject("targets").containsKey("close_after_ms") && body.getJsonObject("targets")
          .getValue("close_after_ms") != null, "no target leaves: no grace");

      assertEquals(401, c.maintenanceOff(Harness.TOKEN), "the old token is refused at once");
      assertEquals(200, c.maintenanceOff(NEW_TOKEN), "the new one works");
      assertEquals(httpPort, c.cutover.httpPort(), "listeners.http keeps its running value");
      assertEquals(5, Http.json(c.http.get("/api/v1/cluster")).getJsonObject("checks").getInteger("fall"));
      c.await("pg2's hysteresis re-scaled to fall 5: full health 6",
          t -> t.target("pg2").orElseThrow().health() == 6);
      JsonObject audit = c.newestAudit("reload");
      assertEquals("applied: changed listeners.http, admin.token, checks.fall, proxy.max_client_connections; these keys "
          + "need a restart: listeners.http", audit.getString("outcome"));

      HttpResponse<Buffer> again = c.reload(NEW_TOKEN, null);
      assertEquals(200, again.statusCode(), again.bodyAsString());
      assertEquals(new JsonArray().add("listeners.http"), Http.json(again).getJsonArray("changed"),
          "named again until a restart");
    }
  }

  @Test
  void aReaddressedTargetIsCheckedAtItsNewAddressAndItsOldSessionsEnd(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("cutover.yaml"), yaml(null, Harness.TOKEN, ""));
    int pg2 = PgCluster.port("pg2");
    int pg3 = PgCluster.port("pg3");
    int closed;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    List<Connection> others = new ArrayList<>();
    try (Running c = startOnCluster(file);
         Connection onPg2 = readOn(c, pg2, others);
         Connection onPg3 = readOn(c, pg3, others)) {
      String pid = Harness.one(onPg2, "select pg_backend_pid()");
      Files.writeString(file, yaml(null, Harness.TOKEN, "").replace("port: " + pg3 + "}", "port: " + closed + "}"));
      long reloadedAt = System.nanoTime();
      HttpResponse<Buffer> r = c.reload(Harness.TOKEN, "{\"close_after\": \"4s\"}");
      assertEquals(200, r.statusCode(), r.bodyAsString());
      assertEquals(new JsonArray().add("targets[pg3].port"), Http.json(r).getJsonArray("changed"));
      assertEquals(new JsonArray().add("pg3"), Http.json(r).getJsonObject("targets").getJsonArray("readdressed"));
      c.await("pg3 DOWN at its new address", t -> t.target("pg3").orElseThrow().target().port() == closed
          && t.target("pg3").orElseThrow().state() == io.cutover.monitor.TargetState.DOWN);
      assertFalse(c.cutover.topology().readable().contains("pg3"));
      assertEquals(String.valueOf(pg3), Harness.one(onPg3, "select inet_server_port()"),
          "pg3 DOWN at its new address does not end the session to its old one before the grace");
      for (int i = 0; i < 4; i++) {
        assertEquals(String.valueOf(pg2), Harness.oneShot(c.cutover.readPort(), "select inet_server_port()"));
      }
      awaitClosed("the session to pg3's old address closed", onPg3);
      long closedAfterMs = (System.nanoTime() - reloadedAt) / 1_000_000;
      assertTrue(closedAfterMs >= 4000, "not before the grace: " + closedAfterMs + " ms");
      assertEquals(pid, Harness.one(onPg2, "select pg_backend_pid()"), "pg2's session is untouched");
      assertEquals("pg1", c.cutover.topology().primary());
    } finally {
      for (Connection o : others) {
        o.close();
      }
    }
  }

  /** Waits until a query on {@code session} fails: Cutover closed it. */
  private static void awaitClosed(String what, java.sql.Connection session) {
    Poll.until(Duration.ofSeconds(30), what, () -> {
      try {
        Harness.one(session, "select 1");
        return false;
      } catch (SQLException e) {
        return true;
      }
    });
  }
}
