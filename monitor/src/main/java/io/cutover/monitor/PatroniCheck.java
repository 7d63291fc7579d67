package io.cutover.monitor;

import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.time.Clock;

/**
 * The {@code patroni} check: one {@code GET /patroni} of the Patroni REST API beside the target (same host, port
 * {@code checks.patroni.port} or the target's {@code check.port}, TLS and basic authentication from
 * {@code checks.patroni}), bounded by {@code checks.timeout}, read by {@link PatroniStatus}.
 *
 * <p>What it sees is Patroni's view: PostgreSQL's role, state, timeline and WAL positions as Patroni last queried
 * them, and the cluster's {@code pause} and {@code cluster_unlocked}. What it cannot see: whether PostgreSQL accepts
 * new sessions (Patroni's own connection may still work when {@code max_connections} is exhausted) — and a REST API
 * that is down fails the check ({@link FailureKind#REFUSED}, {@code GET /patroni: connection refused}) even while
 * PostgreSQL serves, so the target goes DOWN after {@code fall} checks: without Patroni, nobody would fail it over.
 * Conversely, PostgreSQL down under a running Patroni is a failed check with Patroni's state as the reason
 * ({@link FailureKind#ERROR}, {@code Patroni reports state 'start failed'}), or a {@link FailureKind#TIMEOUT} while
 * Patroni still retries its own query of the server before answering (up to its {@code retry_timeout}; seen with
 * Patroni 3.0.2).
 */
public final class PatroniCheck implements Check {

  private final CheckOptions options;
  private final Clock clock;
  private final HttpGet http;

  /** A certificate or key file that cannot be used fails every check with {@link FailureKind#ERROR} naming why. */
  public PatroniCheck(Vertx vertx, CheckOptions options, Clock clock) {
    this.options = options;
    this.clock = clock;
    this.http = new HttpGet(vertx, options.getPatroni(), options.getTimeout());
  }

  @Override
  public Future<Observation> check(Target target) {
    long started = System.nanoTime();
    Deadline deadline = Deadline.in(options.getTimeout(), "checks.timeout");
    return http.get(target.host(), options.httpPortOf(target.name()), PatroniStatus.PATH, deadline).map(a -> {
      long latency = (System.nanoTime() - started) / 1_000_000;
      return a.answered()
          ? PatroniStatus.observe(target.name(), clock.millis(), latency, a.status(), a.body())
          : Observation.failed(target.name(), clock.millis(), latency, a.failure(), "GET " + PatroniStatus.PATH + ": " + a.error());
    });
  }

  @Override
  public Future<Void> close() {
    return http.close();
  }
}
