package io.cutover.monitor;

import java.time.Duration;

/**
 * Fall/rise hysteresis for one target, with HAProxy's semantics ({@code src/check.c}): one saturating
 * counter {@code health} in {@code 0 .. rise+fall-1}; the target is UP while {@code health >= rise}.
 *
 * <ul>
 *   <li>From full health ({@code rise+fall-1}) an UP target goes DOWN after {@code fall} consecutive
 *       failed checks. While UP, a success moves the counter back up by one, so scattered failures
 *       between successes do not accumulate into a DOWN.</li>
 *   <li>A DOWN target goes UP after {@code rise} consecutive successful checks; a failure while DOWN
 *       restarts the count. Going UP restores full health.</li>
 *   <li>At start-up the state is {@link TargetState#UNKNOWN}; the first check decides, as HAProxy starts
 *       servers with the minimum health: success → UP at {@code health = rise} (one more failure before full
 *       health makes it DOWN again), failure → DOWN at {@code health = 0}.</li>
 *   <li>While the counter is between its extremes (the target is changing state) the next check
 *       comes after {@code fastinter} instead of {@code interval} (HAProxy's {@code fastinter}).</li>
 * </ul>
 *
 * <p>Plain, I/O-free and not thread-safe: the monitor drives one instance per target from one thread.
 */
public final class Health {

  private final int fall;
  private final int rise;
  private int health;
  private TargetState state = TargetState.UNKNOWN;

  /**
   * @param fall consecutive failed checks that take a healthy target DOWN, at least 1
   * @param rise consecutive successful checks that bring a DOWN target UP, at least 1
   * @throws IllegalArgumentException if {@code fall} or {@code rise} is below 1
   */
  public Health(int fall, int rise) {
    if (fall < 1 || rise < 1) {
      throw new IllegalArgumentException("fall and rise must be >= 1, got fall=" + fall + " rise=" + rise);
    }
    this.fall = fall;
    this.rise = rise;
  }

  private int max() {
    return rise + fall - 1;
  }

  /**
   * Records one check result.
   *
   * @return {@code true} if the state changed (UNKNOWN→UP/DOWN, UP→DOWN or DOWN→UP)
   */
  public boolean record(boolean ok) {
    TargetState before = state;
    switch (state) {
      case UNKNOWN -> {
        state = ok ? TargetState.UP : TargetState.DOWN;
        health = ok ? rise : 0;
      }
      case UP -> {
        if (ok) {
          health = Math.min(max(), health + 1);
        } else if (health > rise) {
          health--;
        } else {
          state = TargetState.DOWN;
          health = 0;
        }
      }
      case DOWN -> {
        if (!ok) {
          health = 0;
        } else if (++health >= rise) {
          state = TargetState.UP;
          health = max();
        }
      }
    }
    return state != before;
  }

  public TargetState state() {
    return state;
  }

  /** The raw counter, {@code 0 .. rise+fall-1} (for diagnostics). */
  public int health() {
    return health;
  }

  /** {@code true} while the counter is between its extremes or nothing is known yet. */
  public boolean transitioning() {
    return state == TargetState.UNKNOWN || (health != 0 && health != max());
  }

  /**
   * This hysteresis under new {@code fall} and {@code rise} (a configuration reload); this one is not changed. The
   * state is kept, and so is the progress towards the next change: an UP target keeps the failures it took since full
   * health (its counter as far below the new full health, but at least {@code rise}: still UP), a DOWN target keeps
   * its successes in a row (at most {@code rise - 1}: UP at its next success at the earliest), an unknown target
   * stays unknown.
   *
   * @throws IllegalArgumentException if {@code fall} or {@code rise} is below 1
   */
  public Health reconfigured(int fall, int rise) {
    Health h = new Health(fall, rise);
    h.state = state;
    h.health = switch (state) {
      case UP -> Math.max(rise, h.max() - (max() - health));
      case DOWN -> Math.min(health, rise - 1);
      case UNKNOWN -> 0;
    };
    return h;
  }

  /**
   * When the next check is due after the one just recorded.
   *
   * @return {@code fastinter} while {@link #transitioning()}, else {@code interval}
   */
  public Duration nextDelay(Duration interval, Duration fastinter) {
    return transitioning() ? fastinter : interval;
  }
}
