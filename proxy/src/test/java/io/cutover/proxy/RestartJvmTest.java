package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A zero-downtime restart as an operator runs it: a Cutover JVM with {@code --pid-file} over the real cluster, long
 * queries through both endpoints, clients connecting in a loop (several at once, both endpoints), then
 * {@code scripts/restart}: the new process shares the ports, the old one hands over on SIGUSR1 and drains. No connect
 * attempt fails, the long queries finish on the old process, the new one serves, holds the history and becomes the
 * failover authority once the old one exited. A restart whose new process cannot start leaves the running one alone.
 */
class RestartJvmTest {

  private static final Duration WAIT = Duration.ofSeconds(90);
  /** The advisory lock the long queries wait for. */
  private static final int LOCK = 4242;
  private static final Path MIGRATE = Path.of("/proc/sys/net/ipv4/tcp_migrate_req");

  @Test
  void aRestartUnderAConnectLoopFailsNoConnectAndTheLongQueriesFinishOnTheOldProcess(@TempDir Path dir) throws Exception {
    // without it, a connection queued on the old listeners as they close is reset (README): not what this counts
    assumeTrue(Files.isWritable(MIGRATE), "net.ipv4.tcp_migrate_req (Linux 5.14+) writable here");
    PgCluster.ensureCanonical();
    int[] ports = MainJvm.freePorts(3);
    Path config = config(dir, ports);
    Path pidFile = dir.resolve("cutover.pid");
    String migrateBefore = Files.exists(MIGRATE) ? Files.readString(MIGRATE).strip() : null;
    long successor = -1;
    List<Process> scripts = new ArrayList<>();
    try (MainJvm old = MainJvm.start(dir, "--config", config.toString(), "--pid-file", pidFile.toString())) {
      old.awaitLine("cutover started");
      Poll.until(WAIT, "writes routed, pg2 and pg3 readable", () -> status(ports[2], "/health/write") == 200
          && readable(ports[2]));
      Poll.until(WAIT, "the PID file", () -> pidIn(pidFile) == old.pid());

      // the long queries wait for an advisory lock this test holds on every server: they span the restart for sure
      List<Connection> holders = new ArrayList<>();
      for (var t : PgCluster.targets()) {
        Connection c = Harness.connect(t.port());
        Harness.one(c, "select pg_advisory_lock(" + LOCK + ")::text");
        holders.add(c);
      }
      CompletableFuture<String> write = query(ports[0], "select pg_advisory_lock(" + LOCK + ")::text || inet_server_port()");
      CompletableFuture<String> read = query(ports[1], "select pg_advisory_lock(" + LOCK + ")::text || pg_is_in_recovery()");
      Poll.until(WAIT, "both long queries relayed by the old process", () -> {
        JsonObject s = new JsonObject(body(ports[2], "/api/v1/cluster")).getJsonObject("sessions");
        return s.getInteger("write") + s.getInteger("read") >= 2;
      });
      try (ConnectLoop loop = new ConnectLoop(ports[0], ports[1], 4)) {
        Poll.until(WAIT, "the connect loop under way", () -> loop.attempts() >= 20);

        Path restartOut = dir.resolve("restart.txt");
        ProcessBuilder pb = new ProcessBuilder(restartCommand(pidFile, dir.resolve("new.log"), config))
            .redirectErrorStream(true).redirectOutput(restartOut.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("CUTOVER_"));
        Process restart = pb.start();
        scripts.add(restart);
        Poll.until(WAIT, "the handover", () -> old.stderr().contains("handover (SIGUSR1)") || !restart.isAlive());
        assertTrue(restart.isAlive(), () -> "scripts/restart waits for the old process to drain:\n" + read(restartOut));
        successor = pidIn(pidFile);
        assertNotEquals(old.pid(), successor, read(restartOut));
        int atHandover = loop.attempts();
        Poll.until(WAIT, "20 more connects after the handover", () -> loop.attempts() >= atHandover + 20);
        assertFalse(write.isDone() || read.isDone(), "the long queries still run on the old process");
        holders.forEach(RestartJvmTest::closeQuietly); // the locks go: the long queries end, the old process exits

        assertTrue(restart.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "scripts/restart ended");
        String said = Files.readString(restartOut);
        assertEquals(0, restart.exitValue(), said + "\nold:\n" + old.stderr() + "\nnew:\n" + read(dir.resolve("new.log")));
        assertTrue(said.contains("restart: PID " + successor + " ready after"), said);
        assertTrue(said.contains("restart: PID " + old.pid() + " drained and exited"), said);
        loop.close();
        System.out.println("restart under a connect loop: " + loop.attempts() + " connect attempts, " + loop.failures()
            + " failed; " + said.lines().filter(l -> l.contains(" ms")).toList());
        assertEquals(0, loop.failures(), () -> "failed connects: " + loop.firstFailures() + "\n" + said + "\nold:\n"
            + old.stderr().lines().filter(l -> !l.contains("MonitorVerticle")).toList() + "\nnew:\n" + read(dir.resolve("new.log")));
      } finally {
        holders.forEach(RestartJvmTest::closeQuietly);
      }
      assertEquals("" + PgCluster.port("pg1"), write.get(30, TimeUnit.SECONDS), "the write query finished on the old process");
      assertEquals("true", read.get(30, TimeUnit.SECONDS), () -> "the read query finished on a replica:\n" + old.stderr());
      assertEquals(0, old.awaitExit(), old.stderr());
      String oldLog = old.stderr();
      assertTrue(oldLog.contains("handover (SIGUSR1): a successor serves these ports"), oldLog);
      assertTrue(oldLog.contains("the last session ended"), oldLog);
      assertFalse(oldLog.contains("shutdown.announce"), "a handover has no announce period:\n" + oldLog);

      Path newLog = dir.resolve("new.log");
      Poll.until(WAIT, "the new process the failover authority and the history's writer", () -> read(newLog)
          .contains("takeover: PID " + old.pid() + " exited: this process is the failover authority")
          && read(newLog).contains("locked by this instance"));
      assertTrue(read(newLog).contains("takeover: every target checked, write endpoint to pg1"), read(newLog));
      assertEquals(200, status(ports[2], "/health/ready"));
      assertEquals(200, status(ports[2], "/health/write"));
      assertFalse(read(newLog).contains(" ERROR "), read(newLog));

      // a restart whose new process cannot start (a takeover needs fixed ports) leaves the running one serving
      Path bad = dir.resolve("bad.yaml");
      Files.writeString(bad, Files.readString(config).replace("'127.0.0.1:" + ports[1] + "'", "'127.0.0.1:0'"));
      Process failed = new ProcessBuilder(restartCommand(pidFile, dir.resolve("bad.log"), bad)).redirectErrorStream(true)
          .redirectOutput(dir.resolve("failed.txt").toFile()).start();
      scripts.add(failed);
      assertTrue(failed.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS));
      String failedSaid = Files.readString(dir.resolve("failed.txt"));
      assertEquals(1, failed.exitValue(), failedSaid);
      assertTrue(failedSaid.contains("the new process exited (2) before it was ready; PID " + successor
          + " serves on untouched"), failedSaid);
      assertTrue(failedSaid.contains("listeners.read has port 0"), failedSaid);
      assertEquals(successor, pidIn(pidFile));
      assertEquals("" + PgCluster.port("pg1"), query(ports[0], "select inet_server_port()::text").get(30, TimeUnit.SECONDS));
    } finally {
      scripts.forEach(Process::destroy); // a script still waiting stops its new process (its trap)
      for (Process p : scripts) {
        p.waitFor(30, TimeUnit.SECONDS);
      }
      // every process the restarts started, whatever failed: by the PID file and by what the script said it started
      java.util.Set<Long> started = new java.util.TreeSet<>(List.of(successor, pidIn(pidFile)));
      for (String out : List.of("restart.txt", "failed.txt")) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("restart: started PID (\\d+)")
            .matcher(read(dir.resolve(out)));
        while (m.find()) {
          started.add(Long.parseLong(m.group(1)));
        }
      }
      started.remove(ProcessHandle.current().pid());
      for (long pid : started) {
        stop(pid);
      }
      if (migrateBefore != null && !migrateBefore.equals(Files.readString(MIGRATE).strip())) {
        Files.writeString(MIGRATE, migrateBefore); // the script set it; this machine gets its own value back
      }
    }
  }

  /**
   * Two faults together: the primary dies while a restart is under way (both processes run), and the old process is
   * frozen (SIGSTOP) meanwhile. The new one sees the primary DOWN and waits for the old one, which keeps the failover
   * authority until it exits; once thawed, the old one promotes a replica; the new one promotes nothing and routes to
   * the new primary; after the handover it is the authority and still routes there. Done by hand, as the README's two
   * commands: {@code --takeover}, then SIGUSR1.
   */
  @Test
  void aPrimaryLostDuringARestartIsFailedOverOnceByTheOldProcess(@TempDir Path dir) throws Exception {
    PgCluster.ensureCanonical();
    int[] ports = MainJvm.freePorts(3);
    Path config = config(dir, ports);
    Path pidFile = dir.resolve("cutover.pid");
    try (MainJvm old = MainJvm.start(dir, "--config", config.toString(), "--pid-file", pidFile.toString())) {
      old.awaitLine("cutover started");
      Poll.until(WAIT, "writes routed, pg2 and pg3 readable", () -> status(ports[2], "/health/write") == 200
          && readable(ports[2]));
      Path newDir = Files.createDirectory(dir.resolve("new"));
      try (MainJvm successor = MainJvm.start(newDir, "--config", config.toString(), "--takeover", String.valueOf(old.pid()),
          "--pid-file", pidFile.toString())) {
        Poll.until(WAIT, "the new process serving", () -> pidIn(pidFile) == successor.pid());

        // the old process alive but not deciding (frozen): the new one must not promote, only wait for it
        old.signal("STOP");
        PgCluster.run("kill", "pg1");
        try {
          Poll.until(WAIT, "the new process waiting for the old one to promote", () -> successor.stderr()
              .contains("primary pg1 DOWN here; waiting for the failover authority to promote"));
          assertFalse(successor.stderr().contains("failover: fencing"), "the new process promoted nothing:\n"
              + successor.stderr());
        } finally {
          old.signal("CONT");
        }
        Poll.until(WAIT, "a replica promoted by the old process", () -> old.stderr().contains("failover: fencing pg1, promoting"));
        String promoted = old.stderr().lines().filter(l -> l.contains("failover: fencing pg1, promoting")).findFirst()
            .orElseThrow().replaceAll(".*promoting (pg\\d).*", "$1");
        Poll.until(WAIT, "writes through the shared port reaching " + promoted,
            () -> ("" + PgCluster.port(promoted)).equals(writeServerPort(ports[0])));
        Poll.until(WAIT, "the new process routing writes to " + promoted, () -> successor.stderr()
            .contains("topology v") && lastTopology(successor.stderr()).contains("primary=" + promoted));
        assertFalse(successor.stderr().contains("failover: fencing"), "the new process promoted nothing:\n" + successor.stderr());

        old.signal("USR1");
        assertEquals(0, old.awaitExit(), old.stderr());
        Poll.until(WAIT, "the new process the failover authority", () -> successor.stderr()
            .contains("takeover: PID " + old.pid() + " exited: this process is the failover authority"));
        assertEquals("" + PgCluster.port(promoted), query(ports[0], "select inet_server_port()::text").get(30, TimeUnit.SECONDS));
        assertEquals(1, PgCluster.run("status").lines().filter(l -> l.contains(" primary ")).count(),
            "one primary: " + PgCluster.run("status"));
        assertFalse(successor.stderr().contains("failover: fencing"), successor.stderr());
      }
    } finally {
      PgCluster.ensureCanonical(); // later tests start from pg1 primary
    }
  }

  /** The port of the server a new write session reaches, or "" when it fails. */
  private static String writeServerPort(int writePort) {
    try (Connection c = Harness.connect(writePort)) {
      return Harness.one(c, "select inet_server_port()::text");
    } catch (SQLException e) {
      return "";
    }
  }

  private static String lastTopology(String log) {
    return log.lines().filter(l -> l.contains("MonitorVerticle - topology v")).reduce((a, b) -> b).orElse("");
  }

  private static Path config(Path dir, int[] ports) throws IOException {
    Path config = dir.resolve("cutover.yaml");
    Files.writeString(config, "listeners: {write: '127.0.0.1:" + ports[0] + "', read: '127.0.0.1:" + ports[1]
        + "', http: '127.0.0.1:" + ports[2] + "'}\n" + Harness.clusterTargets() + Harness.FAST_CHECKS + Harness.ADMIN
        + "presence: {enabled: false}\nhistory: {dir: '" + dir.resolve("history") + "'}\n"
        + "shutdown: {announce: 6s, grace: 30s}\n");
    return config;
  }

  private static void closeQuietly(Connection c) {
    try {
      c.close();
    } catch (SQLException e) {
      // closed already
    }
  }

  private static List<String> restartCommand(Path pidFile, Path log, Path config) {
    return List.of("bash", PgCluster.projectRoot().resolve("scripts/restart").toString(), "--pid-file", pidFile.toString(),
        "--log", log.toString(), "--", Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
        "-cp", System.getProperty("java.class.path"), "io.cutover.proxy.Main", "--config", config.toString());
  }

  /** Stops the process the restart started (not this JVM's child) by PID: SIGTERM, then SIGKILL after 60 s. */
  private static void stop(long pid) throws Exception {
    if (pid <= 0) {
      return;
    }
    var handle = ProcessHandle.of(pid);
    if (handle.isEmpty()) {
      return;
    }
    handle.get().destroy();
    try {
      handle.get().onExit().get(60, TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      handle.get().destroyForcibly();
    }
  }

  private static long pidIn(Path file) {
    String s = read(file).strip();
    return s.matches("\\d+") ? Long.parseLong(s) : -1;
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      return "";
    }
  }

  private static HttpResponse<String> get(int port, String path) {
    return MainJvm.get(port, path);
  }

  /** Whether the read endpoint routes to both replicas (the names quoted: a reason may name them too). */
  private static boolean readable(int httpPort) {
    HttpResponse<String> r = get(httpPort, "/health/read?replicas_only=true");
    return r.statusCode() == 200 && r.body().contains("\"pg2\"") && r.body().contains("\"pg3\"");
  }

  private static int status(int port, String path) {
    return get(port, path).statusCode();
  }

  private static String body(int port, String path) {
    return get(port, path).body();
  }

  private static CompletableFuture<String> query(int port, String sql) {
    return Harness.queryAsync(port, sql);
  }

  /** Clients connecting in a loop, each connect running {@code select 1}, alternating the write and read endpoints. */
  private static final class ConnectLoop implements AutoCloseable {
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicInteger attempts = new AtomicInteger();
    private final AtomicInteger failures = new AtomicInteger();
    private final ConcurrentLinkedQueue<String> firstFailures = new ConcurrentLinkedQueue<>();
    private final List<Thread> threads = new ArrayList<>();

    ConnectLoop(int writePort, int readPort, int clients) {
      for (int i = 0; i < clients; i++) {
        int port = i % 2 == 0 ? writePort : readPort;
        Thread t = new Thread(() -> {
          while (running.get()) {
            attempts.incrementAndGet();
            try (Connection c = Harness.connect(port)) {
              Harness.one(c, "select 1");
            } catch (SQLException e) {
              if (failures.incrementAndGet() <= 5) {
                firstFailures.add(java.time.Instant.now() + " " + port + ": " + e.getSQLState() + " " + e.getMessage()
                    + (e.getCause() == null ? "" : " (" + e.getCause() + ")"));
              }
            }
          }
        }, "connect-loop-" + i);
        t.setDaemon(true);
        t.start();
        threads.add(t);
      }
    }

    int attempts() {
      return attempts.get();
    }

    int failures() {
      return failures.get();
    }

    List<String> firstFailures() {
      return List.copyOf(firstFailures);
    }

    @Override
    public void close() throws InterruptedException {
      running.set(false);
      for (Thread t : threads) {
        t.join(30_000);
      }
    }
  }
}
