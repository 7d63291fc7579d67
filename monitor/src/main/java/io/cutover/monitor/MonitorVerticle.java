package io.cutover.monitor;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The control plane's thin shell: schedules a {@link RoleCheck} per target (every {@code interval},
 * every {@code fastinter} while the target changes state), feeds results into a {@link TopologyTracker}
 * and publishes each new {@link Topology} as JSON on {@value Topology#ADDRESS}. Requests on
 * {@value Topology#CURRENT_ADDRESS} are answered with the current snapshot.
 *
 * <p>Runs on one event loop; checks never block it.
 */
public final class MonitorVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(MonitorVerticle.class);

  private final List<Target> targets;
  private final CheckOptions options;
  private final long maxLagBytes;
  private final Clock clock;
  private final Map<String, Long> timers = new HashMap<>();
  private TopologyTracker tracker;
  private RoleCheck check;
  private volatile boolean stopped;

  /**
   * @param targets     the configured targets
   * @param options     check settings
   * @param maxLagBytes {@code read.max_lag} in bytes of WAL, {@code <= 0} disables the lag rule
   * @param clock       time source for observations and snapshots
   */
  public MonitorVerticle(List<Target> targets, CheckOptions options, long maxLagBytes, Clock clock) {
    this.targets = List.copyOf(targets);
    this.options = options;
    this.maxLagBytes = maxLagBytes;
    this.clock = clock;
  }

  @Override
  public Future<?> start() {
    tracker = new TopologyTracker(targets, options.getFall(), options.getRise(), maxLagBytes, clock);
    check = new RoleCheck(vertx, options, clock);
    vertx.eventBus().<Object>consumer(Topology.CURRENT_ADDRESS, msg -> msg.reply(tracker.current().toJson()));
    LOG.info("monitor started: targets={} checks={}", targets.stream().map(Target::name).toList(), options.toJson().encode());
    targets.forEach(this::runCheck);
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    timers.values().forEach(vertx::cancelTimer);
    return Future.succeededFuture();
  }

  private void runCheck(Target target) {
    long started = System.nanoTime();
    check.check(target).onSuccess(obs -> {
      if (stopped) {
        return;
      }
      Topology before = tracker.current();
      tracker.record(obs).ifPresent(next -> publish(before, next, obs));
      long dueIn = tracker.nextDelay(target.name(), options.getInterval(), options.getFastinter()).toMillis()
          - (System.nanoTime() - started) / 1_000_000;
      timers.put(target.name(), vertx.setTimer(Math.max(1, dueIn), id -> runCheck(target)));
    });
  }

  private void publish(Topology before, Topology next, Observation obs) {
    if (!next.sameRouting(before)) {
      for (TargetStatus t : next.targets()) {
        TargetStatus old = before.target(t.name()).orElse(null);
        if (old == null || old.state() != t.state() || old.role() != t.role()) {
          LOG.info("target {} {} -> {}/{} (health {}/{}{}) topology v{}", t.name(),
              old == null ? "new" : old.state().label() + "/" + old.role().label(), t.state().label(), t.role().label(),
              tracker.health(t.name()).health(), options.getRise() + options.getFall() - 1,
              t.lastError() == null ? "" : ", last error: " + t.lastError(), next.version());
        }
      }
      LOG.info("topology {}", next.summary());
    } else if (LOG.isDebugEnabled()) {
      LOG.debug("topology {} after {}", next.summary(), obs);
    }
    JsonObject json = next.toJson();
    vertx.eventBus().publish(Topology.ADDRESS, json);
  }

  /** The newest snapshot (call on this verticle's context). */
  public Topology current() {
    return tracker.current();
  }
}
