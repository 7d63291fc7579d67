package io.cutover.monitor;

/**
 * Why a check failed. Not all failures are equal: a refused connection means the host answers but
 * no postmaster listens (unambiguous), a timeout means a frozen, overloaded or partitioned node that
 * may come back. Later failover rules weigh them differently; the hysteresis counts both.
 */
public enum FailureKind {
  /** TCP connection refused: nothing listens on the target's port. */
  REFUSED,
  /** No answer within the check {@code timeout}. */
  TIMEOUT,
  /** The server answered with an error (e.g. "the database system is starting up", auth failure). */
  ERROR
}
