package io.cutover.monitor;

/**
 * Where the failover state machine's {@link FailoverMachine.Authority} comes from: a single instance
 * always promotes ({@link #SINGLE}); clustered Cutover asks the cluster (leader, members, verdicts).
 */
public interface AuthoritySource {

  /** A single Cutover instance: always the failover authority. */
  /** This instance's authority and why (e.g. "2 of 3 instances see pg1 DOWN, quorum 2"). */
  record Standing(FailoverMachine.Authority authority, String reason) {
  }

  AuthoritySource SINGLE = new AuthoritySource() {
    @Override
    public Standing standing() {
      return new Standing(FailoverMachine.Authority.PROMOTE, "single instance");
    }

    @Override
    public void verdict(String primary, boolean down) {
    }

    @Override
    public boolean leader() {
      return true;
    }

    @Override
    public String minority() {
      return null;
    }

    @Override
    public io.vertx.core.Future<Void> fenceEverywhere(String target) {
      return io.vertx.core.Future.succeededFuture();
    }
  };

  /** Non-null (the reason) while this instance sees fewer than a quorum of members. */
  String minority();

  /**
   * Before a promotion: makes every other instance fence {@code target} (stop routing to it and close its
   * sessions) and completes once they all acknowledged, or failed with the members that did not.
   */
  io.vertx.core.Future<Void> fenceEverywhere(String target);

  /**
   * Whether this instance carries out the state machine's actions (promotions, re-pointing, switchover
   * steps, hooks): the single instance, or the cluster's leader. Followers only route.
   */
  boolean leader();

  /** This instance's authority now, as asked at a moment its own checks hold the primary DOWN. */
  Standing standing();

  /**
   * This instance's current verdict on the primary, shared with the other instances.
   *
   * @param primary the primary this instance routes to (or last routed to), {@code null} if none yet
   * @param down    whether this instance's checks hold it DOWN
   */
  void verdict(String primary, boolean down);
}
