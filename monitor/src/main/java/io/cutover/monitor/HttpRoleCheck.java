package io.cutover.monitor;

import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.time.Clock;

/**
 * The {@code http} check, HAProxy's {@code option httpchk} with one path per role: {@code GET} of the primary path and
 * of the replica path ({@code checks.http.primary_path}, {@code replica_path}; Patroni's {@code /primary} and
 * {@code /replica} by default) at once on the endpoint beside the target (same host, port {@code checks.http.port} or
 * the target's {@code check.port}), both within one {@code checks.timeout}; the role follows from the statuses
 * ({@link HttpRoles}).
 *
 * <p>What it cannot see: timelines and WAL positions. So there is no lag figure ({@code read.max_lag} is refused by the
 * configuration: put the limit in the replica path, e.g. {@code /replica?lag=16MB}), no candidate Cutover could
 * promote (failover is left to the cluster manager: {@code follow}), and no RPO bound from positions.
 */
public final class HttpRoleCheck implements Check {

  private final CheckOptions options;
  private final Clock clock;
  private final HttpGet http;

  /** A certificate or key file that cannot be used fails every check with {@link FailureKind#ERROR} naming why. */
  public HttpRoleCheck(Vertx vertx, CheckOptions options, Clock clock) {
    this.options = options;
    this.clock = clock;
    this.http = new HttpGet(vertx, options.getHttp(), options.getTimeout());
  }

  @Override
  public Future<Observation> check(Target target) {
    long started = System.nanoTime();
    Deadline deadline = Deadline.in(options.getTimeout(), "checks.timeout");
    int port = options.httpPortOf(target.name());
    String primaryPath = options.getHttp().primaryPath();
    String replicaPath = options.getHttp().replicaPath();
    Future<HttpAnswer> primary = http.get(target.host(), port, primaryPath, deadline);
    Future<HttpAnswer> replica = http.get(target.host(), port, replicaPath, deadline);
    return Future.join(primary, replica).transform(v -> Future.succeededFuture(HttpRoles.observe(target.name(),
        clock.millis(), (System.nanoTime() - started) / 1_000_000, primaryPath, primary.result(), replicaPath,
        replica.result())));
  }

  @Override
  public Future<Void> close() {
    return http.close();
  }
}
