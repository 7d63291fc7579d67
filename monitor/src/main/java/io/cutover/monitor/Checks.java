package io.cutover.monitor;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

import java.time.Clock;

/**
 * The monitor's checks: picks the {@link Check} for each target and applies {@code checks.simulate_unreachable}
 * (a target listed there fails every check as a timeout after {@code checks.timeout}, whatever its kind).
 */
public final class Checks implements Check {

  private final Vertx vertx;
  private final CheckOptions options;
  private final Clock clock;
  private final Check sql;

  public Checks(Vertx vertx, CheckOptions options, Clock clock) {
    this.vertx = vertx;
    this.options = options;
    this.clock = clock;
    this.sql = new SqlCheck(vertx, options, clock);
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
    return sql.check(target);
  }
}
