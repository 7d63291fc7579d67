package io.cutover.proxy;

import io.cutover.config.Durations;
import io.cutover.proxy.config.ShutdownOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Supplier;

/**
 * Cutover's graceful shutdown, in phases, each logged with the client connections still open:
 * <ol>
 *   <li>{@link Phase#ANNOUNCING}: readiness and the endpoint health checks answer 503 while new sessions are still
 *       accepted, for {@code shutdown.announce}, so that load balancers and Kubernetes stop sending them;</li>
 *   <li>{@link Phase#DRAINING}: the listeners stop accepting; established sessions run on until the last one ends or
 *       {@code shutdown.grace} passes;</li>
 *   <li>{@link Phase#CLOSING}: what is left is closed with everything else (the history written, Hazelcast left
 *       gracefully so that a clustered leader hands over at once).</li>
 * </ol>
 * {@link #begin} starts it (idempotent: SIGTERM, {@code POST /api/v1/shutdown}); {@link #now} skips to closing (a
 * second SIGTERM). Every wait has its deadline: the announce timer, the grace timer.
 */
public final class Shutdown {

  private static final Logger LOG = LoggerFactory.getLogger(Shutdown.class);
  /** The local event bus address {@code POST /api/v1/shutdown} asks; the answer is {@link #begin}'s. */
  public static final String ADDRESS = "cutover.shutdown";
  /** How often the drain looks whether the last session ended (ms). */
  static final long POLL_MILLIS = 100;
  /** How often the drain logs the sessions left (ms). */
  static final long REPORT_MILLIS = 5_000;

  /** Where a shutdown stands; {@link #RUNNING} before it began. */
  public enum Phase {
    RUNNING, ANNOUNCING, DRAINING, CLOSING;

    /** The value of {@code cutover_shutdown_phase}: 0 running, 1 announcing, 2 draining, 3 closing. */
    public int metric() {
      return ordinal();
    }
  }

  private final Vertx vertx;
  private final ShutdownOptions options;
  private final ClientConnections connections;
  private final Supplier<Future<Void>> stopAccepting;
  private final Supplier<Future<Void>> close;
  private final Promise<Void> done = Promise.promise();
  private volatile Phase phase = Phase.RUNNING;
  private volatile String reason;
  private volatile Runnable onBegin = () -> { };
  private volatile Supplier<Future<Void>> stopHttp = Future::succeededFuture;
  private long beganNanos;
  private long drainNanos;

  /**
   * @param stopAccepting closes the listeners (established sessions stay); its Future completes once they are closed
   * @param close         closes the rest of Cutover (Vert.x included)
   */
  public Shutdown(Vertx vertx, ShutdownOptions options, ClientConnections connections,
                  Supplier<Future<Void>> stopAccepting, Supplier<Future<Void>> close) {
    this.vertx = vertx;
    this.options = options;
    this.connections = connections;
    this.stopAccepting = stopAccepting;
    this.close = close;
  }

  /** Runs {@code action} when a shutdown begins (e.g. a watchdog that bounds it); it must not block. */
  public void onBegin(Runnable action) {
    this.onBegin = action;
  }

  /** What a {@link #handover} closes at once besides the data listeners: the HTTP listener. */
  public void onHandover(Supplier<Future<Void>> stopHttp) {
    this.stopHttp = stopHttp;
  }

  public Phase phase() {
    return phase;
  }

  /** Why Cutover is shutting down (for the health checks), or {@code null} while it runs. */
  public String reason() {
    return reason;
  }

  /** Completes once Cutover is closed. */
  public Future<Void> done() {
    return done.future();
  }

  private int open() {
    return connections.open(Endpoint.WRITE) + connections.open(Endpoint.READ);
  }

  private String counts() {
    return open() + " client connection(s) open (write " + connections.open(Endpoint.WRITE) + ", read "
        + connections.open(Endpoint.READ) + ")";
  }

  /**
   * Starts the shutdown ({@code trigger}: {@code SIGTERM}, {@code api}); a later call changes nothing.
   *
   * @return what was started, for the API's answer: {@code {"phase", "announce_ms", "grace_ms", "client_connections"}}
   */
  public synchronized JsonObject begin(String trigger) {
    if (phase == Phase.RUNNING) {
      phase = Phase.ANNOUNCING;
      beganNanos = System.nanoTime();
      reason = "shutting down (" + trigger + "): new sessions accepted until the listeners close in "
          + Durations.format(options.announce()) + " (shutdown.announce)";
      LOG.info("shutdown ({}): readiness answers 503; new sessions still accepted for {} (shutdown.announce); {}",
          trigger, Durations.format(options.announce()), counts());
      onBegin.run();
      if (options.announce().isZero()) {
        drain();
      } else {
        vertx.setTimer(options.announce().toMillis(), t -> drain());
      }
    } else {
      LOG.info("shutdown ({}): already {}", trigger, phase.name().toLowerCase(java.util.Locale.ROOT));
    }
    return new JsonObject().put("phase", phase.name().toLowerCase(java.util.Locale.ROOT))
        .put("announce_ms", options.announce().toMillis()).put("grace_ms", options.grace().toMillis())
        .put("client_connections", open());
  }

  /**
   * Hands over to a successor that serves the same ports ({@code SIGUSR1}, sent by {@code scripts/restart} once the
   * successor is ready): the HTTP and data listeners close at once, without {@code shutdown.announce} (the addresses
   * stay served, and the kernel passes connections not yet accepted to the successor when
   * {@code net.ipv4.tcp_migrate_req} is 1); established sessions run on as in a shutdown. Also ends an announce
   * under way; later in a shutdown it changes nothing.
   *
   * @return as {@link #begin}
   */
  public synchronized JsonObject handover(String trigger) {
    if (phase == Phase.RUNNING || phase == Phase.ANNOUNCING) {
      if (phase == Phase.RUNNING) {
        beganNanos = System.nanoTime();
        onBegin.run();
      }
      phase = Phase.ANNOUNCING;
      LOG.info("handover ({}): a successor serves these ports: the HTTP and data listeners close now; {}", trigger, counts());
      stopHttp.get().onFailure(err -> LOG.warn("handover: closing the HTTP listener failed: {}", err.toString()));
      drain();
    } else {
      LOG.info("handover ({}): already {}", trigger, phase.name().toLowerCase(java.util.Locale.ROOT));
    }
    return new JsonObject().put("phase", phase.name().toLowerCase(java.util.Locale.ROOT))
        .put("announce_ms", 0).put("grace_ms", options.grace().toMillis()).put("client_connections", open());
  }

  private synchronized void drain() {
    if (phase != Phase.ANNOUNCING) {
      return;
    }
    phase = Phase.DRAINING;
    drainNanos = System.nanoTime();
    reason = "shutting down: the listeners are closed; established sessions end within "
        + Durations.format(options.grace()) + " (shutdown.grace)";
    stopAccepting.get().onComplete(ar -> {
      if (ar.failed()) {
        LOG.warn("shutdown: closing the listeners failed: {}", ar.cause().toString());
      }
    });
    LOG.info("shutdown: listeners closed (no new sessions); waiting up to {} (shutdown.grace) for {}",
        Durations.format(options.grace()), counts());
    long deadline = drainNanos + options.grace().toNanos();
    long[] nextReport = {drainNanos + REPORT_MILLIS * 1_000_000};
    // the connections open at the previous look: at the deadline the listeners close what is left themselves (Vert.x's
    // graceful server shutdown, with the same grace), so the deadline is looked at first and reports these
    String[] open = {counts()};
    // set on an event loop: Vert.x 5.0 cannot cancel a periodic timer from a first run that came before setPeriodic
    // returned (NullPointerException in cancelTimer), as it can when called from a signal's thread
    vertx.runOnContext(start -> vertx.setPeriodic(POLL_MILLIS, POLL_MILLIS, id -> {
      long now = System.nanoTime();
      if (phase != Phase.DRAINING) {
        vertx.cancelTimer(id);
      } else if (now - deadline >= 0) {
        vertx.cancelTimer(id);
        closing("shutdown.grace (" + Durations.format(options.grace()) + ") is over: closing " + open[0]);
      } else if (open() == 0) {
        vertx.cancelTimer(id);
        closing("the last session ended " + (now - drainNanos) / 1_000_000 + " ms after the listeners closed");
      } else if (now - nextReport[0] >= 0) {
        nextReport[0] = now + REPORT_MILLIS * 1_000_000;
        LOG.info("shutdown: draining, {}; {} ms of shutdown.grace left", counts(), (deadline - now) / 1_000_000);
      }
      open[0] = counts();
    }));
  }

  /** Closes now, whatever the phase (a second SIGTERM); a no-op once closing. */
  public void now(String trigger) {
    synchronized (this) {
      if (phase == Phase.RUNNING) {
        beganNanos = System.nanoTime();
        onBegin.run();
      }
    }
    closing(trigger + " during the shutdown: closing " + counts() + " now");
  }

  private void closing(String why) {
    synchronized (this) {
      if (phase == Phase.CLOSING) {
        return;
      }
      phase = Phase.CLOSING;
      reason = "shutting down: closing";
    }
    LOG.info("shutdown: {}; stopping ({} ms after the shutdown began)", why, (System.nanoTime() - beganNanos) / 1_000_000);
    close.get().onComplete(ar -> done.tryComplete());
  }
}
