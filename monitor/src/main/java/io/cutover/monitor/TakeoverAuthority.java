package io.cutover.monitor;

import io.vertx.core.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.BooleanSupplier;

/**
 * The failover authority of a process taking over from its predecessor on the same ports (a zero-downtime restart,
 * {@code --takeover PID}): one authority at a time. While the predecessor runs, it keeps deciding (it drains its
 * sessions and monitors meanwhile); this process follows ({@link Authority#FOLLOW}: routes by observed roles, carries
 * out no promotion, re-pointing, switchover or hook). From the first input after the predecessor exited, the
 * {@code base} source decides alone.
 *
 * <p>Re-derived at every input from whether the predecessor still runs, nothing latched. The wait's deadline is the
 * predecessor's end: whoever starts a takeover makes sure it comes (the process side stops a predecessor that does not
 * hand over in time), so that two processes never decide at once.
 */
public final class TakeoverAuthority implements AuthoritySource {

  private static final Logger LOG = LoggerFactory.getLogger(TakeoverAuthority.class);

  private final AuthoritySource base;
  private final String predecessor;
  private final BooleanSupplier predecessorRuns;
  /** Whether the last look found it running ({@code null}: no look yet); only for logging the change. */
  private Boolean logged;

  /**
   * @param base            the authority once the predecessor is gone ({@link AuthoritySource#SINGLE} for one instance)
   * @param predecessor     how the predecessor is named in reasons, e.g. {@code PID 4242}
   * @param predecessorRuns whether it still runs (e.g. {@link ProcessHandle#isAlive()}, which also tells a reused PID)
   */
  public TakeoverAuthority(AuthoritySource base, String predecessor, BooleanSupplier predecessorRuns) {
    this.base = base;
    this.predecessor = predecessor;
    this.predecessorRuns = predecessorRuns;
  }

  /** Whether the predecessor holds the failover authority now: while it runs. */
  public boolean predecessorDecides() {
    boolean runs = predecessorRuns.getAsBoolean();
    if (!Boolean.valueOf(runs).equals(logged)) {
      logged = runs;
      if (runs) {
        LOG.info("takeover: {} keeps the failover authority until it exits; this process follows it meanwhile", predecessor);
      } else {
        LOG.info("takeover: {} exited: this process is the failover authority", predecessor);
      }
    }
    return runs;
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
