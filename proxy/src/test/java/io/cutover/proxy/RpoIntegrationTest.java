package io.cutover.proxy;

import io.cutover.monitor.Lsn;
import io.cutover.monitor.MonitorVerticle;
import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import io.cutover.monitor.TargetState;
import io.cutover.monitor.TargetStatus;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The RPO of a failover against the real cluster: a bound at the cutover, measured once the old primary restarts.
 * Missing writes are made deterministic: the replicas' WAL receivers are stopped while a writer keeps writing on pg1,
 * so the writes pg1 acknowledges then never reach a replica, and pg1 is killed with {@code max_lag_on_failover: off}.
 */
class RpoIntegrationTest {

  private Harness h;
  private WalReceivers stopped;

  @BeforeEach
  void canonicalCluster() {
    PgCluster.ensureCanonical();
  }

  @AfterEach
  void stop() throws Exception {
    if (stopped != null) {
      stopped.close();
    }
    if (h != null) {
      h.close();
    }
  }

  /** A client inserting increasing ids through the write endpoint, reconnecting after an error. */
  private static final class Writer implements Runnable {
    final int port;
    final Map<Long, Integer> acked = new ConcurrentHashMap<>();
    final AtomicLong next = new AtomicLong();
    final AtomicBoolean stop = new AtomicBoolean();
    final Thread thread = new Thread(this, "rpo-test-writer");

    Writer(int port) {
      this.port = port;
    }

    @Override
    public void run() {
      while (!stop.get()) {
        try (Connection c = Harness.connect(port, "socketTimeout", "5", "connectTimeout", "5");
             PreparedStatement ps = c.prepareStatement("insert into rpo_test values (?) returning inet_server_port()")) {
          while (!stop.get()) {
            long id = next.incrementAndGet();
            ps.setLong(1, id);
            try (ResultSet rs = ps.executeQuery()) {
              rs.next();
              acked.put(id, rs.getInt(1));
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5)); // the writer's pace, not a wait
          }
        } catch (SQLException e) {
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50)); // reconnect pace
        }
      }
    }

    long ackedBy(int serverPort) {
      return acked.values().stream().filter(p -> p == serverPort).count();
    }
  }

  private JsonObject incident(long id) {
    for (Object o : h.incidents()) {
      if (((JsonObject) o).getLong("id") == id) {
        return (JsonObject) o;
      }
    }
    return null;
  }

  @Test
  void writesAcknowledgedByTheKilledPrimaryAndMissingOnTheNewOneAreMeasuredOnceItRestarts(@TempDir Path dir) throws Exception {
    h = Harness.startOnCluster("failover: {max_lag_on_failover: off, failback_delay: 1s}\nhistory: {dir: '" + dir + "'}\n");
    List<JsonObject> published = new CopyOnWriteArrayList<>();
    for (String address : List.of(MonitorVerticle.INCIDENT_OPENED_ADDRESS, MonitorVerticle.INCIDENT_CLOSED_ADDRESS,
        MonitorVerticle.INCIDENT_UPDATED_ADDRESS)) {
      h.cutover.vertx().eventBus().<JsonObject>localConsumer(address, m -> published.add(m.body().copy()));
    }
    int pg1 = PgCluster.port("pg1");
    Harness.execute(h.cutover.writePort(), "drop table if exists rpo_test; create table rpo_test(id bigint primary key)");
    Writer w = new Writer(h.cutover.writePort());
    w.thread.start();
    long walAfterWrites;
    try {
      Poll.until(Duration.ofSeconds(30), "writes acknowledged by pg1", () -> w.ackedBy(pg1) >= 20);
      stopped = WalReceivers.stop("pg2", "pg3");
      long before = w.ackedBy(pg1);
      Poll.until(Duration.ofSeconds(30), "writes pg1 acknowledged while no replica receives", () -> w.ackedBy(pg1) >= before + 20);
      walAfterWrites = Lsn.parse(Harness.oneShot(pg1, "select pg_current_wal_lsn()::text"));

      PgCluster.run("kill", "pg1");
      // pg1 is gone: the replicas may look for it again, there is nothing left to receive
      stopped.close();
      String promoted = h.await("a replica promoted", t -> t.primary() != null && !t.primary().equals("pg1")).primary();
      int newPort = PgCluster.port(promoted);
      Poll.until(Duration.ofSeconds(30), "writes acknowledged by " + promoted, () -> w.ackedBy(newPort) >= 5);
    } finally {
      w.stop.set(true);
      w.thread.join(10_000);
    }
    assertFalse(w.thread.isAlive(), "the writer stopped");

    JsonObject[] cutover = new JsonObject[1];
    Poll.until(Duration.ofSeconds(30), "a completed failover", () -> {
      for (Object o : h.incidents()) {
        if ("completed".equals(((JsonObject) o).getString("outcome"))) {
          cutover[0] = (JsonObject) o;
          return true;
        }
      }
      return false;
    });
    long id = cutover[0].getLong("id");
    String promoted = cutover[0].getString("new_primary");
    JsonObject bound = cutover[0].getJsonObject("rpo");
    assertFalse(bound.getBoolean("exact"), cutover[0].encodePrettily());
    assertTrue(bound.getString("display").startsWith("≥ "), bound.encode());
    assertTrue(bound.getString("basis").contains("at its last healthy check"), bound.encode());
    assertEquals(cutover[0].getLong("rpo_bytes"), bound.getLong("bytes"));
    assertNotNull(cutover[0].getString("fork_lsn"), "the fork point read at the promotion");

    // the client's view: acknowledged ids missing on the new primary
    Set<Long> present = new HashSet<>();
    try (Connection c = h.write(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("select id from rpo_test")) {
      while (rs.next()) {
        present.add(rs.getLong(1));
      }
    }
    long missing = w.acked.keySet().stream().filter(i -> !present.contains(i)).count();
    assertTrue(missing >= 20, missing + " acknowledged writes missing on " + promoted + " (at least those pg1 took "
        + "while no replica received)");

    // the old primary restarts (crash recovery), is fenced, and is measured
    PgCluster.start("pg1");
    h.await("pg1 back, fenced", t -> {
      TargetStatus s = t.target("pg1").orElseThrow();
      return s.state() == TargetState.UP && s.fenced();
    });
    JsonObject[] measured = new JsonObject[1];
    Poll.until(Duration.ofSeconds(30), "the RPO of incident " + id + " measured (last: "
        + (incident(id) == null ? null : incident(id).getJsonObject("rpo")) + ")", () -> {
      JsonObject i = incident(id);
      if (i != null && i.getJsonObject("rpo").getBoolean("exact")) {
        measured[0] = i;
        return true;
      }
      return false;
    });
    JsonObject rpo = measured[0].getJsonObject("rpo");
    long bytes = rpo.getLong("bytes");
    long forkLsn = Lsn.parse(measured[0].getString("fork_lsn"));
    assertTrue(bytes > 0, "acknowledged writes are missing, so WAL was not carried over: " + rpo.encode());
    assertTrue(bytes >= walAfterWrites - forkLsn, "at least the WAL pg1 had written by the kill past the fork point ("
        + (walAfterWrites - forkLsn) + "): " + rpo.encode());
    assertEquals(bytes + " bytes", rpo.getString("display"));
    assertEquals(bytes, measured[0].getLong("rpo_bytes"));
    assertNotNull(rpo.getString("measured"));
    assertTrue(rpo.getString("basis").contains("forked from timeline 1 at " + measured[0].getString("fork_lsn")),
        "the history file and the promotion agree on the fork point: " + rpo.encode());

    // never an exact figure before the measurement, never an exact 0
    List<JsonObject> versions = new ArrayList<>();
    published.stream().filter(v -> v.getLong("id") == id).forEach(versions::add);
    int firstExact = -1;
    for (int k = 0; k < versions.size(); k++) {
      if (versions.get(k).getJsonObject("rpo").getBoolean("exact")) {
        firstExact = k;
        break;
      }
    }
    assertTrue(firstExact > 0, "published versions: " + versions);
    assertEquals(bytes, versions.get(firstExact).getJsonObject("rpo").getLong("bytes"));
    assertNotNull(versions.get(firstExact).getJsonObject("rpo").getString("measured"));

    // kept on disk as the incident's last version, and counted by the metrics
    Poll.until(Duration.ofSeconds(10), "the measured version in incidents.jsonl", () -> {
      List<String> lines;
      try {
        lines = Files.readAllLines(dir.resolve("incidents.jsonl"));
      } catch (java.io.IOException e) {
        return false;
      }
      JsonObject last = null;
      for (String l : lines) {
        JsonObject j = new JsonObject(l);
        if (j.getLong("id") == id) {
          last = j;
        }
      }
      return last != null && last.getJsonObject("rpo").getBoolean("exact") && last.getLong("rpo_bytes") == bytes;
    });
    try (Http http = new Http(h.cutover.httpPort())) {
      String metrics = http.get("/metrics").bodyAsString();
      assertTrue(metrics.lines().anyMatch(l -> l.matches("cutover_rpo_measured_bytes_count 1(\\.0)?")), metrics);
      assertTrue(metrics.contains("cutover_rpo_measured_bytes_sum " + (double) bytes), metrics);
      assertTrue(metrics.contains("cutover_rpo_last_exact 1.0"), metrics);
      JsonObject api = http.get("/api/v1/incidents/" + id).bodyAsJsonObject();
      assertEquals(rpo.getString("display"), api.getJsonObject("rpo").getString("display"), api.encode());
    }
  }
}
