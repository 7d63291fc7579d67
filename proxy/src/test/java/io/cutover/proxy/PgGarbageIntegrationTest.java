package io.cutover.proxy;

import io.cutover.monitor.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seeded garbage on both PostgreSQL endpoints of a Cutover in front of the real cluster: 240 clients at once, each
 * sending one kind of bad input (random bytes, a truncated startup packet, length 0x7fffffff, a length then silence,
 * an SSLRequest or GSSENCRequest relayed to the server then garbage, nothing at all, a startup packet of random
 * parameters, a random cancel key). Every connection is closed by Cutover (or the server behind it) within
 * {@code proxy.startup_timeout} plus scheduling slack, Cutover holds no client connection and no more file descriptors
 * afterwards, and {@code select 1} works on both endpoints.
 */
class PgGarbageIntegrationTest {

  private static final long SEED = 20261203L;
  private static final int CLIENTS = 240;
  private static final long STARTUP_TIMEOUT_MILLIS = 1000;
  /** Generous room for 240 threads on a 2-core machine; a connection nobody closes still fails the test. */
  private static final long SLACK_MILLIS = 9000;

  private static Harness h;

  @BeforeAll
  static void start() throws Exception {
    h = Harness.startOnCluster("proxy: {startup_timeout: " + STARTUP_TIMEOUT_MILLIS + "ms}\n");
  }

  @AfterAll
  static void stop() throws Exception {
    h.close();
  }

  enum Kind { RANDOM_BYTES, TRUNCATED_STARTUP, HUGE_LENGTH, LENGTH_THEN_SILENCE, SSL_THEN_GARBAGE, GSSENC_THEN_GARBAGE,
    NOTHING, RANDOM_PARAMETERS, RANDOM_CANCEL }

  /** How one bad client ended: what it first got back, and after how long Cutover's side closed. */
  record Outcome(Kind kind, Endpoint endpoint, String firstByte, long closedAfterMillis, boolean closed) {
  }

  @Test
  void garbageOnBothEndpointsIsClosedInTimeAndLeavesNothingBehind() throws Exception {
    warmUp();
    long fdsBefore = fds();
    long timeoutsBefore = timeouts();
    Random rnd = new Random(SEED);
    List<byte[]> payloads = new ArrayList<>();
    List<Kind> kinds = new ArrayList<>();
    for (int i = 0; i < CLIENTS; i++) {
      Kind kind = Kind.values()[rnd.nextInt(Kind.values().length)];
      kinds.add(kind);
      payloads.add(payload(kind, rnd));
    }
    ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<Outcome>> futures = new ArrayList<>();
    try {
      for (int i = 0; i < CLIENTS; i++) {
        Endpoint endpoint = i % 2 == 0 ? Endpoint.WRITE : Endpoint.READ;
        Kind kind = kinds.get(i);
        byte[] payload = payloads.get(i);
        futures.add(pool.submit(() -> {
          go.await();
          return badClient(endpoint, kind, payload);
        }));
      }
      go.countDown();
      List<Outcome> outcomes = new ArrayList<>();
      for (Future<Outcome> f : futures) {
        outcomes.add(f.get(60, TimeUnit.SECONDS));
      }
      report(outcomes);
      for (Outcome o : outcomes) {
        assertTrue(o.closed(), "closed: " + o);
        assertTrue(o.closedAfterMillis() <= STARTUP_TIMEOUT_MILLIS + SLACK_MILLIS, "closed in time: " + o);
      }
    } finally {
      pool.shutdownNow();
    }
    Poll.until(Duration.ofSeconds(15), "no client connection held",
        () -> h.cutover.connections().open(Endpoint.WRITE) == 0 && h.cutover.connections().open(Endpoint.READ) == 0);
    assertTrue(timeouts() > timeoutsBefore, "the silent ones counted as startup timeouts");
    assertEquals("1", Harness.oneShot(h.cutover.writePort(), "select 1"));
    assertEquals("1", Harness.oneShot(h.cutover.readPort(), "select 1"));
    // the monitor's checks open and close connections of their own: a few may be open at any instant
    Poll.until(Duration.ofSeconds(15), "file descriptors back to " + fdsBefore + " (+3 for checks in flight)",
        () -> fds() <= fdsBefore + 3);
    System.out.printf("PgGarbageIntegrationTest: file descriptors %d before, %d after%n", fdsBefore, fds());
  }

  @Test
  void aTlsSessionThroughCutoverOutlivesTheHandshakeDeadline() throws Exception {
    for (Endpoint e : Endpoint.values()) {
      try (java.sql.Connection c = Harness.connect(e == Endpoint.WRITE ? h.cutover.writePort() : h.cutover.readPort(),
          "sslmode", "require")) {
        assertEquals("t", Harness.one(c, "select ssl from pg_stat_ssl where pid = pg_backend_pid()"));
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3 * STARTUP_TIMEOUT_MILLIS);
        while (System.nanoTime() < until) {
          Thread.sleep(100); // the deadline must pass: a completed handshake is never closed by it
        }
        assertEquals("1", Harness.one(c, "select 1"), e + ": the session is still open");
      }
    }
  }

  private static void warmUp() throws Exception {
    // everything opened once (JDBC driver classes, pools of the relay) before counting file descriptors
    for (int i = 0; i < 3; i++) {
      Harness.oneShot(h.cutover.writePort(), "select 1");
      Harness.oneShot(h.cutover.readPort(), "select 1");
    }
  }

  private static long timeouts() {
    return h.cutover.traffic().startupTimeouts(Endpoint.WRITE).sum() + h.cutover.traffic().startupTimeouts(Endpoint.READ).sum();
  }

  private static long fds() {
    try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
      return s.count();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] payload(Kind kind, Random rnd) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    switch (kind) {
      case RANDOM_BYTES -> out.write(random(rnd, 1 + rnd.nextInt(300)));
      case TRUNCATED_STARTUP -> {
        byte[] params = "user\0postgres\0database\0postgres\0\0".getBytes(StandardCharsets.US_ASCII);
        out.writeInt(8 + params.length);
        out.writeInt(PgWire.PROTOCOL_3_0);
        out.write(params, 0, rnd.nextInt(params.length)); // never all of it
      }
      case HUGE_LENGTH -> {
        out.writeInt(0x7fffffff);
        out.write(random(rnd, rnd.nextInt(64)));
      }
      case LENGTH_THEN_SILENCE -> out.writeInt(8 + rnd.nextInt(PgWire.MAX_STARTUP_PACKET_LENGTH - 8));
      case SSL_THEN_GARBAGE, GSSENC_THEN_GARBAGE -> {
        out.writeInt(8);
        out.writeInt(kind == Kind.SSL_THEN_GARBAGE ? PgWire.SSL_REQUEST_CODE : PgWire.GSSENC_REQUEST_CODE);
        out.write(random(rnd, rnd.nextInt(40))); // 0 to 39 bytes: a partial TLS record too
      }
      case NOTHING -> {
      }
      case RANDOM_PARAMETERS -> {
        byte[] params = random(rnd, rnd.nextInt(200));
        out.writeInt(8 + params.length);
        out.writeInt(PgWire.PROTOCOL_3_0);
        out.write(params);
      }
      case RANDOM_CANCEL -> {
        int key = 4 + rnd.nextInt(PgWire.MAX_CANCEL_KEY_LENGTH - 3);
        out.writeInt(12 + key);
        out.writeInt(PgWire.CANCEL_REQUEST_CODE);
        out.writeInt(rnd.nextInt());
        out.write(random(rnd, key));
      }
    }
    return bytes.toByteArray();
  }

  private static byte[] random(Random rnd, int n) {
    byte[] b = new byte[n];
    rnd.nextBytes(b);
    return b;
  }

  /** Sends {@code payload}, then reads until Cutover's side closes (EOF or reset) or the deadline passes. */
  private static Outcome badClient(Endpoint endpoint, Kind kind, byte[] payload) throws IOException {
    int port = endpoint == Endpoint.WRITE ? h.cutover.writePort() : h.cutover.readPort();
    long start = System.nanoTime();
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout((int) (STARTUP_TIMEOUT_MILLIS + SLACK_MILLIS + 5000));
      String first = "none";
      try {
        s.getOutputStream().write(payload);
        s.getOutputStream().flush();
        InputStream in = s.getInputStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) != -1) {
          if ("none".equals(first) && n > 0) {
            first = String.valueOf((char) buf[0]);
          }
        }
      } catch (SocketTimeoutException e) {
        return new Outcome(kind, endpoint, first, elapsed(start), false);
      } catch (IOException reset) {
        // a reset is a close too (the server closed with unread garbage)
        first = "none".equals(first) ? "reset" : first;
      }
      return new Outcome(kind, endpoint, first, elapsed(start), true);
    }
  }

  private static long elapsed(long startNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
  }

  private static void report(List<Outcome> outcomes) {
    Map<String, int[]> byKind = new TreeMap<>();
    Map<String, Long> maxByKind = new TreeMap<>();
    for (Outcome o : outcomes) {
      String key = o.kind() + " -> " + o.firstByte();
      byKind.computeIfAbsent(key, k -> new int[1])[0]++;
      maxByKind.merge(o.kind().toString(), o.closedAfterMillis(), Math::max);
    }
    System.out.println("PgGarbageIntegrationTest (seed " + SEED + "): kind -> first byte back: count " + toString(byKind));
    System.out.println("PgGarbageIntegrationTest: slowest close per kind (ms): " + maxByKind);
  }

  private static String toString(Map<String, int[]> m) {
    StringBuilder sb = new StringBuilder("{");
    m.forEach((k, v) -> sb.append(sb.length() > 1 ? ", " : "").append(k).append(": ").append(v[0]));
    return sb.append('}').toString();
  }
}
