package io.cutover.monitor;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Polls a condition until a generous deadline (tests never rely on fixed sleeps). */
public final class Poll {

  private Poll() {
  }

  /**
   * Waits until {@code condition} holds.
   *
   * @return how long it took, in milliseconds
   * @throws AssertionError with {@code what} if the deadline passes
   */
  public static long until(Duration deadline, String what, BooleanSupplier condition) {
    long start = System.nanoTime();
    long end = start + deadline.toNanos();
    while (true) {
      if (condition.getAsBoolean()) {
        return (System.nanoTime() - start) / 1_000_000;
      }
      if (System.nanoTime() > end) {
        throw new AssertionError("not within " + deadline.toMillis() + " ms: " + what);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for: " + what);
      }
    }
  }
}
