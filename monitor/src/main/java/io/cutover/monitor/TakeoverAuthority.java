package io.cutover.monitor;

import io.vertx.core.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * The failover authority of a process taking over from its predecessor on the same ports (a zero-downtime restart,
 * {@code --takeover PID}): one authority at a time. While the predecessor runs, it keeps deciding (it drains its
 * sessions and monitors meanwhile); this process follows ({@link Authority#FOLLOW}: routes by observed roles, carries
 * out no promotion, re-pointing, switchover or hook). From the first input after the predecessor exited, the
 * {@code base} source decides alone.
 *
 * <p>Re-derived at every input from whether the predecessor still runs, nothing latched. The wait has a deadline
 * ({@code deadlineMillis} after construction, on the {@code nanos} clock): a predecessor still running then (its own
 * shutdown watchdog should have ended it) no longer holds the authority back, which is logged as an error once.
 */
public final class TakeoverAuthority implements AuthoritySource {

  private static final Logger LOG = LoggerFactory.getLogger(TakeoverAuthority.class);

  private final AuthoritySource base;
  private final String predecessor;
  private final BooleanSupplier predecessorRuns;
  private final LongSupplier nanos;
  private final long deadlineNanos;
  private final long deadlineMillis;
  /** The last standing reported in the log ({@code null}: none yet); only for logging the changes. */
  private String logged;

  /**
   * @param base            the authority once the predecessor is gone ({@link AuthoritySource#SINGLE} for one instance)
   * @param predecessor     how the predecessor is named in reasons, e.g. {@code PID 4242}
   * @param predecessorRuns whether it still runs (e.g. {@link ProcessHandle#isAlive()}, which also tells a reused PID)
   * @param nanos           a monotonic clock in ns ({@link System#nanoTime()})
   * @param deadlineMillis  how long the predecessor may hold the authority, in ms from now
   */
  public TakeoverAuthority(AuthoritySource base, String predecessor, BooleanSupplier predecessorRuns, LongSupplier nanos,
                           long deadlineMillis) {
    this.base = base;
    this.predecessor = predecessor;
    this.predecessorRuns = predecessorRuns;
    this.nanos = nanos;
    this.deadlineMillis = deadlineMillis;
    this.deadlineNanos = nanos.getAsLong() + deadlineMillis * 1_000_000;
  }

  /** Whether the predecessor holds the failover authority now: it runs, and the deadline has not passed. */
  public boolean predecessorDecides() {
    boolean runs = predecessorRuns.getAsBoolean();
    boolean over = nanos.getAsLong() - deadlineNanos >= 0;
    String now = !runs ? "exited" : over ? "deadline" : "waiting";
    if (!now.equals(logged)) {
      logged = now;
      switch (now) {
        case "waiting" -> LOG.info("takeover: {} keeps the failover authority until it exits (at most {} ms); "
            + "this process follows it meanwhile", predecessor, deadlineMillis);
        case "exited" -> LOG.info("takeover: {} exited: this process is the failover authority", predecessor);
        default -> LOG.error("takeover: {} still runs {} ms after this process started; it should have exited: this "
            + "process takes the failover authority", predecessor, deadlineMillis);
      }
    }
    return runs && !over;
  }

  @Override
  public Standing standing() {
    return predecessorDecides()
        ? new Standing(Authority.FOLLOW, "taking over from " + predecessor + ", which decides until it exits")
        : base.standing();
  }

  @Override
  public boolean leader() {
    return !predecessorDecides() && base.leader();
  }

  @Override
  public String minority() {
    return base.minority();
  }

  @Override
  public Future<Long> decide(String kind, String oldPrimary, String newPrimary, long version) {
    if (predecessorDecides()) {
      return Future.failedFuture(new IllegalStateException("taking over from " + predecessor
          + ": it decides until it exits; try again once it has"));
    }
    return base.decide(kind, oldPrimary, newPrimary, version);
  }

  @Override
  public void promoted(String target) {
    base.promoted(target);
  }

  @Override
  public void unfenceEverywhere(String target) {
    base.unfenceEverywhere(target);
  }

  @Override
  public long versionSeen() {
    return base.versionSeen();
  }

  @Override
  public void verdict(String primary, boolean down, long version) {
    base.verdict(primary, down, version);
  }
}
