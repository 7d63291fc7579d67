package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cutover's graceful shutdown as an operator meets it: a Cutover JVM over the real cluster, SIGTERM (or
 * {@code POST /api/v1/shutdown}) while queries run through both endpoints. Readiness turns 503 at once, new sessions
 * are still accepted during {@code shutdown.announce} and refused after it, the running queries complete, and the
 * process exits 0 after the last session; at {@code shutdown.grace} what is left is closed; a second SIGTERM ends at
 * once.
 */
class GracefulShutdownJvmTest {

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final Duration WAIT = Duration.ofSeconds(60);

  private int[] ports;

  @BeforeEach
  void cluster() throws IOException {
    PgCluster.ensureCanonical();
    ports = MainJvm.freePorts(3);
  }

  private MainJvm start(Path dir, String shutdown) throws Exception {
    Path config = dir.resolve("cutover.yaml");
    Files.writeString(config, "listeners: {write: '127.0.0.1:" + ports[0] + "', read: '127.0.0.1:" + ports[1]
        + "', http: '127.0.0.1:" + ports[2] + "'}\n" + Harness.clusterTargets() + Harness.FAST_CHECKS + Harness.ADMIN
        + "presence: {enabled: false}\nshutdown: " + shutdown + "\n");
    MainJvm jvm = MainJvm.start(dir, "--config", config.toString());
    try {
      jvm.awaitLine("cutover started");
      // a first check can time out while the new JVM warms up: wait for the primary routed too, not only readiness
      Poll.until(WAIT, "ready, writes routed, pg2 and pg3 readable", () -> get("/health/ready").statusCode() == 200
          && get("/health/write").statusCode() == 200
          && get("/health/read?replicas_only=true").statusCode() == 200
          && get("/health/read?replicas_only=true").body().contains("\"pg3\"")
          && get("/health/read?replicas_only=true").body().contains("\"pg2\""));
    } catch (RuntimeException | Error e) {
      jvm.close(); // not left running: it would monitor (and fail over) the cluster under later tests
      throw e;
    }
    return jvm;
  }

  private HttpResponse<String> get(String path) {
    return MainJvm.get(ports[2], path);
  }

  private static boolean accepts(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static CompletableFuture<String> query(int port, String sql) {
    return Harness.queryAsync(port, sql);
  }

  private int openSessions() {
    String body = get("/api/v1/cluster").body();
    io.vertx.core.json.JsonObject s = new io.vertx.core.json.JsonObject(body).getJsonObject("sessions");
    return s.getInteger("write") + s.getInteger("read");
  }

  /** Waits until {@code n} sessions are relayed; fails at once, saying why, when a query ended before. */
  @SafeVarargs
  private void awaitRelayed(MainJvm cutover, int n, CompletableFuture<String>... queries) {
    Poll.until(WAIT, n + " session(s) relayed", () -> {
      for (CompletableFuture<String> q : queries) {
        if (q.isDone()) {
          String how = q.isCompletedExceptionally() ? q.handle((v, e) -> String.valueOf(e)).join() : "returned " + q.join();
          throw new AssertionError("a query ended before the shutdown: " + how + "\n" + cutover.stderr());
        }
      }
      return openSessions() == n;
    });
  }

  @Test
  void sigtermLetsRunningQueriesFinishAfterAnnouncingAndRefusingNewSessions(@TempDir Path dir) throws Exception {
    try (MainJvm cutover = start(dir, "{announce: 8s, grace: 30s}")) {
      CompletableFuture<String> write = query(ports[0], "select pg_sleep(12)::text || inet_server_port()");
      CompletableFuture<String> read = query(ports[1], "select pg_sleep(12)::text || pg_is_in_recovery()");
      awaitRelayed(cutover, 2, write, read);

      long t0 = System.nanoTime();
      cutover.terminate();
      Poll.until(Duration.ofSeconds(2), "readiness 503 at once", () -> get("/health/ready").statusCode() == 503);
      assertTrue(get("/health/ready").body().contains("shutting down"), get("/health/ready").body());
      assertEquals(503, get("/health/write").statusCode(), "a load balancer's write check too");
      assertTrue(get("/metrics").body().contains("cutover_shutdown_phase 1.0"), "announcing in the metric");
      // still accepted during the announce period (8 s, generous for a loaded machine): a load balancer may not have
      // noticed yet
      assertEquals(String.valueOf(PgCluster.port("pg1")), query(ports[0], "select inet_server_port()").get(10, TimeUnit.SECONDS));
      assertTrue((System.nanoTime() - t0) / 1_000_000 < 8000, "the new session came within the announce period");

      Poll.until(WAIT, "the listeners refusing new connections", () -> !accepts(ports[0]) && !accepts(ports[1]));
      long refusedAfterMs = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(refusedAfterMs >= 8000, "not before shutdown.announce: " + refusedAfterMs + " ms");

      assertEquals("" + PgCluster.port("pg1"), write.get(30, TimeUnit.SECONDS));
      assertEquals("true", read.get(30, TimeUnit.SECONDS), "the read ran on a replica to its end");
      assertEquals(0, cutover.awaitExit(), cutover.stderr());
      long exitMs = (System.nanoTime() - t0) / 1_000_000;
      System.out.println("SIGTERM: new connections refused after " + refusedAfterMs + " ms, exit after " + exitMs + " ms");
      String log = cutover.stderr();
      assertTrue(log.contains("shutdown (SIGTERM): readiness answers 503"), log);
      assertTrue(log.contains("shutdown: listeners closed (no new sessions); waiting up to 30s (shutdown.grace) for 2 client connection(s)"), log);
      assertTrue(log.contains("the last session ended"), log);
      assertFalse(log.contains(" ERROR "), log);
    }
  }

  @Test
  void graceExpiryClosesWhatIsLeft(@TempDir Path dir) throws Exception {
    try (MainJvm cutover = start(dir, "{announce: 0s, grace: 2s}")) {
      CompletableFuture<String> endless = query(ports[0], "select pg_sleep(120)::text");
      awaitRelayed(cutover, 1, endless);
      long t0 = System.nanoTime();
      cutover.terminate();
      java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
          () -> endless.get(60, TimeUnit.SECONDS));
      assertTrue(e.getCause() instanceof SQLException, "the query was cut off: " + e.getCause());
      assertEquals(0, cutover.awaitExit(), cutover.stderr());
      long exitMs = (System.nanoTime() - t0) / 1_000_000;
      System.out.println("grace 2 s: exit after " + exitMs + " ms");
      assertTrue(exitMs < 10_000, "what is left is closed at the grace, not later: exit after " + exitMs + " ms");
      assertTrue(cutover.stderr().contains("shutdown.grace (2s) is over: closing 1 client connection(s) open"), cutover.stderr());
    }
  }

  @Test
  void aSecondSigtermEndsAtOnceAndTheApiStartsAShutdownToo(@TempDir Path dir) throws Exception {
    try (MainJvm cutover = start(dir, "{announce: 60s, grace: 60s}")) {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ports[2] + "/api/v1/shutdown"))
          .header("Authorization", "Bearer " + Harness.TOKEN).POST(HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode(), r.body());
      assertTrue(r.body().contains("\"phase\" : \"announcing\""), r.body());
      assertEquals(503, get("/health/ready").statusCode());
      long t0 = System.nanoTime();
      cutover.terminate(); // the shutdown is under way: this SIGTERM is the second word
      assertEquals(0, cutover.awaitExit(), cutover.stderr());
      long exitMs = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(exitMs < 30_000, "not after the 60 s announce: " + exitMs + " ms");
      assertTrue(cutover.stderr().contains("SIGTERM again during the shutdown"), cutover.stderr());
      assertTrue(cutover.stderr().contains("\"action\":\"shutdown\""), "audited");
    }
  }
}
