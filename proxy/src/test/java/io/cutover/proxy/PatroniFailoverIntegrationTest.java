package io.cutover.proxy;

import io.cutover.monitor.Poll;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cutover in front of a real Patroni cluster ({@code scripts/patroni-cluster}: etcd and three Patroni members),
 * {@code patroni} checks, {@code failover.mode} follow by default: a {@code patronictl switchover} and a crash of the
 * leader under a writer that opens a session per write, as an application's pool does after an error. Writes follow the
 * new leader; new sessions are held, never refused, while there is no leader; the change is recorded as an incident
 * promoted by Patroni with its timeline.
 */
class PatroniFailoverIntegrationTest {

  private static PatroniStack patroni;
  private static Harness h;
  private Writer writer;

  @BeforeAll
  static void start() throws Exception {
    patroni = PatroniStack.ensureLeaderPg1();
    h = Harness.start(patroni.targets("patroni")
        + "checks: {interval: 500ms, fastinter: 100ms, timeout: 2s, fall: 3, rise: 2}\n"
        + "proxy: {connect_wait: 20s}\nfailover: {failback_delay: 1s}\npresence: {enabled: false}\n");
  }

  @AfterAll
  static void stop() throws Exception {
    if (h != null) {
      h.close();
    }
  }

  @BeforeEach
  void pg1Leads() throws Exception {
    patroni = PatroniStack.ensureLeaderPg1(); // also brings a killed member back
    h.await("pg1 primary, pg2 and pg3 readable", t -> "pg1".equals(t.primary()) && t.readable().contains("pg2")
        && t.readable().contains("pg3") && t.cutover() == null);
    Harness.execute(h.cutover.writePort(), "create table if not exists cutover_patroni_test (id bigint primary key)");
    Harness.execute(h.cutover.writePort(), "truncate cutover_patroni_test");
  }

  @AfterEach
  void stopWriter() throws Exception {
    if (writer != null) {
      writer.stop();
    }
  }

  @Test
  void aPatroniSwitchoverUnderAWriterIsFollowedWithoutARefusedSession() throws Exception {
    long incidentsBefore = incidents().size();
    writer = Writer.start(h.cutover.writePort());
    Poll.until(Duration.ofSeconds(10), "writes acknowledged by pg1", () -> writer.ackedBy(patroni.pgPorts.get("pg1")) > 10);
    patroni.ctl("switchover", "--leader", "pg1", "--candidate", "pg2", "--force");
    Poll.until(Duration.ofSeconds(60), "writes acknowledged by pg2 (" + writer + ")",
        () -> writer.ackedBy(patroni.pgPorts.get("pg2")) > 10);
    writer.stop();
    System.out.println("PatroniFailoverIntegrationTest switchover: " + writer);
    assertEquals(List.of(), writer.refusedSessions(), "no new session refused: held until pg2 leads");
    assertTrue(writer.statementFailures.size() <= 1, "at most the write in flight when pg1 shut down: " + writer);
    JsonObject incident = awaitIncident(incidentsBefore);
    assertEquals("external", incident.getString("promoted_by"));
    assertEquals("pg1", incident.getString("old_primary"));
    assertEquals("pg2", incident.getString("new_primary"));
    assertEquals("completed", incident.getString("outcome"));
    assertNotNull(incident.getJsonObject("timeline").getString("first_write_accepted"));
    assertTrue(h.cutover.topology().target("pg1").orElseThrow().role() != io.cutover.monitor.Role.PRIMARY
        || h.cutover.topology().target("pg1").orElseThrow().fenced(), "the demoted leader takes no writes");
  }

  @Test
  void aCrashedLeaderUnderAWriterIsReplacedAndTimed() throws Exception {
    long incidentsBefore = incidents().size();
    writer = Writer.start(h.cutover.writePort());
    Poll.until(Duration.ofSeconds(10), "writes acknowledged by pg1", () -> writer.ackedBy(patroni.pgPorts.get("pg1")) > 10);
    patroni.kill("pg1");
    try {
      awaitNewLeader();
    } finally {
      writer.stop();
      patroni.start("pg1"); // back as a replica (pg_rewind), for the tests after this one
    }
    System.out.println("PatroniFailoverIntegrationTest kill: " + writer);
    JsonObject incident = awaitIncident(incidentsBefore);
    assertEquals("failover", incident.getString("kind"));
    assertEquals("external", incident.getString("promoted_by"));
    assertEquals("completed", incident.getString("outcome"));
    JsonObject timeline = incident.getJsonObject("timeline");
    for (String step : List.of("last_healthy", "first_failed_check", "down_declared", "promoted", "first_write_accepted")) {
      assertNotNull(timeline.getString(step), step + " in " + timeline);
    }
    assertTrue(incident.getLong("duration_ms") > 0, incident.encode());
    assertEquals(List.of(), writer.refusedSessions().stream().filter(f -> f.contains("57P03")).toList(),
        "held through Patroni's ttl (proxy.connect_wait 20 s), never refused");
  }

  private void awaitNewLeader() {
    Poll.until(Duration.ofSeconds(60), "writes acknowledged by the new leader (" + writer + ")",
        () -> writer.ackedBy(patroni.pgPorts.get("pg2")) + writer.ackedBy(patroni.pgPorts.get("pg3")) > 10);
  }

  private static JsonArray incidents() {
    return h.incidents();
  }

  /** The newest incident once there is one more than {@code before} and it is closed. */
  private static JsonObject awaitIncident(long before) {
    Poll.until(Duration.ofSeconds(30), "a new closed incident", () -> {
      JsonArray all = incidents();
      return all.size() > before && !"open".equals(all.getJsonObject(all.size() - 1).getString("outcome"));
    });
    JsonArray all = incidents();
    return all.getJsonObject(all.size() - 1);
  }

  /** An application writer: a new session per write (connect, insert, close), every ~10 ms, on its own thread. */
  static final class Writer implements Runnable {
    private final int port;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong nextId = new AtomicLong();
    final Map<Integer, AtomicLong> acked = new ConcurrentHashMap<>();
    final List<String> connectFailures = new CopyOnWriteArrayList<>();
    final List<String> statementFailures = new CopyOnWriteArrayList<>();
    private final Thread thread;

    private Writer(int port) {
      this.port = port;
      this.thread = new Thread(this, "patroni-test-writer");
    }

    static Writer start(int port) {
      Writer w = new Writer(port);
      w.thread.start();
      return w;
    }

    @Override
    public void run() {
      while (running.get()) {
        Connection c;
        try {
          c = Harness.connect(port, "connectTimeout", "30", "socketTimeout", "30");
        } catch (SQLException e) {
          connectFailures.add(e.getSQLState() + " " + e.getMessage());
          continue;
        }
        try (c; PreparedStatement st = c.prepareStatement(
            "insert into cutover_patroni_test (id) values (?) returning inet_server_port()")) {
          st.setLong(1, nextId.incrementAndGet());
          try (ResultSet rs = st.executeQuery()) {
            rs.next();
            acked.computeIfAbsent(rs.getInt(1), p -> new AtomicLong()).incrementAndGet();
          }
        } catch (SQLException e) {
          statementFailures.add(e.getSQLState() + " " + e.getMessage());
        }
        try {
          Thread.sleep(10);
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    long ackedBy(int serverPort) {
      AtomicLong n = acked.get(serverPort);
      return n == null ? 0 : n.get();
    }

    List<String> refusedSessions() {
      return List.copyOf(connectFailures);
    }

    void stop() throws InterruptedException {
      running.set(false);
      thread.join(60_000);
    }

    @Override
    public String toString() {
      return "acknowledged by port " + acked + ", refused sessions " + connectFailures + ", failed statements "
          + statementFailures;
    }
  }
}
