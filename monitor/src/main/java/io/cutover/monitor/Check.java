package io.cutover.monitor;

import io.vertx.core.Future;

/**
 * One way of learning a target's role and WAL positions: {@link SqlCheck} (a session on the server itself),
 * {@link PatroniCheck} (Patroni's {@code GET /patroni}) or {@link HttpRoleCheck} (HAProxy-{@code httpchk}-style role
 * endpoints). {@link Checks} picks one per target ({@code checks.kind}, {@code targets[].check.kind}).
 *
 * <p>Every implementation bounds a check by {@code checks.timeout} and never fails its future: a failed check is an
 * {@link Observation} with a {@link FailureKind} — {@link FailureKind#REFUSED} when nothing listens on the port
 * checked, {@link FailureKind#TIMEOUT} when no complete answer came within {@code checks.timeout},
 * {@link FailureKind#ERROR} when the peer answered but not with a usable role.
 */
public interface Check {

  /**
   * Checks one target.
   *
   * @return the observation, completed within {@code checks.timeout} (plus scheduling delay); never a failed future
   */
  Future<Observation> check(Target target);

  /** Releases what the check holds (HTTP clients); checks must not be started after this. */
  default Future<Void> close() {
    return Future.succeededFuture();
  }
}
