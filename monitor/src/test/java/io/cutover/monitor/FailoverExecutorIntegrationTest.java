package io.cutover.monitor;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.Tuple;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The executor's bounded I/O against the real local cluster: deadlines on a frozen server, statement_timeout
 * on a statement that runs too long, a connection that completes after its caller gave up, the write probe's
 * per-attempt bound.
 */
class FailoverExecutorIntegrationTest {

  private static Vertx vertx;
  private static FailoverExecutor executor;
  private static Target pg1;
  private static Target pg2;
  private static Target pg3;

  @BeforeAll
  static void setUp() {
    PgCluster.ensureCanonical();
    vertx = Vertx.vertx();
    // checks.timeout 200 ms: the step limit is its floor, 1 s
    executor = new FailoverExecutor(vertx, new CheckOptions().setTimeout(Duration.ofMillis(200)),
        new FailoverOptions().setPromoteTimeout(Duration.ofSeconds(2)));
    pg1 = PgCluster.targets().get(0);
    pg2 = PgCluster.targets().get(1);
    pg3 = PgCluster.targets().get(2);
  }

  @AfterAll
  static void tearDown() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void aPromoteOfAFrozenServerFailsAtItsDeadlineSayingWhichOne() throws Exception {
    long pid = postmasterPid("pg3");
    long start = System.nanoTime();
    Throwable err;
    signal("STOP", pid);
    try {
      err = failure(executor.promote(pg3));
    } finally {
      signal("CONT", pid);
    }
    long tookMs = (System.nanoTime() - start) / 1_000_000;
    assertEquals("promote " + FailoverExecutor.label(pg3) + ": no answer within failover.promote_timeout 2000 ms",
        Errors.describe(err));
    assertTrue(tookMs >= 1900 && tookMs < 3500, "failed at the 2000 ms deadline, took " + tookMs + " ms");
    // the connect completes once the postmaster runs again: it is closed without promoting
    Poll.until(Duration.ofSeconds(10), "no cutover-failover session left on pg3", () -> sessions(pg3, "cutover-failover") == 0);
    assertEquals(Boolean.TRUE, query(pg3, "select pg_is_in_recovery()"), "pg3 was not promoted");
  }

  @Test
  void aStatementThatRunsTooLongIsCancelledByTheServerBeforeTheDeadline() throws Exception {
    long start = System.nanoTime();
    Throwable err = failure(executor.withConnection(pg1, Deadline.in(Duration.ofSeconds(3), "the test limit"), "sleep on",
        conn -> conn.query("select pg_sleep(30)").execute()));
    long tookMs = (System.nanoTime() - start) / 1_000_000;
    String message = Errors.describe(err);
    assertTrue(message.matches("sleep on " + java.util.regex.Pattern.quote(FailoverExecutor.label(pg1))
        + ": statement cancelled by statement_timeout 2[34]\\d\\d ms \\(the test limit 3000 ms\\)"), message);
    assertTrue(tookMs >= 2000 && tookMs < 3000, "cancelled by the server before the client deadline, took " + tookMs + " ms");
    Poll.until(Duration.ofSeconds(5), "the sleeping backend is gone", () -> sessions(pg1, "cutover-failover") == 0);
  }

  @Test
  void aConnectionThatCompletesAfterTheDeadlineIsClosedAtOnce() throws Exception {
    String app = "cutover-late-" + ProcessHandle.current().pid();
    try (DelayingRelay relay = new DelayingRelay(pg1.host(), pg1.port())) {
      AtomicBoolean workRan = new AtomicBoolean();
      Future<Integer> late = BoundedSession.run(vertx, new CheckOptions().connectOptions("127.0.0.1", relay.port(), app),
          Deadline.in(Duration.ofMillis(500), "the test limit"), "late session",
          conn -> {
            workRan.set(true);
            return Future.succeededFuture(1);
          });
      assertEquals("late session: no answer within the test limit 500 ms", Errors.describe(failure(late)));
      // the server has authenticated the session; only its answer is held back by the relay
      Poll.until(Duration.ofSeconds(10), "the backend of the late session exists", () -> sessions(pg1, app) == 1);
      relay.release();
      Poll.until(Duration.ofSeconds(10), "the late connection is closed by the client", relay::clientClosed);
      Poll.until(Duration.ofSeconds(10), "the backend of the late session is gone", () -> sessions(pg1, app) == 0);
      assertFalse(workRan.get(), "no work on a connection whose caller gave up");
    }
  }

  @Test
  void aRoleCheckConnectionThatCompletesAfterTheTimeoutIsClosedToo() throws Exception {
    try (DelayingRelay relay = new DelayingRelay(pg1.host(), pg1.port())) {
      SqlCheck check = new SqlCheck(vertx, new CheckOptions().setTimeout(Duration.ofMillis(300)), Clock.systemUTC());
      Observation o = check.check(new Target("relayed", "127.0.0.1", relay.port()))
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertEquals(FailureKind.TIMEOUT, o.failure());
      assertEquals("no answer within 300 ms", o.error());
      relay.release();
      Poll.until(Duration.ofSeconds(10), "the late check connection is closed by the client", relay::clientClosed);
    }
  }

  @Test
  void eachWriteProbeAttemptIsBoundedSoTheProbeEndsAtItsDeadline() throws Exception {
    List<Socket> accepted = new ArrayList<>();
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread acceptor = new Thread(() -> {
        try {
          while (true) {
            accepted.add(silent.accept()); // accepts, never answers
          }
        } catch (IOException e) {
          // closed by the test
        }
      });
      acceptor.setDaemon(true);
      acceptor.start();
      long start = System.nanoTime();
      // default checks.timeout: a step limit of 5 s, which each attempt must not be allowed to use up
      FailoverExecutor defaults = new FailoverExecutor(vertx, new CheckOptions(), new FailoverOptions());
      Throwable err = failure(defaults.probeWrite("127.0.0.1", silent.getLocalPort(), System.currentTimeMillis() + 1500));
      long tookMs = (System.nanoTime() - start) / 1_000_000;
      assertTrue(tookMs < 2500, "the probe ends at its 1500 ms deadline, took " + tookMs + " ms");
      String message = Errors.describe(err);
      assertTrue(message.startsWith("write probe through 127.0.0.1:" + silent.getLocalPort()
          + ": no write accepted within the write probe deadline 1"), message);
      assertTrue(message.contains("no answer within"), message);
    } finally {
      for (Socket s : accepted) {
        s.close();
      }
    }
  }

  @Test
  void aWriteProbeOnThePrimarySucceeds() throws Exception {
    executor.probeWrite(pg1.host(), pg1.port(), System.currentTimeMillis() + 5000)
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void promotingThePrimaryFailsWithTheServersError() throws Exception {
    assertEquals("promote " + FailoverExecutor.label(pg1) + ": 55000 recovery is not in progress",
        Errors.describe(failure(executor.promote(pg1))));
  }

  @Test
  void aRepointOfAFrozenReplicaFailsAtTheStepLimit() throws Exception {
    long pid = postmasterPid("pg2");
    long start = System.nanoTime();
    Throwable err;
    signal("STOP", pid);
    try {
      err = failure(executor.repoint(pg2, pg1));
    } finally {
      signal("CONT", pid);
    }
    long tookMs = (System.nanoTime() - start) / 1_000_000;
    assertEquals("repoint " + FailoverExecutor.label(pg2) + " to follow pg1: no answer within the step limit "
        + "(5 × checks.timeout, at least 1000 ms) 1000 ms", Errors.describe(err));
    assertTrue(tookMs >= 900 && tookMs < 2500, "failed at the 1000 ms step limit, took " + tookMs + " ms");
  }

  @Test
  void aRepointToTheCurrentPrimaryKeepsTheReplicaStreaming() throws Exception {
    executor.repoint(pg3, pg1).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertTrue(String.valueOf(query(pg3, "select current_setting('primary_conninfo')"))
        .startsWith("host=" + pg1.host() + " port=" + pg1.port() + " "));
    Poll.until(Duration.ofSeconds(20), "pg3 streams again",
        () -> "streaming".equals(query(pg3, "select coalesce((select status from pg_stat_wal_receiver), '')")));
  }

  @Test
  void aPromoteWithinItsDeadlineSucceeds() throws Exception {
    try {
      FailoverExecutor patient = new FailoverExecutor(vertx, new CheckOptions(), new FailoverOptions());
      assertEquals(Boolean.TRUE, patient.promote(pg3).toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS));
      assertEquals(Boolean.FALSE, query(pg3, "select pg_is_in_recovery()"));
    } finally {
      PgCluster.ensureCanonical();
    }
  }

  /** The failure of {@code f}, waiting at most 10 s; fails the test if it succeeds or takes longer. */
  private static Throwable failure(Future<?> f) throws Exception {
    try {
      Object value = f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      return fail("expected a failure, got " + value);
    } catch (ExecutionException e) {
      return e.getCause();
    }
  }

  private static long sessions(Target t, String applicationName) {
    Object n = query(t, "select count(*) from pg_stat_activity where application_name = $1", applicationName);
    return ((Number) n).longValue();
  }

  /** The first column of the first row of {@code sql} on {@code t}, over a test connection of its own. */
  private static Object query(Target t, String sql, Object... params) {
    try {
      return PgConnection.connect(vertx, new CheckOptions().connectOptions(t.host(), t.port(), "cutover-test"))
          .compose(conn -> conn.preparedQuery(sql).execute(Tuple.wrap(params))
              .map(rows -> rows.iterator().next().getValue(0))
              .eventually(conn::close))
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("query on " + t.name() + " failed: " + sql, e);
    }
  }

  /** The PID of {@code node}'s postmaster: the first line of its postmaster.pid. */
  private static long postmasterPid(String node) throws IOException {
    String root = PgCluster.run("env").lines().filter(l -> l.startsWith("CUTOVER_PG_ROOT="))
        .map(l -> l.substring("CUTOVER_PG_ROOT=".length())).findFirst().orElseThrow();
    return Long.parseLong(Files.readAllLines(Path.of(root, node, "postmaster.pid")).get(0).trim());
  }

  private static void signal(String signal, long pid) throws Exception {
    Process p = new ProcessBuilder("kill", "-" + signal, String.valueOf(pid)).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new AssertionError("kill -" + signal + " " + pid + " failed: " + out);
    }
  }
}
