package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import io.cutover.monitor.TargetState;
import io.cutover.monitor.TargetStatus;
import io.cutover.monitor.Topology;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Failover, fencing, the lag guard, flapping, switchover and hooks against the real cluster. */
class FailoverIntegrationTest {

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
  }

  private JsonArray incidents() {
    return h.incidents();
  }

  private JsonObject awaitIncident(String outcome) {
    JsonObject[] found = new JsonObject[1];
    Poll.until(Duration.ofSeconds(30), "an incident with outcome " + outcome, () -> {
      try {
        for (Object o : incidents()) {
          JsonObject i = (JsonObject) o;
          if (outcome.equals(i.getString("outcome"))) {
            found[0] = i;
            return true;
          }
        }
        return false;
      } catch (Exception e) {
        return false;
      }
    });
    return found[0];
  }

  @Test
  void killingThePrimaryPromotesTheBestReplicaFencesTheOldOneAndRunsHooks(@TempDir Path dir) throws Exception {
    Path hookLog = dir.resolve("hooks.log");
    h = Harness.startOnCluster("failover: {rto: 10s, failback_delay: 1s, hooks: {"
        + "on_failover: 'echo {event} {old_name} {new_name} {new_port} $CUTOVER_NEW_NAME >> " + hookLog + "', "
        + "on_fence: 'echo {event} {old_name} {old_port} >> " + hookLog + "'}}\n");
    Harness.execute(h.cutover.writePort(), "drop table if exists failover_test; create table failover_test(id int primary key)");
    Harness.execute(h.cutover.writePort(), "insert into failover_test values (1)");

    PgCluster.run("kill", "pg1");
    Topology t = h.await("a replica promoted", x -> x.primary() != null && !x.primary().equals("pg1"));
    String promoted = t.primary();
    String other = promoted.equals("pg2") ? "pg3" : "pg2";
    assertTrue(t.target("pg1").orElseThrow().fenced());

    try (Connection c = h.write()) {
      assertEquals(String.valueOf(PgCluster.port(promoted)), Harness.one(c, "select inet_server_port()"));
      assertEquals("f", Harness.one(c, "select pg_is_in_recovery()"));
      try (Statement st = c.createStatement()) {
        st.execute("insert into failover_test values (2)");
      }
    }
    Poll.until(Duration.ofSeconds(30), other + " replicates from the new primary", () -> {
      try {
        return "2".equals(Harness.oneShot(PgCluster.port(other), "select count(*) from failover_test"));
      } catch (SQLException e) {
        return false;
      }
    });

    JsonObject incident = awaitIncident("completed");
    assertEquals("pg1", incident.getString("old_primary"));
    assertEquals(promoted, incident.getString("new_primary"));
    assertEquals("met", incident.getString("rto_verdict"), incident.encodePrettily());
    assertTrue(incident.getLong("duration_ms") < 10_000);
    assertEquals(0L, incident.getLong("rpo_bytes"));
    for (String step : List.of("last_healthy", "first_failed_check", "down_declared", "candidate_chosen", "promoted",
        "first_write_accepted")) {
      assertTrue(incident.getJsonObject("timeline").getString(step) != null, step + " in " + incident.encode());
    }

    Poll.until(Duration.ofSeconds(30), "hooks ran", () -> {
      try {
        String log = Files.exists(hookLog) ? Files.readString(hookLog) : "";
        return log.contains("on_failover pg1 " + promoted + " " + PgCluster.port(promoted) + " " + promoted)
            && log.contains("on_fence pg1 " + PgCluster.port("pg1"));
      } catch (IOException e) {
        return false;
      }
    });

    // split brain: the old primary restarts, still a primary on the old timeline; it stays fenced
    PgCluster.start("pg1");
    h.await("pg1 up again, fenced", x -> {
      TargetStatus pg1 = x.target("pg1").orElseThrow();
      return pg1.state() == TargetState.UP && pg1.fenced() && !pg1.readable();
    });
    assertEquals(promoted, h.cutover.topology().primary());
    for (int i = 0; i < 5; i++) {
      assertEquals(String.valueOf(PgCluster.port(promoted)),
          Harness.oneShot(h.cutover.writePort(), "select inet_server_port()"), "never routed to the fenced node");
      assertNotEquals(String.valueOf(PgCluster.port("pg1")),
          Harness.oneShot(h.cutover.readPort(), "select inet_server_port()"));
    }

    // rejoin turns it into a replica of the new primary: unfenced, back in the read pool after failback_delay
    PgCluster.run("rejoin", "pg1");
    h.await("pg1 rejoined and readable", x -> !x.target("pg1").orElseThrow().fenced() && x.readable().contains("pg1"));
  }

  @Test
  void sessionsToTheOldPrimaryAreClosedWhenItIsFenced() throws Exception {
    h = Harness.startOnCluster("failover: {failback_delay: 1s}\n");
    try (Connection c = h.write()) {
      Harness.one(c, "select 1");
      assertEquals(1, h.cutover.sessions().sessions("pg1"));
      // freeze pg1 (no refused connections: only checks decide), then let the monitor fail it over
      List<Long> pids = Pids.postmasterTree(PgCluster.projectRoot(), "pg1");
      Pids.signal("STOP", pids);
      try {
        h.await("pg1 fenced", x -> x.target("pg1").orElseThrow().fenced());
        Poll.until(Duration.ofSeconds(10), "relayed sessions to pg1 closed", () -> h.cutover.sessions().sessions("pg1") == 0);
      } finally {
        Pids.signal("KILL", pids);
      }
      SQLException e = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class, () -> Harness.one(c, "select 1"));
      assertFalse(e.getMessage().isEmpty());
    }
  }

  /** Whether replica {@code s} has received (or replayed) less than {@code lsn} - 8 kB. */
  private static boolean lacks(TargetStatus s, long lsn) {
    long has = Math.max(s.receiveLsn(), s.positionLsn());
    return has >= 0 && lsn - has > 8192;
  }

  @Test
  void theLagGuardRefusesReplicasThatLackWalAndTheOldPrimaryRecoversWithoutFailover() throws Exception {
    h = Harness.startOnCluster("failover: {max_lag_on_failover: 8kB, failback_delay: 1s}\n");
    int pg1 = PgCluster.port("pg1");
    // the replicas stop receiving WAL (what a promoted replica would lack, unlike WAL received but not replayed)
    try (WalReceivers stopped = WalReceivers.stop("pg2", "pg3")) {
      Harness.execute(pg1, "drop table if exists lag_guard; create table lag_guard as select repeat('x', 1000) as x from generate_series(1, 2000)");
      // not the snapshot's replay lag, which a replica still catching up after the reset also shows: pg1's own check
      // has seen the new WAL, and what each replica received (what a promotion would have) lacks more than 8 kB of it
      long written = Long.parseLong(Harness.oneShot(pg1, "select (pg_current_wal_lsn() - '0/0')::bigint"));
      h.await("pg1's check saw the new WAL, both replicas lack it", x -> x.target("pg1").orElseThrow().positionLsn() >= written
          && lacks(x.target("pg2").orElseThrow(), written) && lacks(x.target("pg3").orElseThrow(), written));
      PgCluster.run("kill", "pg1");
      Poll.until(Duration.ofSeconds(30), "failover refused", () -> {
        try {
          for (Object o : incidents()) {
            String notes = ((JsonObject) o).getJsonArray("notes").encode();
            if (notes.contains("no replica qualifies for promotion") && notes.contains("exceeds max_lag_on_failover")) {
              return true;
            }
          }
          return false;
        } catch (Exception e) {
          return false;
        }
      });
      for (String r : List.of("pg2", "pg3")) {
        assertEquals("t", Harness.oneShot(PgCluster.port(r), "select pg_is_in_recovery()"), r + " was not promoted");
      }
      assertEquals(null, h.cutover.topology().primary());
      // the old primary, which has every write, comes back: it leads again and nothing is promoted
      PgCluster.start("pg1");
      h.await("pg1 primary again", x -> "pg1".equals(x.primary()));
      JsonObject incident = awaitIncident("recovered");
      assertTrue(incident.getJsonArray("notes").encode().contains("recovered without failover"), incident.encodePrettily());
      assertFalse(h.cutover.topology().target("pg1").orElseThrow().fenced());
      assertEquals(String.valueOf(pg1), Harness.oneShot(h.cutover.writePort(), "select inet_server_port()"));
    }
  }

  @Test
  void aFlappingPrimaryCausesNoFailoverWithTheDefaultChecks() throws Exception {
    h = Harness.start(Harness.clusterTargets());  // default interval 1s, fastinter 200ms, timeout 1s, fall 3
    h.await("pg1 primary, full health", x -> "pg1".equals(x.primary()) && x.target("pg1").orElseThrow().health() == 4);
    for (int i = 0; i < 2; i++) {
      List<Long> pids = Pids.postmasterTree(PgCluster.projectRoot(), "pg1");
      Pids.signal("STOP", pids);
      Thread.sleep(2000);
      Pids.signal("CONT", pids);
      h.await("pg1 back at full health", x -> x.target("pg1").orElseThrow().health() == 4);
    }
    assertEquals("pg1", h.cutover.topology().primary());
    assertEquals(0, incidents().size(), "no incident at all");
    for (String r : List.of("pg2", "pg3")) {
      assertEquals("t", Harness.oneShot(PgCluster.port(r), "select pg_is_in_recovery()"));
    }
  }

  @Test
  void switchoverLosesNoAcknowledgedWrite() throws Exception {
    h = Harness.startOnCluster(Harness.ADMIN + "failover: {failback_delay: 1s, switchover_timeout: 10s}\n");
    Harness.execute(h.cutover.writePort(), "drop table if exists switchover_test; create table switchover_test(id bigint primary key)");
    Set<Long> acked = new ConcurrentSkipListSet<>();
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicLong failures = new AtomicLong();
    Thread writer = new Thread(() -> {
      long id = 0;
      while (running.get()) {
        try (Connection c = h.write(); Statement st = c.createStatement()) {
          while (running.get()) {
            long next = ++id;
            st.execute("insert into switchover_test values (" + next + ")");
            acked.add(next);
            Thread.sleep(5);
          }
        } catch (SQLException e) {
          failures.incrementAndGet();
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "writer");
    writer.start();
    Poll.until(Duration.ofSeconds(10), "writes flowing", () -> acked.size() > 50);
    // the operator's call: curl -X POST -H "Authorization: Bearer $TOKEN" -d '{"candidate":"pg2"}' .../api/v1/switchover
    try (Http http = new Http(h.cutover.httpPort())) {
      var reply = http.post("/api/v1/switchover", "{\"candidate\":\"pg2\"}");
      assertEquals(200, reply.statusCode(), reply.bodyAsString());
      assertEquals("switchover", reply.bodyAsJsonObject().getString("kind"));
    }
    JsonObject incident = awaitIncident("completed");
    assertEquals("switchover", incident.getString("kind"));
    int before = acked.size();
    Poll.until(Duration.ofSeconds(20), "writes flowing to pg2", () -> acked.size() > before + 50);
    running.set(false);
    writer.join(10_000);
    assertEquals("pg2", h.cutover.topology().primary());
    assertTrue(h.cutover.topology().target("pg1").orElseThrow().fenced());
    long missing;
    try (Connection c = Harness.connect(PgCluster.port("pg2")); Statement st = c.createStatement()) {
      var rs = st.executeQuery("select id from switchover_test");
      Set<Long> present = new java.util.HashSet<>();
      while (rs.next()) {
        present.add(rs.getLong(1));
      }
      missing = acked.stream().filter(id -> !present.contains(id)).count();
    }
    assertEquals(0, missing, "acknowledged writes missing on the new primary (writer saw " + failures.get() + " failures)");
  }

  @Test
  void aReplicaBackFromDownWaitsTheFailbackDelay() throws Exception {
    h = Harness.startOnCluster("failover: {failback_delay: 3s}\n");
    PgCluster.stop("pg3");
    h.await("pg3 down", x -> x.target("pg3").orElseThrow().state() == TargetState.DOWN);
    PgCluster.start("pg3");
    h.await("pg3 up", x -> x.target("pg3").orElseThrow().state() == TargetState.UP);
    long upAt = System.nanoTime();
    assertFalse(h.cutover.topology().readable().contains("pg3"), "held by failback_delay");
    h.await("pg3 readable", x -> x.readable().contains("pg3"));
    long heldMs = (System.nanoTime() - upAt) / 1_000_000;
    assertTrue(heldMs >= 2_500, "held for about failback_delay, was " + heldMs + " ms");
  }
}
