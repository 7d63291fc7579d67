package io.cutover.monitor;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

import java.time.Clock;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The monitor's checks: picks the {@link Check} for each target by its kind ({@link CheckOptions#kindOf}) and applies
 * {@code checks.simulate_unreachable} (a target listed there fails every check as a timeout after
 * {@code checks.timeout}, whatever its kind). The HTTP clients of the {@code patroni} and {@code http} checks are
 * created once, only when a target uses that kind, and closed by {@link #close()}.
 */
public final class Checks implements Check {

  private final Vertx vertx;
  private final CheckOptions options;
  private final Clock clock;
  private final Map<CheckKind, Check> byKind = new EnumMap<>(CheckKind.class);

  /**
   * @param targets the targets to be checked (which kinds are needed)
   */
  public Checks(Vertx vertx, CheckOptions options, Clock clock, List<Target> targets) {
    this.vertx = vertx;
    this.options = options;
    this.clock = clock;
    byKind.put(CheckKind.SQL, new SqlCheck(vertx, options, clock));
    for (Target t : targets) {
      switch (options.kindOf(t.name())) {
        case PATRONI -> byKind.computeIfAbsent(CheckKind.PATRONI, k -> new PatroniCheck(vertx, options, clock));
        case HTTP -> byKind.computeIfAbsent(CheckKind.HTTP, k -> new HttpRoleCheck(vertx, options, clock));
        default -> { }
      }
    }
  }

  @Override
  public Future<Observation> check(Target target) {
    if (options.getSimulateUnreachable().contains(target.name())) {
      long started = System.nanoTime();
      long timeoutMs = options.getTimeout().toMillis();
      Promise<Observation> result = Promise.promise();
      vertx.setTimer(timeoutMs, id -> result.complete(Observation.failed(target.name(), clock.millis(),
          (System.nanoTime() - started) / 1_000_000, FailureKind.TIMEOUT, "no answer within " + timeoutMs + " ms")));
      return result.future();
    }
    Check check = byKind.get(options.kindOf(target.name()));
    return check == null
        ? Future.succeededFuture(Observation.failed(target.name(), clock.millis(), 0, FailureKind.ERROR,
            "no " + options.kindOf(target.name()).label() + " check was set up for this target"))
        : check.check(target);
  }

  @Override
  public Future<Void> close() {
    return Future.join(byKind.values().stream().map(Check::close).toList()).mapEmpty();
  }
}
