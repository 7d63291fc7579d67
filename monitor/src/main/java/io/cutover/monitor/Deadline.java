package io.cutover.monitor;

import java.time.Duration;

/**
 * The point in time an operation must be finished by, on the monotonic clock ({@link System#nanoTime()}),
 * together with the limit that set it, so that an error can say which deadline passed, e.g.
 * {@code failover.promote_timeout 10000 ms}.
 *
 * @param atNanos {@link System#nanoTime()} value at which the deadline passes
 * @param limit   the limit that set it, in words and milliseconds (for error messages)
 */
public record Deadline(long atNanos, String limit) {

  /**
   * A deadline {@code budget} from now.
   *
   * @param budget  how long the operation may take; zero or negative means already passed
   * @param setting the name of the limit, e.g. {@code failover.promote_timeout}; the budget in ms is appended
   */
  public static Deadline in(Duration budget, String setting) {
    return new Deadline(System.nanoTime() + budget.toNanos(), setting + " " + budget.toMillis() + " ms");
  }

  /**
   * A deadline given as wall-clock epoch milliseconds (as callers that work with {@link java.time.Clock}
   * pass it), converted to the monotonic clock once, now.
   *
   * @param epochMillis when it passes, milliseconds since the epoch
   * @param setting     the name of the limit, for error messages; the budget from now in ms is appended
   */
  public static Deadline atEpochMillis(long epochMillis, String setting) {
    return in(Duration.ofMillis(epochMillis - System.currentTimeMillis()), setting);
  }

  /** Milliseconds left, never negative (0 once passed). */
  public long remainingMillis() {
    return Math.max(0, (atNanos - System.nanoTime()) / 1_000_000);
  }

  /** Whether the deadline has passed. */
  public boolean passed() {
    return System.nanoTime() - atNanos >= 0;
  }

  /**
   * The earlier of this deadline and {@code budget} from now; when {@code budget} is the earlier one, its
   * {@code setting} names the limit.
   */
  public Deadline capped(Duration budget, String setting) {
    Deadline other = in(budget, setting);
    return other.atNanos - atNanos < 0 ? other : this;
  }
}
