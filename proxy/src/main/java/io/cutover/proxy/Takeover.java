package io.cutover.proxy;

import io.cutover.monitor.AuthoritySource;
import io.cutover.monitor.TakeoverAuthority;
import io.cutover.proxy.config.CutoverConfig;
import io.cutover.proxy.config.ListenAddress;

import io.cutover.config.Durations;
import io.cutover.monitor.Target;
import io.cutover.monitor.TargetState;
import io.cutover.monitor.TargetStatus;
import io.cutover.monitor.Topology;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A start that takes over from a running Cutover on the same ports ({@code --takeover PID}, a zero-downtime restart):
 * <ul>
 *   <li>the listeners share the predecessor's ports ({@code SO_REUSEPORT}) instead of failing on them;</li>
 *   <li>they open only once the monitor has checked every target and both endpoints are routable (or
 *       {@link #routesWait} passed), so that no client reaches this process before it can route; the HTTP listener last, so that health checks on the shared port
 *       never see it unready;</li>
 *   <li>the predecessor keeps the failover authority until it exits ({@link TakeoverAuthority});</li>
 *   <li>the history directory's lock is waited for ({@code History.open} with {@link #exitBound}).</li>
 * </ul>
 * The predecessor is told to hand over ({@code SIGUSR1}) by whoever started this process, once it is ready
 * ({@code scripts/restart}).
 *
 * @param pid         the predecessor's PID
 * @param predecessor its process, as found at start (a reused PID is not mistaken for it)
 */
public record Takeover(long pid, ProcessHandle predecessor) {

  private static final Logger LOG = LoggerFactory.getLogger(Takeover.class);

  /** Slack above the predecessor's own shutdown bound before this process stops waiting for it. */
  static final Duration SLACK = Duration.ofSeconds(15);

  /**
   * The problems that forbid a takeover from {@code pid} with {@code config}, one line each (empty: none): the process
   * must run, the listeners need fixed ports, and clustered instances restart one at a time instead.
   */
  public static List<String> problems(long pid, CutoverConfig config) {
    List<String> out = new ArrayList<>();
    Optional<Takeover> running = pid == ProcessHandle.current().pid() ? Optional.empty() : of(pid);
    if (running.isEmpty()) {
      out.add("--takeover " + pid + ": no such process (give the PID of the running Cutover this one takes over from)");
    } else if (!running.get().predecessor().info().commandLine().map(c -> c.contains("cutover")).orElse(true)) {
      out.add("--takeover " + pid + ": that process is not Cutover (" + running.get().predecessor().info().command()
          .orElse("?") + "); a stale PID file?");
    }
    Map<String, ListenAddress> listeners = new LinkedHashMap<>();
    listeners.put("listeners.write", config.write());
    listeners.put("listeners.read", config.read());
    listeners.put("listeners.http", config.http());
    listeners.forEach((key, address) -> {
      if (address.port() == 0) {
        out.add("--takeover: " + key + " has port 0; a takeover shares fixed ports with its predecessor");
      }
    });
    if (config.cluster().enabled()) {
      out.add("--takeover: not for clustered instances (cluster.enabled): restart the members one at a time, each "
          + "leaving the cluster gracefully on SIGTERM");
    }
    return out;
  }

  /** The takeover from {@code pid}, when that process runs. */
  public static Optional<Takeover> of(long pid) {
    return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).map(p -> new Takeover(pid, p));
  }

  /**
   * How long the predecessor may take to exit: its shutdown's own bound (the watchdog's {@code shutdown.announce +
   * shutdown.grace +} {@link Cutover#CLOSE_DEADLINE} + 5 s, taking this configuration's values) plus {@link #SLACK}.
   */
  static Duration exitBound(CutoverConfig config) {
    return config.shutdown().announce().plus(config.shutdown().grace()).plus(Cutover.CLOSE_DEADLINE)
        .plusSeconds(5).plus(SLACK);
  }

  /**
   * How long the listeners wait for routes ({@link #firstChecks}): 5 check periods ({@code checks.interval +
   * checks.timeout}; enough for a target whose first check timed out to come up after {@code rise} checks) and 10 s.
   */
  static Duration routesWait(CutoverConfig config) {
    return config.checks().getInterval().plus(config.checks().getTimeout()).multipliedBy(5).plusSeconds(10);
  }

  /**
   * Waits until {@code view} can route both endpoints from checks of every target (polled every 50 ms), at most
   * {@code wait}: a first check that timed out while this JVM warmed up does not open the listeners on a target
   * wrongly held down.
   *
   * @return completed then, or at the deadline with a warning naming what is missing (the listeners open anyway: the
   *         predecessor serves alongside with the same view of the cluster, and new write sessions wait
   *         {@code proxy.connect_wait} for a primary); never failed
   */
  static Future<Void> firstChecks(Vertx vertx, TopologyView view, Duration wait) {
    Promise<Void> done = Promise.promise();
    long deadline = System.nanoTime() + wait.toNanos();
    vertx.setPeriodic(50, 50, id -> { // not 0 first: see Shutdown#drain
      Topology t = view.current();
      List<String> unchecked = t.targets().stream().filter(s -> s.state() == TargetState.UNKNOWN).map(TargetStatus::name)
          .toList();
      Route write = view.peek(t, Endpoint.WRITE);
      Route read = view.peek(t, Endpoint.READ);
      if (unchecked.isEmpty() && write.routable() && read.routable()) {
        vertx.cancelTimer(id);
        LOG.info("takeover: every target checked, write endpoint to {}, read endpoint to {}; opening the listeners beside "
            + "the predecessor's", t.primary(), read.candidates().stream().map(Target::name).toList());
        done.tryComplete();
      } else if (System.nanoTime() - deadline >= 0) {
        vertx.cancelTimer(id);
        LOG.warn("takeover: after {}: {}; opening the listeners anyway", Durations.format(wait), unchecked.isEmpty()
            ? "write endpoint: " + (write.routable() ? "routable" : write.reason()) + "; read endpoint: "
            + (read.routable() ? "routable" : read.reason()) : unchecked + " not checked yet");
        done.tryComplete();
      }
    });
    return done.future();
  }

  /** {@code base} held back while the predecessor runs ({@link TakeoverAuthority}). */
  AuthoritySource authority(AuthoritySource base) {
    return new TakeoverAuthority(base, "PID " + pid, this::predecessorRuns);
  }

  /**
   * Whether the predecessor still runs: alive ({@link ProcessHandle#isAlive()}, which also tells a reused PID) and not a
   * zombie left for its parent to reap (it has exited then).
   */
  boolean predecessorRuns() {
    if (!predecessor.isAlive()) {
      return false;
    }
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
      int end = stat.lastIndexOf(')');
      return end < 0 || end + 2 >= stat.length() || stat.charAt(end + 2) != 'Z';
    } catch (IOException | RuntimeException e) {
      return predecessor.isAlive(); // no /proc here: the JDK's answer
    }
  }

  /**
   * How long a takeover waits for the history directory's lock: until the predecessor has surely ended
   * ({@link #routesWait}, then twice {@link #exitBound}: see {@link #enforceExit}) and 10 s.
   */
  static Duration lockWait(CutoverConfig config) {
    return routesWait(config).plus(exitBound(config).multipliedBy(2)).plusSeconds(10);
  }

  /**
   * The deadline of the wait for the predecessor, from the moment this process serves: a predecessor still running
   * {@link #exitBound} later (nobody sent it SIGUSR1) is sent SIGTERM — its graceful shutdown; one still running
   * another {@link #exitBound} later is killed. Each is logged as an error with the reason. Until it ends, it keeps
   * the failover authority ({@link TakeoverAuthority}): two processes never decide at once.
   */
  void enforceExit(Vertx vertx, CutoverConfig config) {
    long bound = exitBound(config).toMillis();
    vertx.setTimer(bound, t -> {
      if (predecessorRuns()) {
        LOG.error("takeover: PID {} still runs {} ms after this process began serving (it is sent SIGUSR1 once this "
            + "one serves: scripts/restart does): sending it SIGTERM, a graceful shutdown; it keeps the failover "
            + "authority until it exits", pid, bound);
        predecessor.destroy();
        vertx.setTimer(bound, t2 -> {
          if (predecessorRuns()) {
            LOG.error("takeover: PID {} still runs {} ms after its SIGTERM: killing it (SIGKILL)", pid, bound);
            predecessor.destroyForcibly();
          }
        });
      }
    });
  }
}
