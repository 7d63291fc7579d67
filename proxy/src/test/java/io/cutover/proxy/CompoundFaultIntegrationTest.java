package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import io.cutover.monitor.TargetState;
import io.cutover.monitor.TargetStatus;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Faults that arrive together, against the real cluster: every node at once, a fault during the recovery from another. */
class CompoundFaultIntegrationTest {

  private Harness h;

  @BeforeEach
  void canonicalCluster() {
    PgCluster.ensureCanonical();
  }

  @AfterEach
  void stop() throws Exception {
    if (h != null) {
      h.close();
    }
    PgCluster.ensureStarted();
    PgCluster.run("start");
  }

  private JsonObject closedIncident() {
    JsonObject[] found = new JsonObject[1];
    Poll.until(Duration.ofSeconds(60), "a closed incident", () -> {
      for (Object o : h.incidents()) {
        JsonObject i = (JsonObject) o;
        if (!"open".equals(i.getString("outcome"))) {
          found[0] = i;
          return true;
        }
      }
      return false;
    });
    return found[0];
  }

  private static String inRecovery(String node) throws SQLException {
    return Harness.oneShot(PgCluster.port(node), "select pg_is_in_recovery()");
  }

  private static void insert(Harness h, int id) throws SQLException {
    try (Connection c = h.write(); Statement st = c.createStatement()) {
      st.execute("insert into compound_test values (" + id + ")");
    }
  }

  @Test
  void wholeClusterPowerLossEndsWithTheOldPrimaryLeadingNoPromotionAndNothingFenced() throws Exception {
    h = Harness.startOnCluster("failover: {rto: 30s, failback_delay: 1s}\n");
    try (Connection c = h.write(); Statement st = c.createStatement()) {
      st.execute("drop table if exists compound_test; create table compound_test(id int primary key)");
    }
    insert(h, 1);

    PgCluster.run("crash");
    h.await("every node DOWN", t -> t.targets().stream().allMatch(s -> s.state() == TargetState.DOWN));
    Poll.until(Duration.ofSeconds(30), "a refused failover while everything is down", () ->
        h.cutover.topology().targets().stream().noneMatch(TargetStatus::fenced)
            && h.incidents().encode().contains("no replica qualifies"));

    // power back: pg1 first, then the replicas
    PgCluster.start("pg1");
    PgCluster.start("pg2");
    PgCluster.start("pg3");
    h.await("pg1 primary again", t -> "pg1".equals(t.primary()));
    insert(h, 2);
    try (Connection c = h.write()) {
      assertEquals(String.valueOf(PgCluster.port("pg1")), Harness.one(c, "select inet_server_port()"));
    }
    JsonObject incident = closedIncident();
    assertEquals("recovered", incident.getString("outcome"), incident.encodePrettily());
    assertTrue(incident.getJsonArray("notes").encode().contains("recovered without failover"), incident.encodePrettily());
    // the nodes stop one after another: a replica still answering when pg1 is declared DOWN may be tried, but
    // every such attempt fails (it is going down too) and nothing is promoted
    incident.getJsonArray("attempts").forEach(a ->
        assertTrue(((JsonObject) a).getString("result").startsWith("failed"), incident.encodePrettily()));
    assertEquals(null, incident.getJsonObject("timeline").getString("promoted"), incident.encodePrettily());
    h.await("both replicas readable again", t -> t.readable().contains("pg2") && t.readable().contains("pg3"));
    assertEquals("t", inRecovery("pg2"), "pg2 was not promoted");
    assertEquals("t", inRecovery("pg3"), "pg3 was not promoted");
    assertTrue(h.cutover.topology().targets().stream().noneMatch(TargetStatus::fenced), h.cutover.topology().summary());
  }

  @Test
  void aNewPrimaryKilledDuringItsPromotionIsFailedOverAgain(@TempDir Path dir) throws Exception {
    // on_fence runs once the decision is recorded, as the promotion starts: the first time, it kills the
    // candidate, so the promotion fails or the new primary dies before or while its first write is probed
    Path marker = dir.resolve("killed-once");
    String kill = "[ -e " + marker + " ] || { touch " + marker + "; " + PgCluster.projectRoot().resolve("scripts/pg-cluster")
        + " kill {new_name}; }";
    h = Harness.startOnCluster("failover: {rto: 30s, failback_delay: 1s, promote_timeout: 5s, hooks: {on_fence: '"
        + kill + "'}}\n");
    try (Connection c = h.write(); Statement st = c.createStatement()) {
      st.execute("drop table if exists compound_test; create table compound_test(id int primary key)");
    }
    insert(h, 1);
    for (String replica : new String[] {"pg2", "pg3"}) {
      Poll.until(Duration.ofSeconds(30), replica + " has the first row", () -> {
        try {
          return "1".equals(Harness.oneShot(PgCluster.port(replica), "select count(*) from compound_test"));
        } catch (SQLException e) {
          return false;
        }
      });
    }

    PgCluster.run("kill", "pg1");
    h.await("a replica promoted after the second fault", t -> t.primary() != null && !t.primary().equals("pg1")
        && java.nio.file.Files.exists(marker) && t.targets().stream().filter(s -> s.state() == TargetState.DOWN).count() == 2);
    String survivor = h.cutover.topology().primary();
    JsonArray attempts = new JsonArray();
    Poll.until(Duration.ofSeconds(60), "the incident of the promotion of " + survivor + " completed", () -> {
      JsonArray all = h.incidents();
      JsonObject last = all.isEmpty() ? null : all.getJsonObject(all.size() - 1);
      attempts.clear();
      all.forEach(o -> ((JsonObject) o).getJsonArray("attempts").forEach(attempts::add));
      return last != null && "completed".equals(last.getString("outcome")) && survivor.equals(last.getString("new_primary"));
    });
    assertEquals(2, attempts.size(), attempts.encodePrettily());
    String first = attempts.getJsonObject(0).getString("candidate");
    assertTrue(!first.equals(survivor) && !first.equals("pg1"), attempts.encodePrettily());
    assertEquals(survivor, attempts.getJsonObject(1).getString("candidate"), attempts.encodePrettily());
    insert(h, 2);
    try (Connection c = h.write()) {
      assertEquals(String.valueOf(PgCluster.port(survivor)), Harness.one(c, "select inet_server_port()"));
      assertEquals("2", Harness.one(c, "select count(*) from compound_test"), "the write before the faults survived");
    }
  }

  @Test
  void aPromotionThatHangsIsGivenUpAtItsDeadlineAndAnotherCandidateIsPromoted() throws Exception {
    String root = PgCluster.run("env").lines().filter(l -> l.startsWith("CUTOVER_PG_ROOT="))
        .map(l -> l.substring("CUTOVER_PG_ROOT=".length())).findFirst().orElseThrow();
    // on_fence runs once the decision is recorded, as the promotion starts (once per incident): it freezes the
    // candidate's postmaster and every server process, so pg_promote() never answers
    String freeze = "pid=$(head -1 " + root + "/{new_name}/postmaster.pid); kill -STOP $pid $(pgrep -P $pid)";
    h = Harness.startOnCluster("failover: {rto: 30s, failback_delay: 1s, promote_timeout: 2s, hooks: {on_fence: '"
        + freeze + "'}}\n");
    try {
      PgCluster.run("kill", "pg1");
      JsonObject incident = closedIncident();
      assertEquals("completed", incident.getString("outcome"), incident.encodePrettily());
      JsonArray attempts = incident.getJsonArray("attempts");
      assertEquals(2, attempts.size(), incident.encodePrettily());
      String hung = attempts.getJsonObject(0).getString("candidate");
      String survivor = attempts.getJsonObject(1).getString("candidate");
      assertTrue(!hung.equals(survivor) && !hung.equals("pg1") && !survivor.equals("pg1"), incident.encodePrettily());
      // frozen before pg_promote() finished: given up at promote_timeout (2 s); frozen just after it: lost at once
      String first = attempts.getJsonObject(0).getString("result");
      assertTrue(first.contains("promote_timeout") || first.equals("promoted, then lost"), incident.encodePrettily());
      assertEquals("promoted", attempts.getJsonObject(1).getString("result"), incident.encodePrettily());
      assertEquals(survivor, h.cutover.topology().primary());
      try (Connection c = h.write()) {
        assertEquals(String.valueOf(PgCluster.port(survivor)), Harness.one(c, "select inet_server_port()"));
      }
      // the frozen candidate wakes up and may finish the promotion it was asked for: it never takes the writes
      Pids.signal("CONT", Pids.postmasterTree(PgCluster.projectRoot(), hung));
      h.await(hung + " answers again", t -> t.target(hung).orElseThrow().state() == TargetState.UP);
      assertEquals(survivor, h.cutover.topology().primary());
      TargetStatus woken = h.cutover.topology().target(hung).orElseThrow();
      assertTrue(woken.role() != io.cutover.monitor.Role.PRIMARY || woken.fenced(), woken.toJson().encode());
    } finally {
      for (String n : new String[] {"pg2", "pg3"}) {
        try {
          Pids.signal("CONT", Pids.postmasterTree(PgCluster.projectRoot(), n));
        } catch (java.io.IOException | RuntimeException e) {
          // not running
        }
      }
    }
  }
}
