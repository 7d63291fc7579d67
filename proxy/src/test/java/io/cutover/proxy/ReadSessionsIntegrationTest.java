package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import io.cutover.monitor.TargetState;
import io.cutover.monitor.TargetStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The read endpoint against the real cluster: only replicas that follow the primary are read (an old primary left
 * on its old timeline never is), and read sessions end when their server is promoted.
 */
class ReadSessionsIntegrationTest {

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
    // the tests leave pg1 diverged or another node primary: the next test class starts from a rebuilt cluster
    PgCluster.ensureCanonical();
  }

  /** Kills pg1 and waits until Cutover promoted a replica and the cutover completed; returns the new primary. */
  private String failover() {
    PgCluster.run("kill", "pg1");
    h.await("a replica promoted", t -> t.primary() != null && !t.primary().equals("pg1") && t.cutover() == null);
    return h.cutover.topology().primary();
  }

  @Test
  void anOldPrimaryLeftOnItsOldTimelineIsNeverReadAndStaysFenced() throws Exception {
    h = Harness.startOnCluster("failover: {failback_delay: 1s}\n");
    Harness.execute(h.cutover.writePort(), "create table if not exists opr(id int)");
    String promoted = failover();
    int newPrimary = PgCluster.port(promoted);
    Harness.execute(h.cutover.writePort(), "insert into opr select generate_series(1, 98)");

    // pg1 comes back as a primary (fenced), takes a write of its own past the fork point, and is then restarted
    // in recovery towards the new primary without a rewind: a rejoin that did not happen
    PgCluster.start("pg1");
    int pg1 = PgCluster.port("pg1");
    Harness.execute(pg1, "create table diverged(x int)");
    Harness.execute(pg1, "alter system set primary_conninfo = 'host=127.0.0.1 port=" + newPrimary + " user=postgres application_name=pg1'");
    Harness.execute(pg1, "checkpoint");
    PgCluster.stop("pg1");
    Path data = pgRoot().resolve("pg1");
    Path signal = Files.createFile(data.resolve("standby.signal"));
    Files.setOwner(signal, Files.getOwner(data));
    PgCluster.start("pg1");
    assertEquals("t", Harness.oneShot(pg1, "select pg_is_in_recovery()"));
    h.await("pg1 observed as a replica", t -> t.target("pg1").orElseThrow().role() == io.cutover.monitor.Role.REPLICA
        && t.target("pg1").orElseThrow().state() == TargetState.UP);

    // well past failback_delay and several checks: never fenced off, never readable, never read from
    long until = System.nanoTime() + Duration.ofSeconds(6).toNanos();
    while (System.nanoTime() < until) {
      TargetStatus s = h.cutover.topology().target("pg1").orElseThrow();
      assertTrue(s.fenced(), "a rejoin left on the old timeline stays fenced: " + s);
      assertFalse(s.readable());
      assertFalse(s.following());
      assertEquals(1, s.timeline());
      assertTrue(s.readReason().startsWith("pg1 does not follow the primary " + promoted + ": on timeline 1"), s.readReason());
      assertNotEquals(String.valueOf(pg1), Harness.oneShot(h.cutover.readPort(), "select inet_server_port()"));
      assertEquals("98", Harness.oneShot(h.cutover.readPort(), "select count(*) from opr"));
    }
    assertNotEquals("2", Harness.oneShot(pg1, "select coalesce((select received_tli::text from pg_stat_wal_receiver), 'none')"),
        "the scenario needs pg1 unable to follow timeline 2");

    // a real rejoin: it streams on the new timeline, is unfenced and read again after failback_delay
    PgCluster.run("rejoin", "pg1");
    h.await("pg1 rejoined, following and readable", t -> {
      TargetStatus s = t.target("pg1").orElseThrow();
      return !s.fenced() && s.following() && s.readable();
    });
    assertEquals("98", Harness.oneShot(pg1, "select count(*) from opr"));
  }

  @Test
  void aReadSessionEndsWhenItsServerIsPromoted() throws Exception {
    h = Harness.startOnCluster("failover: {failback_delay: 1s}\n");
    Harness.execute(h.cutover.writePort(), "create table if not exists opr(id int)");
    // one read session on each replica (round-robin)
    Map<String, Connection> sessions = new HashMap<>();
    for (int i = 0; i < 6 && sessions.size() < 2; i++) {
      Connection c = h.read();
      String port = Harness.one(c, "select inet_server_port()");
      String name = port.equals(String.valueOf(PgCluster.port("pg2"))) ? "pg2" : "pg3";
      if (sessions.putIfAbsent(name, c) != null) {
        c.close();
      }
    }
    assertEquals(2, sessions.size(), "a read session on pg2 and on pg3");
    try {
      String promoted = failover();
      Connection onPromoted = sessions.get(promoted);
      Poll.until(Duration.ofSeconds(10), "the read session on the promoted " + promoted + " is closed", () -> {
        try {
          Harness.one(onPromoted, "select 1");
          return false;
        } catch (SQLException e) {
          return true;
        }
      });
      SQLException e = assertThrows(SQLException.class,
          () -> Harness.one(onPromoted, "insert into opr values (1) returning inet_server_port()"));
      assertNotNull(e.getMessage());
      assertEquals("0", Harness.oneShot(h.cutover.writePort(), "select count(*) from opr"), "no write through a read session");
      // new read sessions never land on the new primary while a replica follows it
      h.await("the other replica follows " + promoted, t -> t.readable().size() == 1);
      String other = promoted.equals("pg2") ? "pg3" : "pg2";
      assertEquals(String.valueOf(PgCluster.port(other)), Harness.oneShot(h.cutover.readPort(), "select inet_server_port()"));
    } finally {
      for (Connection c : sessions.values()) {
        c.close();
      }
    }
  }

  /** The cluster's data root ({@code CUTOVER_PG_ROOT} as {@code scripts/pg-cluster env} prints it). */
  private static Path pgRoot() {
    for (String line : PgCluster.run("env").split("\n")) {
      if (line.startsWith("CUTOVER_PG_ROOT=")) {
        return Path.of(line.substring("CUTOVER_PG_ROOT=".length()).trim());
      }
    }
    throw new IllegalStateException("scripts/pg-cluster env printed no CUTOVER_PG_ROOT");
  }
}
