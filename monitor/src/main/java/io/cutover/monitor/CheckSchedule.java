package io.cutover.monitor;

import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * When each target is checked: one check in flight per target, the next one due {@code interval} or {@code fastinter}
 * after the start of the last (as the hysteresis says), at once on request ({@link #checkNow}), sooner on a hint
 * ({@link #hint}). A reload changes the targets ({@link #retarget}): a removed target is no longer checked, an added or
 * re-addressed one is checked at once, the others keep their pace. A check of an address that is no longer configured
 * (its target removed or re-addressed while it ran) is ignored when it ends. Runs on the monitor's context.
 */
final class CheckSchedule {

  private static final Logger LOG = LoggerFactory.getLogger(MonitorVerticle.class);

  private final Vertx vertx;
  private final Clock clock;
  private final Supplier<Check> check;
  private final BiConsumer<Target, Observation> results;
  private final ToLongFunction<String> nextDelayMillis;
  private final LongSupplier fastinterMillis;
  private final Map<String, Target> targets = new LinkedHashMap<>();
  private final Map<String, Long> timers = new HashMap<>();
  private final Set<String> inFlight = new HashSet<>();
  private final Set<String> recheckRequested = new HashSet<>();
  private final Map<String, Long> lastStart = new HashMap<>();
  private boolean stopped;

  /**
   * @param check           the checks in effect (replaced by a reload)
   * @param results         handles each observation of a configured target (a failure is logged, the schedule goes on)
   * @param nextDelayMillis when a target's next check is due after the one just handled, in ms from its start
   * @param fastinterMillis {@code checks.fastinter} in ms
   */
  CheckSchedule(Vertx vertx, Clock clock, Supplier<Check> check, BiConsumer<Target, Observation> results,
                ToLongFunction<String> nextDelayMillis, LongSupplier fastinterMillis) {
    this.vertx = vertx;
    this.clock = clock;
    this.check = check;
    this.results = results;
    this.nextDelayMillis = nextDelayMillis;
    this.fastinterMillis = fastinterMillis;
  }

  /** Starts checking {@code list}, every target at once. */
  void start(List<Target> list) {
    list.forEach(t -> targets.put(t.name(), t));
    list.forEach(this::run);
  }

  /** The configured target named {@code name}, or {@code null}. */
  Target target(String name) {
    return targets.get(name);
  }

  /**
   * The targets are {@code list} from now on: removed ones stop being checked; added and re-addressed ones are checked
   * at once (a re-addressed one right after its check in flight, whose result is ignored); the others go on as they were.
   */
  void retarget(List<Target> list) {
    Map<String, Target> next = new LinkedHashMap<>();
    list.forEach(t -> next.put(t.name(), t));
    List<Target> start = new ArrayList<>();
    for (Target t : list) {
      if (!t.equals(targets.get(t.name()))) {
        start.add(t);
      }
    }
    for (String name : targets.keySet()) {
      if (!targets.get(name).equals(next.get(name))) {
        cancel(name);
        recheckRequested.remove(name);
      }
    }
    targets.clear();
    targets.putAll(next);
    start.stream().filter(t -> !inFlight.contains(t.name())).forEach(this::run);
  }

  /** Stops checking: no check starts any more and results still in flight are dropped. */
  void stop() {
    stopped = true;
    timers.values().forEach(vertx::cancelTimer);
    timers.clear();
  }

  /**
   * A hint from the data plane (a backend connect failed): check the target soon, but never sooner than
   * {@code fastinter} after its previous check started, so hints speed detection up to the fastinter pace
   * and are never a verdict by themselves.
   */
  void hint(String target) {
    Long last = lastStart.get(target);
    long since = last == null ? Long.MAX_VALUE : (System.nanoTime() - last) / 1_000_000;
    long wait = fastinterMillis.getAsLong() - since;
    if (wait <= 0) {
      checkNow(target);
    } else if (!inFlight.contains(target) && timers.containsKey(target)) {
      cancel(target);
      timers.put(target, vertx.setTimer(wait, id -> {
        timers.remove(target);
        runCurrent(target);
      }));
    }
  }

  /** Checks {@code target} as soon as possible (after the check in flight, if any). */
  void checkNow(String target) {
    Target t = targets.get(target);
    if (t == null || stopped) {
      return;
    }
    if (inFlight.contains(target)) {
      recheckRequested.add(target);
      return;
    }
    cancel(target);
    run(t);
  }

  private void cancel(String name) {
    Long timer = timers.remove(name);
    if (timer != null) {
      vertx.cancelTimer(timer);
    }
  }

  private void runCurrent(String name) {
    Target t = targets.get(name);
    if (t != null && !stopped) {
      run(t);
    }
  }

  private void run(Target target) {
    String name = target.name();
    long started = System.nanoTime();
    lastStart.put(name, started);
    inFlight.add(name);
    check.get().check(target).onComplete(ar -> {
      inFlight.remove(name);
      if (stopped) {
        return;
      }
      boolean current = target.equals(targets.get(name));
      if (current) {
        try {
          results.accept(target, ar.succeeded() ? ar.result() : Observation.failed(name, clock.millis(),
              (System.nanoTime() - started) / 1_000_000, FailureKind.ERROR, Errors.describe(ar.cause())));
        } catch (RuntimeException e) {
          // a bug in handling one result must never stop this target's checks
          LOG.error("handling the check of {} failed: {}", name, e.toString(), e);
        }
      }
      if (!targets.containsKey(name)) {
        recheckRequested.remove(name);
        return;
      }
      if (recheckRequested.remove(name) || !current) {
        runCurrent(name);
        return;
      }
      long dueIn = nextDelayMillis.applyAsLong(name) - (System.nanoTime() - started) / 1_000_000;
      timers.put(name, vertx.setTimer(Math.max(1, dueIn), id -> {
        timers.remove(name);
        runCurrent(name);
      }));
    });
  }
}
