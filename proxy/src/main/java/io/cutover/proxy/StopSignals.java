package io.cutover.proxy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * SIGTERM and SIGINT start the graceful {@link Shutdown} (readiness 503, announce, drain); either again, once a
 * shutdown is under way (also one started by {@code POST /api/v1/shutdown}), closes at once. When the shutdown is done the process exits with status 0; a watchdog makes sure it does within
 * {@code shutdown.announce + shutdown.grace +} {@link Cutover#CLOSE_DEADLINE} + 5 s whatever happens.
 *
 * SIGUSR1 hands over to a successor on the same ports ({@link Shutdown#handover}), bounded by the same watchdog.
 *
 * <p>The handlers replace the JVM's own (which would run the shutdown hooks and exit at once); they only hand the
 * work to {@link Shutdown}, which runs on Vert.x, and never block.
 */
final class StopSignals {

  private static final Logger LOG = LoggerFactory.getLogger(StopSignals.class);

  private StopSignals() {
  }

  static void install(Cutover cutover) {
    // a shutdown begun any way (a signal, POST /api/v1/shutdown) is bounded by the watchdog
    AtomicBoolean watching = new AtomicBoolean();
    cutover.shutdown().onBegin(() -> {
      if (watching.compareAndSet(false, true)) {
        watchdog(cutover);
      }
    });
    for (String name : new String[] {"TERM", "INT"}) {
      try {
        Signal.handle(new Signal(name), sig -> {
          // each signal is handled on a thread of its own: one decision at a time
          synchronized (StopSignals.class) {
            if (cutover.shutdown().phase() == Shutdown.Phase.RUNNING) {
              cutover.shutdown().begin("SIG" + name);
            } else {
              // a shutdown under way (a signal before, or POST /api/v1/shutdown): this is the second word
              cutover.shutdown().now("SIG" + name + " again");
            }
          }
        });
      } catch (IllegalArgumentException e) {
        // e.g. java -Xrs: the JVM keeps the signal to itself (and stops at once on it)
        LOG.warn("SIG{} cannot be handled here ({}): it stops Cutover without a graceful shutdown", name, e.getMessage());
      }
    }
    try {
      // a successor on the same ports is ready (scripts/restart): hand over, as HAProxy's soft-stop on SIGUSR1
      Signal.handle(new Signal("USR1"), sig -> {
        synchronized (StopSignals.class) {
          cutover.shutdown().handover("SIGUSR1");
        }
      });
    } catch (IllegalArgumentException e) {
      LOG.warn("SIGUSR1 cannot be handled here ({}): a zero-downtime restart cannot hand over", e.getMessage());
    }
    cutover.shutdown().done().onComplete(v -> exit(0, "cutover stopped"));
  }

  private static void watchdog(Cutover cutover) {
    Duration bound = cutover.config().shutdown().announce().plus(cutover.config().shutdown().grace())
        .plus(Cutover.CLOSE_DEADLINE).plusSeconds(5);
    Thread t = new Thread(() -> {
      try {
        Thread.sleep(bound.toMillis());
        exit(1, "the shutdown did not end within " + bound.toMillis() + " ms: exiting");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "cutover-shutdown-watchdog");
    t.setDaemon(true);
    t.start();
  }

  /** Exits from a thread of its own: {@link System#exit} runs the shutdown hooks and must not hold an event loop. */
  private static void exit(int status, String why) {
    Thread t = new Thread(() -> {
      LOG.info(why);
      System.exit(status);
    }, "cutover-exit");
    t.start();
  }
}
