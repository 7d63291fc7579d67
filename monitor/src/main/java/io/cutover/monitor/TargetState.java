package io.cutover.monitor;

/** Health of a target as decided by the fall/rise hysteresis ({@link Health}). */
public enum TargetState {
  /** No check has completed yet. Never routed. */
  UNKNOWN,
  /** Passed {@code rise} consecutive checks (or the first check at start-up) and not yet failed {@code fall}. */
  UP,
  /** Failed {@code fall} consecutive checks from full health (or the first check at start-up). */
  DOWN;

  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
