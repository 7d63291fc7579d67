package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import io.cutover.proxy.http.EventStream;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code GET /api/v1/events} over real HTTP against a real Cutover: the start of a stream, admin calls and session
 * counts streamed as they happen, resuming after a disconnect (exactly the missed events) and resyncing, a slow
 * consumer closed and counted while a normal one keeps receiving, the stream cap, the end at stop, and a real failover
 * ({@code kill -9} of pg1) streamed as an incident opened, updated step by step and closed.
 */
class EventStreamIntegrationTest {

  private Harness h;
  private final List<SseClient> clients = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @AfterEach
  void stop() throws Exception {
    for (SseClient c : clients) {
      c.close();
    }
    if (h != null) {
      h.close();
    }
  }

  private SseClient open(String lastEventId) throws Exception {
    SseClient c = SseClient.open(h.cutover.httpPort(), "/api/v1/events", lastEventId);
    clients.add(c);
    c.assertHeaders();
    return c;
  }

  private SseClient openWithQuery(String lastEventId) throws Exception {
    SseClient c = SseClient.open(h.cutover.httpPort(), "/api/v1/events?last_event_id=" + lastEventId, null);
    clients.add(c);
    c.assertHeaders();
    return c;
  }

  private HttpResponse<String> send(String method, String path, String token, String body) throws Exception {
    HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + h.cutover.httpPort() + path))
        .timeout(Duration.ofSeconds(30)).method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      r.header("Authorization", "Bearer " + token);
    }
    return http.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  private void post(String path, String body) throws Exception {
    HttpResponse<String> r = send("POST", path, Harness.TOKEN, body);
    assertEquals(200, r.statusCode(), path + ": " + r.body());
  }

  /** The value of a series in {@code /metrics} (labels as Prometheus writes them), NaN when absent. */
  private double metric(String name, String labels) throws Exception {
    Pattern p = Pattern.compile("^" + Pattern.quote(name) + (labels == null ? "" : "\\{" + Pattern.quote(labels) + ",?\\}")
        + " (\\S+)$", Pattern.MULTILINE);
    Matcher m = p.matcher(send("GET", "/metrics", null, null).body());
    return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
  }

  private double metricOrNaN(String name, String labels) {
    try {
      return metric(name, labels);
    } catch (Exception e) {
      return Double.NaN;
    }
  }

  private static void assertIncreasing(List<SseClient.Event> events) {
    for (int i = 1; i < events.size(); i++) {
      assertTrue(events.get(i).seq() > events.get(i - 1).seq(), "ids increase: " + events.get(i - 1).id() + " then "
          + events.get(i).id());
    }
  }

  private static void assertEnvelope(SseClient.Event e) {
    assertNotNull(e.type(), e.data().encode());
    assertNotNull(e.data().getLong("version"), e.data().encode());
    assertNotNull(java.time.Instant.parse(e.data().getString("at")));
  }

  @Test
  void aFreshStreamStartsWithTheTopologyAndTheSessionsThenFollowsAdminCallsLive() throws Exception {
    h = Harness.startOnCluster(Harness.ADMIN);
    RawHttp.Response head = RawHttp.send(h.cutover.httpPort(), "HEAD", "/api/v1/events");
    assertEquals(200, head.status());
    assertEquals("text/event-stream; charset=utf-8", head.header("Content-Type"));
    assertEquals("", head.body());

    SseClient c = open(null);
    c.awaitCount(2);
    assertEquals(EventStream.RETRY_MILLIS, c.retry);
    SseClient.Event topology = c.events.get(0);
    SseClient.Event sessions = c.events.get(1);
    assertEquals("topology", topology.type());
    assertEquals(h.cutover.instanceId(), topology.run(), "ids are <run>-<seq>, run the instance id");
    assertEquals("pg1", topology.data().getJsonObject("topology").getString("primary"));
    assertEquals(topology.data().getLong("version"), topology.data().getJsonObject("topology").getLong("version"));
    assertEquals("sessions", sessions.type());
    assertEquals(topology.id(), sessions.id(), "the start carries the id of the newest event");
    assertEquals(new JsonObject().put("pg1", 0).put("pg2", 0).put("pg3", 0), sessions.data().getJsonObject("by_target"));
    assertEquals(0, sessions.data().getInteger("write"));
    assertEquals(1.0, metric("cutover_event_streams", null));
    assertEquals(0.0, metric("cutover_event_streams_dropped_total", "reason=\"slow_consumer\""), "registered at 0");

    int from = c.events.size();
    post("/api/v1/maintenance", "{\"enabled\": true, \"reason\": \"sse test\"}");
    SseClient.Event decision = c.await("the maintenance decision", from, e -> e.type().equals("decision")
        && e.data().getString("reason").equals("maintenance mode on: automatic failover paused (sse test)"));
    assertEquals("warn", decision.data().getString("level"));
    SseClient.Event audit = c.await("the audit entry", from, e -> e.type().equals("audit"));
    assertEquals("maintenance", audit.data().getJsonObject("entry").getString("action"));
    assertEquals(200, audit.data().getJsonObject("entry").getInteger("status"));
    assertEquals("sse test", audit.data().getJsonObject("entry").getJsonObject("arguments").getString("reason"));
    SseClient.Event maintenance = c.await("a topology in maintenance", from, e -> e.type().equals("topology")
        && e.data().getJsonObject("topology").getBoolean("maintenance"));
    assertTrue(maintenance.data().getLong("version") > topology.data().getLong("version"));
    assertTrue(decision.data().getLong("version") >= maintenance.data().getLong("version"), "decided with the new topology");

    from = c.events.size();
    post("/api/v1/targets/pg3/drain", "{}");
    c.await("pg3 drained in the topology", from, e -> e.type().equals("topology") && e.data().getJsonObject("topology")
        .getJsonArray("targets").stream().map(JsonObject.class::cast)
        .anyMatch(t -> t.getString("name").equals("pg3") && t.getBoolean("drained")));
    c.await("the drain's decision", from, e -> e.type().equals("decision") && e.data().getString("reason").startsWith("pg3 drained"));
    c.await("the drain's audit", from, e -> e.type().equals("audit") && e.data().getJsonObject("entry").getString("action").equals("drain"));

    from = c.events.size();
    try (Connection w = h.write()) {
      SseClient.Event counted = c.await("a sessions event with the write session", from, e -> e.type().equals("sessions")
          && e.data().getInteger("write") == 1);
      assertEquals(1, counted.data().getJsonObject("by_target").getInteger("pg1"));
      assertTrue(w.isValid(5));
    }
    c.await("the write session's end counted", from, e -> e.type().equals("sessions") && e.data().getInteger("write") == 0);

    List<SseClient.Event> all = List.copyOf(c.events);
    all.forEach(EventStreamIntegrationTest::assertEnvelope);
    assertIncreasing(all.subList(1, all.size()));
    assertEquals(all.size() - 1, all.stream().map(SseClient.Event::id).distinct().count(), "no id twice (but the start's)");

    // Cutover stops: the stream ends
    h.close();
    h = null;
    Poll.until(Duration.ofSeconds(30), "the stream ended at stop", () -> c.ended);
  }

  @Test
  void aReconnectGetsExactlyTheMissedEventsAndAnUnknownIdResyncs() throws Exception {
    h = Harness.startOnCluster(Harness.ADMIN);
    SseClient witness = open(null);
    SseClient a = open(null);
    a.awaitCount(2);
    post("/api/v1/maintenance", "{\"enabled\": true}");
    SseClient.Event seen = a.await("the audit of maintenance on", e -> e.type().equals("audit"));
    a.close();
    String lastId = a.events.get(a.events.size() - 1).id();
    assertTrue(a.events.indexOf(seen) >= 0);

    // missed while disconnected
    post("/api/v1/maintenance", "{\"enabled\": false}");
    post("/api/v1/targets/pg2/drain", "{}");
    post("/api/v1/targets/pg2/enable", "{}");
    witness.await("the audit of enable", e -> e.type().equals("audit")
        && e.data().getJsonObject("entry").getString("action").equals("enable"));

    SseClient b = open(lastId);
    List<SseClient.Event> expected = after(witness.events, lastId);
    assertTrue(expected.size() >= 6, "three calls: an audit, a decision and a topology each: " + expected.size());
    b.awaitCount(expected.size());
    post("/api/v1/maintenance", "{\"enabled\": true, \"reason\": \"live again\"}");
    SseClient.Event live = witness.await("the live audit", e -> e.type().equals("audit")
        && "live again".equals(e.data().getJsonObject("entry").getJsonObject("arguments").getString("reason")));
    List<SseClient.Event> missedThenLive = upTo(after(witness.events, lastId), live);
    b.await("the live audit", e -> e.id().equals(live.id()));
    assertEquals(ids(missedThenLive), ids(upTo(b.events, live)), "exactly the events after " + lastId
        + ", then live: none twice, none missing");
    assertEquals(missedThenLive, upTo(b.events, live), "the same events");
    assertEquals(b.events.size(), b.events.stream().map(SseClient.Event::id).distinct().count());

    // the same with the query parameter (curl cannot send Last-Event-ID by itself)
    SseClient q = openWithQuery(lastId);
    q.await("the live audit", e -> e.id().equals(live.id()));
    assertEquals(ids(missedThenLive), ids(upTo(q.events, live)));
    assertEquals(missedThenLive, upTo(q.events, live));

    // caught up exactly: nothing replayed, nothing sent until the next event
    String newest = witness.events.get(witness.events.size() - 1).id();
    SseClient current = open(newest);
    post("/api/v1/targets/pg3/drain", "{}");
    SseClient.Event next = current.await("the next event", e -> true);
    assertEquals(witness.await("the event after " + newest, e -> e.seq() == Long.parseLong(newest.substring(newest.lastIndexOf('-') + 1)) + 1), next);

    long newestSeen = witness.events.get(witness.events.size() - 1).seq();
    for (String[] bad : new String[][] {
        {"ffffffffffff-3", "from another run of Cutover"},
        {h.cutover.instanceId() + "-999999999", "is unknown: the newest event is"},
        {"garbage", "is not an id of this stream"}}) {
      SseClient r = open(bad[0]);
      r.awaitCount(3);
      assertEquals("resync", r.events.get(0).type(), bad[0]);
      assertTrue(r.events.get(0).data().getString("reason").contains(bad[1]), r.events.get(0).data().encode());
      assertEquals("topology", r.events.get(1).type());
      assertEquals("sessions", r.events.get(2).type());
      assertEquals(r.events.get(0).id(), r.events.get(1).id());
      assertTrue(r.events.get(1).seq() >= newestSeen, "at the newest event: " + r.summary());
    }
  }

  private static List<String> ids(List<SseClient.Event> events) {
    return events.stream().map(e -> e.id() + " " + e.type()).toList();
  }

  /** {@code events} up to {@code last}, included. */
  private static List<SseClient.Event> upTo(List<SseClient.Event> events, SseClient.Event last) {
    List<SseClient.Event> all = List.copyOf(events);
    int i = all.indexOf(last);
    assertTrue(i >= 0, last.id() + " not received");
    return all.subList(0, i + 1);
  }

  private static List<SseClient.Event> after(List<SseClient.Event> events, String id) {
    List<SseClient.Event> all = List.copyOf(events);
    for (int i = 0; i < all.size(); i++) {
      if (all.get(i).id().equals(id) && (i + 1 >= all.size() || !all.get(i + 1).id().equals(id))) {
        return all.subList(i + 1, all.size());
      }
    }
    throw new AssertionError(id + " not among " + all.size() + " events");
  }

  /**
   * A client that asks for the stream and never reads, while thousands of refused admin calls (each an audit event)
   * are streamed: Cutover closes it and counts it, a normal client receives every event, and the stream count goes
   * back. The refused calls need no PostgreSQL.
   */
  @Test
  void aSlowConsumerIsClosedAndCountedWhileANormalOneKeepsReceiving() throws Exception {
    h = Harness.start("targets: [{name: pg1, host: 127.0.0.1, port: 1}]\npresence: {enabled: false}\n" + Harness.ADMIN);
    SseClient normal = open(null);
    normal.awaitCount(2);
    long firstSeq = normal.events.get(1).seq();
    try (Socket slow = new Socket()) {
      slow.setReceiveBufferSize(4096);
      slow.connect(new InetSocketAddress("127.0.0.1", h.cutover.httpPort()), 5000);
      slow.getOutputStream().write("GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      Poll.until(Duration.ofSeconds(30), "two streams", () -> metricOrNaN("cutover_event_streams", null) == 2.0);

      AtomicInteger sent = new AtomicInteger();
      AtomicBoolean dropped = new AtomicBoolean();
      AtomicReference<Throwable> failed = new AtomicReference<>();
      ExecutorService pool = Executors.newFixedThreadPool(8);
      for (int t = 0; t < 8; t++) {
        pool.execute(() -> {
          try {
            while (!dropped.get() && failed.get() == null && sent.get() < 100_000) {
              HttpResponse<String> r = send("POST", "/api/v1/maintenance", "wrong-token-0123456789", "{}");
              assertEquals(401, r.statusCode(), r.body());
              if (sent.incrementAndGet() % 100 == 0) {
                dropped.compareAndSet(false, metric("cutover_event_streams_dropped_total", "reason=\"slow_consumer\"") >= 1.0);
              }
            }
          } catch (Throwable e) {
            failed.compareAndSet(null, e);
          }
        });
      }
      pool.shutdown();
      assertTrue(pool.awaitTermination(5, TimeUnit.MINUTES), "the flood ended");
      assertNull(failed.get(), () -> "a refused call failed: " + failed.get());
      assertTrue(dropped.get(), "the slow consumer was closed within " + sent.get() + " refused calls");
      assertEquals(1.0, metric("cutover_event_streams_dropped_total", "reason=\"slow_consumer\""));
      Poll.until(Duration.ofSeconds(10), "one stream left", () -> metricOrNaN("cutover_event_streams", null) == 1.0);
      System.out.println("slow consumer closed after " + sent.get() + " refused calls");

      // the slow client finds its connection closed by Cutover once it reads what it was sent
      slow.setSoTimeout(30_000);
      long read = 0;
      try {
        byte[] buf = new byte[65536];
        for (int n; (n = slow.getInputStream().read(buf)) > 0; ) {
          read += n;
        }
      } catch (java.net.SocketException reset) {
        // reset: closed with bytes unsent
      }
      // what the kernel's send buffer (autotuned up to tcp_wmem's maximum) and the stream's write queue held, no more
      long wmemMax = Long.parseLong(java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/sys/net/ipv4/tcp_wmem"))
          .get(0).trim().split("\\s+")[2]);
      assertTrue(read <= wmemMax + EventStream.WRITE_QUEUE_BYTES + 64 * 1024, "it was sent what its socket and write "
          + "queue held: " + read + " bytes (tcp_wmem max " + wmemMax + ")");

      // the normal client got every event, none twice, none missing, and is still served
      int audits = sent.get();
      Poll.until(Duration.ofSeconds(60), "every refused call's audit (" + audits + ")", () -> normal.events.stream()
          .filter(x -> x.type().equals("audit")).count() >= audits);
      List<SseClient.Event> got = List.copyOf(normal.events).subList(2, normal.events.size());
      for (int i = 0; i < got.size(); i++) {
        assertEquals(firstSeq + 1 + i, got.get(i).seq(), "contiguous ids");
      }
      assertFalse(normal.ended);
      assertEquals(401, got.get(got.size() - 1).data().getJsonObject("entry").getInteger("status"));
    }

    // a reconnect far behind the ring resyncs
    SseClient old = open(h.cutover.instanceId() + "-" + firstSeq);
    old.awaitCount(1);
    assertEquals("resync", old.events.get(0).type());
    assertTrue(old.events.get(0).data().getString("reason").contains("are no longer kept"), old.events.get(0).data().encode());
  }

  @Test
  void moreStreamsThanTheCapAre503() throws Exception {
    h = Harness.start("targets: [{name: pg1, host: 127.0.0.1, port: 1}]\npresence: {enabled: false}\n");
    for (int i = 0; i < EventStream.MAX_STREAMS; i++) {
      open(null);
    }
    Poll.until(Duration.ofSeconds(30), "every stream open", () -> metricOrNaN("cutover_event_streams", null) == EventStream.MAX_STREAMS);
    RawHttp.Response over = RawHttp.send(h.cutover.httpPort(), "GET", "/api/v1/events");
    assertEquals(503, over.status(), over.body());
    assertEquals("application/json", over.header("Content-Type"));
    assertTrue(new JsonObject(over.body()).getString("detail").contains("at most " + EventStream.MAX_STREAMS), over.body());
    assertEquals("2", over.header("Retry-After"));
    assertEquals(503, RawHttp.send(h.cutover.httpPort(), "HEAD", "/api/v1/events").status());
    clients.remove(0).close();
    Poll.until(Duration.ofSeconds(30), "a stream given back", () -> metricOrNaN("cutover_event_streams", null) == EventStream.MAX_STREAMS - 1);
    open(null).awaitCount(2);
  }

  /**
   * {@code kill -9} of the primary: the incident is streamed as it happens, opened, updated at its steps, closed; a
   * client that goes away during the failover gets exactly what it missed when it comes back.
   */
  @Test
  void aFailoverIsStreamedAsAnIncidentOpenedUpdatedStepByStepAndClosed() throws Exception {
    h = Harness.startOnCluster("failover: {rto: 10s, failback_delay: 1s}\n");
    try {
      SseClient c = open(null);
      SseClient away = open(null);
      c.awaitCount(2);
      away.awaitCount(2);
      PgCluster.run("kill", "pg1");
      // a second client goes away as soon as it sees the incident open, and comes back after it closed
      away.await("the incident opened", e -> e.type().equals("incident"));
      away.close();
      String lastSeen = away.events.get(away.events.size() - 1).id();
      SseClient.Event closed = c.await("the incident closed", e -> e.type().equals("incident")
          && e.data().getString("step").equals("closed"));
      SseClient back = open(lastSeen);
      back.await("the incident closed", e -> e.id().equals(closed.id()));
      assertEquals(ids(upTo(after(c.events, lastSeen), closed)), ids(upTo(back.events, closed)),
          "the failover's events it missed, exactly");
      List<SseClient.Event> incident = upTo(c.events, closed).stream().filter(e -> e.type().equals("incident")).toList();
      long id = closed.data().getJsonObject("incident").getLong("id");
      assertTrue(incident.stream().allMatch(e -> e.data().getJsonObject("incident").getLong("id") == id), c.summary());
      assertEquals("opened", incident.get(0).data().getString("step"));
      assertEquals(closed, incident.get(incident.size() - 1));
      assertNotNull(timeline(incident.get(0)).getString("down_declared"));
      List<SseClient.Event> updates = incident.subList(1, incident.size() - 1);
      assertTrue(updates.stream().allMatch(e -> e.data().getString("step").equals("updated")), c.summary());
      assertTrue(updates.stream().anyMatch(e -> timeline(e).getString("promoted") != null
          && timeline(e).getString("first_write_accepted") == null), "the promotion streamed before the close: " + updates);
      assertNull(timeline(incident.get(0)).getString("promoted"));
      assertEquals("completed", closed.data().getJsonObject("incident").getString("outcome"));
      assertNotNull(timeline(closed).getString("first_write_accepted"));
      assertFalse(incident.get(0).data().getJsonObject("incident").containsKey("last_healthy_ms"), "the record's shape only");
      String promoted = closed.data().getJsonObject("incident").getString("new_primary");
      SseClient.Event routed = c.await("the new primary in the topology", e -> e.type().equals("topology")
          && promoted.equals(e.data().getJsonObject("topology").getString("primary")));
      assertTrue(routed.seq() < closed.seq(), "routed before the first write closed it");
      c.await("the failover decision", e -> e.type().equals("decision")
          && e.data().getString("reason").startsWith("failover: fencing pg1, promoting " + promoted));
      assertIncreasing(c.events.subList(1, c.events.size()));
    } finally {
      h.close();
      h = null;
      PgCluster.ensureCanonical();
    }
  }

  private static JsonObject timeline(SseClient.Event e) {
    return e.data().getJsonObject("incident").getJsonObject("timeline");
  }
}
