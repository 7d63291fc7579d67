package io.cutover.proxy.http;

import io.cutover.monitor.MonitorVerticle;
import io.cutover.monitor.Topology;
import io.cutover.proxy.SessionRegistry;
import io.cutover.proxy.TopologyView;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code GET /api/v1/events}: Cutover live as Server-Sent Events, for the operator's page ({@code EventSource}) and
 * scripts ({@code curl -N}). Deployed as a verticle: its context numbers the events; each stream is written on its
 * own connection's context. Nothing blocks, nothing is unbounded.
 *
 * <p><b>The stream.</b> {@code Content-Type: text/event-stream; charset=utf-8}, {@code Cache-Control: no-store},
 * {@code X-Accel-Buffering: no}; first {@code retry: 2000}, then events {@code id: <run>-<seq>\ndata: <JSON on one
 * line>\n\n} (no {@code event:} field: {@code onmessage} gets them all), and a comment {@code : keepalive} every
 * {@value #KEEPALIVE_MILLIS} ms. Every JSON object has {@code type}, {@code version} (the newest topology version
 * Cutover knew when it was emitted) and {@code at} (when it was emitted, ISO-8601). Types and their other fields:
 * <ul>
 *   <li>{@code topology}: {@code topology}, the snapshot as in {@code GET /api/v1/cluster} (every one the monitor
 *       publishes; {@code version} is its own);</li>
 *   <li>{@code incident}: {@code step} ({@code opened}, {@code updated}, {@code closed}) and {@code incident}, as in
 *       {@code GET /api/v1/incidents} (updated at every step of its timeline and when its RPO is measured);</li>
 *   <li>{@code decision}: {@code level} ({@code info}, {@code warn}, {@code error}) and {@code reason}: every decision
 *       the monitor records ({@code GET /api/v1/cluster}'s {@code decisions}); a refused failover is one, level
 *       {@code error};</li>
 *   <li>{@code audit}: {@code entry}, as in {@code GET /api/v1/audit};</li>
 *   <li>{@code sessions}: {@code write}, {@code read}, {@code by_target} (relayed sessions, as in
 *       {@code GET /api/v1/cluster}), when they changed, looked at every {@value #SESSIONS_CHECK_MILLIS} ms;</li>
 *   <li>{@code resync}: {@code reason}, why a reconnect could not be resumed.</li>
 * </ul>
 * A new stream starts with a {@code topology} and a {@code sessions} event (the state now, both with the id of the
 * newest event); one that names the last event it received ({@code Last-Event-ID}, which {@code EventSource} sends,
 * or {@code ?last_event_id=}) gets exactly the events after it instead, or a {@code resync} and that start when it
 * cannot ({@link EventLog#start}).
 *
 * <p><b>Bounds.</b> At most {@value #MAX_STREAMS} streams at once (then 503). A stream writes while its write queue
 * holds less than {@value #WRITE_QUEUE_BYTES} bytes and goes on when it drains; the events it has yet to send wait
 * in the shared {@link EventLog}, never in the stream. A stream is closed as a slow consumer (counted) when the events
 * it has yet to send have left the ring, or when its queue has not drained for {@value #KEEPALIVE_MILLIS} ms at a
 * keepalive; the client reconnects and resumes, or resyncs. {@code HEAD} answers the headers (or the 503) only.
 */
public final class EventStream extends VerticleBase implements Handler<RoutingContext> {

  private static final Logger LOG = LoggerFactory.getLogger(EventStream.class);
  /** Streams open at once, at most. */
  public static final int MAX_STREAMS = 100;
  /** A stream's write queue, in bytes ({@code setWriteQueueMaxSize}). */
  public static final int WRITE_QUEUE_BYTES = 256 * 1024;
  /** Between keepalive comments, in ms; also how long a full write queue may go without draining. */
  public static final long KEEPALIVE_MILLIS = 15_000;
  /** Between looks at the session counts, in ms. */
  public static final long SESSIONS_CHECK_MILLIS = 1_000;
  /** The reconnect delay the stream asks {@code EventSource} for ({@code retry:}), in ms. */
  public static final long RETRY_MILLIS = 2_000;

  private final EventLog log;
  private final TopologyView view;
  private final SessionRegistry sessions;
  private volatile List<String> targets;
  private final AuditLog audit;
  private final Clock clock;
  private final Set<Stream> streams = ConcurrentHashMap.newKeySet();
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicLong droppedSlow = new AtomicLong();
  /** Held while an event is appended and while a stream takes its start, so that its snapshot is the ring's state. */
  private final Object snapshot = new Object();
  /** The newest topology event's snapshot (guarded by {@link #snapshot}), {@code null} before the first. */
  private JsonObject lastTopology;
  /** The session counts last emitted (on this verticle's context). */
  private JsonObject lastSessions;
  private volatile boolean running;

  /**
   * @param log      the ring the events are numbered in (its run names this process)
   * @param targets  the configured targets' names, for {@code by_target}
   * @param audit    its entries become {@code audit} events
   * @param clock    the time of {@code at}
   */
  public EventStream(EventLog log, TopologyView view, SessionRegistry sessions, List<String> targets, AuditLog audit,
                     Clock clock) {
    this.log = log;
    this.view = view;
    this.sessions = sessions;
    this.targets = List.copyOf(targets);
    this.audit = audit;
    this.clock = clock;
  }

  /** A reload: the configured targets' names from now on ({@code by_target} of the next {@code sessions} events). */
  public void targets(List<String> names) {
    this.targets = List.copyOf(names);
  }

  @Override
  public Future<?> start() {
    var bus = vertx.eventBus();
    Context home = context;
    lastSessions = sessionCounts();
    audit.onRecord(entry -> {
      if (running) {
        JsonObject copy = entry.copy();
        home.runOnContext(v -> emit("audit", new JsonObject().put("entry", copy)));
      }
    });
    vertx.setPeriodic(SESSIONS_CHECK_MILLIS, id -> checkSessions());
    vertx.setPeriodic(KEEPALIVE_MILLIS, id -> streams.forEach(Stream::keepalive));
    return Future.all(List.of(
            bus.<JsonObject>localConsumer(Topology.ADDRESS, m -> topology(m.body())).completion(),
            bus.<JsonObject>localConsumer(MonitorVerticle.INCIDENT_OPENED_ADDRESS, m -> incident("opened", m.body())).completion(),
            bus.<JsonObject>localConsumer(MonitorVerticle.INCIDENT_UPDATED_ADDRESS, m -> incident("updated", m.body())).completion(),
            bus.<JsonObject>localConsumer(MonitorVerticle.INCIDENT_CLOSED_ADDRESS, m -> incident("closed", m.body())).completion(),
            bus.<JsonObject>localConsumer(MonitorVerticle.DECISION_ADDRESS, m -> emit("decision", new JsonObject()
                .put("level", m.body().getString("level")).put("reason", m.body().getString("reason")))).completion()))
        .onSuccess(v -> running = true);
  }

  /** Ends every stream (the client sees the end and reconnects elsewhere or later). */
  @Override
  public Future<?> stop() {
    running = false;
    streams.forEach(s -> s.context.runOnContext(v -> s.end()));
    return Future.succeededFuture();
  }

  /** Streams open now. */
  public int streams() {
    return open.get();
  }

  /** Streams closed as slow consumers since start. */
  public long droppedSlow() {
    return droppedSlow.get();
  }

  // ---- the events (on this verticle's context) ----

  private void topology(JsonObject t) {
    JsonObject data = envelope("topology", t.getLong("version", 0L)).put("topology", t);
    synchronized (snapshot) {
      log.append(data);
      lastTopology = t;
    }
    streams.forEach(Stream::wake);
  }

  private void incident(String step, JsonObject incident) {
    JsonObject copy = incident.copy();
    copy.remove("last_healthy_ms"); // added to the opening message for the metrics, not part of the record
    emit("incident", new JsonObject().put("step", step).put("incident", copy));
  }

  private void checkSessions() {
    JsonObject now = sessionCounts();
    if (!now.equals(lastSessions)) {
      lastSessions = now;
      emit("sessions", now.copy());
    }
  }

  private void emit(String type, JsonObject fields) {
    JsonObject data = envelope(type, version()).mergeIn(fields);
    synchronized (snapshot) {
      log.append(data);
    }
    streams.forEach(Stream::wake);
  }

  private JsonObject envelope(String type, long version) {
    return new JsonObject().put("type", type).put("version", version)
        .put("at", java.time.Instant.ofEpochMilli(clock.millis()).toString());
  }

  /** The newest topology version known: the data plane's, or the newest event's when that is ahead. */
  private long version() {
    long v = view.current().version();
    synchronized (snapshot) {
      return lastTopology == null ? v : Math.max(v, lastTopology.getLong("version", 0L));
    }
  }

  private JsonObject sessionCounts() {
    return sessions.toJson(targets);
  }

  // ---- the requests (on the connection's context) ----

  @Override
  public void handle(RoutingContext ctx) {
    String last = ctx.request().getHeader("Last-Event-ID");
    if (last == null) {
      List<String> query;
      try {
        query = ctx.queryParam("last_event_id");
      } catch (IllegalArgumentException e) {
        AdminHttp.error(ctx, 400, "bad request", "the query string could not be decoded");
        return;
      }
      last = query.isEmpty() ? null : query.get(0);
    }
    if (!running) {
      AdminHttp.error(ctx, 503, "unavailable", "the event stream is not running (Cutover is starting or stopping)");
      return;
    }
    boolean head = ctx.request().method() == HttpMethod.HEAD;
    if (head ? open.get() >= MAX_STREAMS : open.incrementAndGet() > MAX_STREAMS) {
      if (!head) {
        open.decrementAndGet();
      }
      ctx.response().putHeader("Retry-After", String.valueOf(RETRY_MILLIS / 1000));
      AdminHttp.error(ctx, 503, "unavailable", "too many event streams: at most " + MAX_STREAMS
          + " are served at once; retry later");
      return;
    }
    if (head) {
      headers(ctx.response()).end();
      return;
    }
    Stream stream = new Stream(ctx);
    try {
      stream.open(last);
    } catch (RuntimeException e) {
      stream.release();
      throw e; // the router's 500: logged, never shown
    }
  }

  private static HttpServerResponse headers(HttpServerResponse r) {
    return r.setStatusCode(200).putHeader("Content-Type", "text/event-stream; charset=utf-8")
        .putHeader("Cache-Control", "no-store").putHeader("X-Accel-Buffering", "no");
  }

  /** One client's stream; everything but {@link #wake} runs on its connection's context. */
  private final class Stream {
    final Context context;
    final RoutingContext ctx;
    final HttpServerResponse response;
    final AtomicBoolean scheduled = new AtomicBoolean();
    /** The seq of the last event written. */
    long cursor;
    /** When the write queue was found full and a drain awaited, epoch ms; {@code -1} while it has room. */
    long fullSince = -1;
    boolean released;

    Stream(RoutingContext ctx) {
      this.ctx = ctx;
      this.context = ctx.vertx().getOrCreateContext();
      this.response = ctx.response();
    }

    void open(String lastEventId) {
      headers(response).setChunked(true).setWriteQueueMaxSize(WRITE_QUEUE_BYTES);
      response.closeHandler(v -> release());
      response.exceptionHandler(err -> release());
      EventLog.Start start;
      JsonObject topology;
      synchronized (snapshot) {
        start = log.start(lastEventId);
        topology = lastTopology;
      }
      StringBuilder first = new StringBuilder("retry: ").append(RETRY_MILLIS).append("\n\n");
      String id = log.id(start.cursor());
      if (start.resync() != null) {
        first.append(EventLog.frame(id, envelope("resync", version()).put("reason", start.resync())));
      }
      if (!start.resumed()) {
        Topology now = view.current();
        if (topology == null || now.version() > topology.getLong("version", 0L)) {
          topology = now.toJson();
        }
        first.append(EventLog.frame(id, envelope("topology", topology.getLong("version", 0L)).put("topology", topology)));
        first.append(EventLog.frame(id, envelope("sessions", version()).mergeIn(sessionCounts())));
      }
      cursor = start.cursor();
      response.write(first.toString());
      streams.add(this);
      if (response.closed()) {
        release();
        return;
      }
      pump();
    }

    /** Asks for a {@link #pump} on the stream's context, once however many events arrive meanwhile. */
    void wake() {
      if (scheduled.compareAndSet(false, true)) {
        context.runOnContext(v -> {
          scheduled.set(false);
          pump();
        });
      }
    }

    /** Writes the events after the cursor while the write queue has room; goes on once it drains. */
    void pump() {
      while (!released) {
        EventLog.Event e = log.next(cursor);
        if (e == null) {
          return;
        }
        if (e == EventLog.GONE) {
          drop("the events it has yet to send left the ring (" + (log.oldest() - cursor - 1) + " missed)");
          return;
        }
        if (response.writeQueueFull()) {
          if (fullSince < 0) {
            fullSince = clock.millis();
            response.drainHandler(v -> {
              fullSince = -1;
              pump();
            });
          }
          return;
        }
        response.write(e.frame());
        cursor = e.seq();
      }
    }

    void keepalive() {
      context.runOnContext(v -> {
        if (released) {
          return;
        }
        if (fullSince >= 0 && clock.millis() - fullSince >= KEEPALIVE_MILLIS) {
          drop("its write queue has not drained for " + (clock.millis() - fullSince) + " ms");
        } else if (!response.writeQueueFull()) {
          response.write(": keepalive\n\n");
        }
      });
    }

    void drop(String why) {
      droppedSlow.incrementAndGet();
      LOG.info("event stream to {} closed as a slow consumer: {}", ctx.request().remoteAddress(), why);
      release();
      ctx.request().connection().close();
    }

    void end() {
      if (!released) {
        release();
        response.end();
      }
    }

    void release() {
      if (!released) {
        released = true;
        streams.remove(this);
        open.decrementAndGet();
      }
    }
  }
}
