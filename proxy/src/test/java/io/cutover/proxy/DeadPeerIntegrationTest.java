package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Dead peers are noticed ({@code proxy.keepalive}): a relayed session whose client or server vanished without a
 * reset or a FIN is closed within the documented bound. The peer vanishes for real: its network host
 * ({@code scripts/netns}, needs root) is cut off the bridge, so Cutover's segments and probes go unanswered,
 * while every other host, and PostgreSQL itself, carry on. With the kernel's default keepalive (first probe
 * after 2 h) or without the user timeout (retransmissions for about 15 min) these sessions would stay open.
 */
class DeadPeerIntegrationTest {

  /** Test timing: first probe after 1 s idle, then every 1 s, 2 unanswered: closed within 3 s. */
  private static final String KEEPALIVE = "proxy: {keepalive: {idle: 1s, interval: 1s, count: 2}}\n";
  private static final Duration BOUND = Duration.ofSeconds(3);
  /** For timer granularity and polling; far below the kernel's defaults (2 h, 15 min). */
  private static final Duration SLACK = Duration.ofSeconds(5);
  /** The bridge's address here, where clients in the hosts reach Cutover. */
  private static final String BRIDGE = "10.213.0.1";

  private final List<Process> clients = new ArrayList<>();
  private Harness harness;
  /** A direct connection to pg1 (not through Cutover or a host) to look at its sessions. */
  private Connection pg1;

  @BeforeEach
  void hosts() throws Exception {
    PgCluster.ensureCanonical();
    Netns.run("up", "3");
    pg1 = Harness.connect(PgCluster.port("pg1"));
  }

  @AfterEach
  void stop() throws Exception {
    try {
      for (Process p : clients) {
        p.destroy();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
          p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      }
      if (harness != null) {
        harness.close();
      }
      if (pg1 != null) {
        pg1.close();
      }
    } finally {
      Netns.run("down");
    }
  }

  @Test
  void aClientWhoseHostVanishedIsClosedWithinTheBoundAndAHealthyIdleOneIsNot() throws Exception {
    harness = Harness.startOnCluster("listeners: {write: '" + BRIDGE + ":0', read: '" + BRIDGE + ":0', http: '127.0.0.1:0'}\n",
        KEEPALIVE);
    psql(1, "dead-peer-cut");
    Process healthy = psql(3, "dead-peer-healthy");
    Poll.until(Duration.ofSeconds(30), "both psql sessions relayed to pg1",
        () -> sessions("dead-peer-cut") == 1 && sessions("dead-peer-healthy") == 1);

    long cut = System.nanoTime();
    Netns.run("cut", "1");
    Poll.until(BOUND.plus(SLACK), "the session of the client that vanished ends on pg1",
        () -> sessions("dead-peer-cut") == 0);
    long closedMs = (System.nanoTime() - cut) / 1_000_000;
    System.out.printf("dead peer (client): session closed %d ms after the cut (bound %d s)%n", closedMs, BOUND.toSeconds());
    assertEquals(1, harness.cutover.traffic().deadPeers(Endpoint.WRITE, true).sum(), "counted as a dead client");
    assertEquals(0, harness.cutover.traffic().deadPeers(Endpoint.WRITE, false).sum());
    Poll.until(Duration.ofSeconds(5), "Cutover relays one session", () -> harness.cutover.sessions().sessions(Endpoint.WRITE) == 1);

    // the healthy client has been idle as long, answering every probe: after twice the bound it is still relayed
    hold(BOUND.multipliedBy(2));
    assertEquals(1, sessions("dead-peer-healthy"), "a healthy idle client keeps its session");
    OutputStream stdin = healthy.getOutputStream();
    stdin.write("select 'still relayed';\n".getBytes(StandardCharsets.UTF_8));
    stdin.flush();
    Poll.until(Duration.ofSeconds(10), "the healthy client's query reaches pg1", () -> "select 'still relayed';".equals(
        one("select query from pg_stat_activity where application_name = 'dead-peer-healthy'")));
    assertEquals(1, harness.cutover.traffic().deadPeers(Endpoint.WRITE, true).sum());
  }

  @Test
  void aServerWhoseHostVanishedEndsTheClientsSessionWithinTheBound() throws Exception {
    harness = startBehindHost2(KEEPALIVE);
    try (WireClient client = WireClient.connect("127.0.0.1", harness.cutover.writePort(), "dead-peer-server")) {
      assertEquals("1", client.query("select 1"));
      // idle through several answered probes: still relayed
      hold(BOUND.multipliedBy(2));
      assertEquals("2", client.query("select 2"));

      long cut = System.nanoTime();
      Netns.run("cut", "2");
      client.awaitEnd(BOUND.plus(SLACK));
      long closedMs = (System.nanoTime() - cut) / 1_000_000;
      System.out.printf("dead peer (server, idle): client's session closed %d ms after the cut (bound %d s)%n", closedMs,
          BOUND.toSeconds());
    }
    assertEndedByTheServerSocket();
  }

  @Test
  void theUserTimeoutEndsASessionWithAQueryInFlightToAVanishedServer() throws Exception {
    // keepalive sends no probe while data is unacknowledged, and would not start for 10 min: only the user timeout acts
    Duration userTimeout = Duration.ofSeconds(2);
    harness = startBehindHost2("proxy: {keepalive: {idle: 600s, user_timeout: 2s}}\n");
    try (WireClient client = WireClient.connect("127.0.0.1", harness.cutover.writePort(), "dead-peer-in-flight")) {
      assertEquals("1", client.query("select 1"));
      long cut = System.nanoTime();
      Netns.run("cut", "2");
      client.send("select 2");
      client.awaitEnd(userTimeout.plus(SLACK));
      long closedMs = (System.nanoTime() - cut) / 1_000_000;
      System.out.printf("dead peer (server, query in flight): client's session closed %d ms after the cut (user_timeout %d s)%n",
          closedMs, userTimeout.toSeconds());
    }
    assertEndedByTheServerSocket();
  }

  /**
   * Cutover with pg1 as its only target, reached at host 2's bridge address ({@code scripts/netns serve}), so that
   * cutting host 2 leaves the server alive and unreachable. With rise and fall 1 the first check leaves pg1 UP at
   * full health, so the next one comes after the interval, 10 min (a transition would check every fastinter),
   * and failover is manual: the monitor cannot end the session in the test's time.
   */
  private static Harness startBehindHost2(String keepalive) throws Exception {
    int port = PgCluster.port("pg1");
    Netns.run("serve", "2", String.valueOf(port));
    Harness h = Harness.start("targets:\n  - {name: pg1, host: 10.213.0.12, port: " + port + "}\n"
        + "checks: {interval: 10m, fall: 1, rise: 1}\n"
        + "failover: {mode: manual}\npresence: {enabled: false}\nshutdown: {announce: 0s}\n" + keepalive);
    h.await("pg1 primary through host 2", t -> "pg1".equals(t.primary()));
    return h;
  }

  /** Cutover's backend socket gave up (not a fence by the monitor, which still routes to pg1). */
  private void assertEndedByTheServerSocket() {
    assertEquals(1, harness.cutover.traffic().deadPeers(Endpoint.WRITE, false).sum(), "counted as a dead server");
    assertEquals(0, harness.cutover.traffic().deadPeers(Endpoint.WRITE, true).sum());
    assertEquals("pg1", harness.cutover.topology().primary(), "the monitor noticed nothing");
    Poll.until(Duration.ofSeconds(5), "Cutover relays no session", () -> harness.cutover.sessions().sessions(Endpoint.WRITE) == 0);
  }

  /**
   * psql inside host {@code host}, connected to Cutover's write endpoint on the bridge, idle and reading more
   * statements from its standard input (kept open); its output goes to {@code target/dead-peer-test/NAME.log}.
   */
  private Process psql(int host, String applicationName) throws IOException {
    Path dir = Files.createDirectories(Path.of("target", "dead-peer-test"));
    List<String> cmd = Netns.command("exec", String.valueOf(host), "env", "PGAPPNAME=" + applicationName,
        "PGSSLMODE=disable", "PGGSSENCMODE=disable", "PGCONNECT_TIMEOUT=10",
        "psql", "-X", "-q", "-h", BRIDGE, "-p", String.valueOf(harness.cutover.writePort()), "-U", "postgres", "-d", "postgres");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve(applicationName + ".log").toFile()).start();
    clients.add(p);
    return p;
  }

  /** pg1's sessions with this {@code application_name}. */
  private int sessions(String applicationName) {
    return Integer.parseInt(one("select count(*) from pg_stat_activity where application_name = '" + applicationName + "'"));
  }

  private String one(String sql) {
    try (PreparedStatement st = pg1.prepareStatement(sql); ResultSet rs = st.executeQuery()) {
      return rs.next() ? rs.getString(1) : null;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Lets time pass that a healthy session must survive (not a wait for a condition). */
  private static void hold(Duration d) throws InterruptedException {
    Thread.sleep(d.toMillis());
  }
}
