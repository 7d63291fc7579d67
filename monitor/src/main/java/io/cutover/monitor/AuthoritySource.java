package io.cutover.monitor;

import io.vertx.core.Future;

/**
 * Where the failover state machine's {@link Authority} comes from: a single instance
 * always promotes ({@link #SINGLE}); clustered Cutover asks the cluster (leader, members, verdicts) and
 * records its decisions cluster-wide.
 */
public interface AuthoritySource {

  /** This instance's authority and why (e.g. "2 of 3 instances see pg1 DOWN, quorum 2"). */
  record Standing(Authority authority, String reason) {
  }

  /** A single Cutover instance: always the failover authority, nothing to share. */
  AuthoritySource SINGLE = new AuthoritySource() {
    @Override
    public Standing standing() {
      return new Standing(Authority.PROMOTE, "single instance");
    }

    @Override
    public void verdict(String primary, boolean down, long version) {
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
    public Future<Long> decide(String kind, String oldPrimary, String newPrimary, long version) {
      return Future.succeededFuture(version);
    }

    @Override
    public void unfenceEverywhere(String target) {
    }

    @Override
    public long versionSeen() {
      return 0;
    }

    @Override
    public void promoted(String target) {
    }
  };

  /** Non-null (the reason) while this instance sees fewer than a quorum of members. */
  String minority();

  /**
   * Before a cutover is carried out: records the decision cluster-wide and makes every other instance fence
   * {@code oldPrimary} (stop routing to it, close its sessions) by the decision's version, the fencing token.
   *
   * @param kind       {@code failover} or {@code switchover}
   * @param oldPrimary the primary being replaced, {@code null} if none was known
   * @param newPrimary the node about to be promoted
   * @param version    this instance's current topology version; the decision is numbered above it
   * @return the decision's version once every other instance acknowledged the fence; a failed future (and
   *         nothing may be promoted) when the decision cannot be recorded by a majority of members or an
   *         instance did not acknowledge
   */
  Future<Long> decide(String kind, String oldPrimary, String newPrimary, long version);

  /**
   * After a promotion: every other instance checks {@code target} now (at the {@code fastinter} pace at the
   * most), so it routes to the new primary without waiting for its next regular check (best effort).
   */
  void promoted(String target);

  /** After an aborted switchover: every other instance lifts its fence of {@code target} (best effort). */
  void unfenceEverywhere(String target);

  /**
   * The highest topology version this instance has seen from other instances or in a cluster decision
   * (0 for none); the monitor numbers its next snapshot above it.
   */
  long versionSeen();

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
   * @param version this instance's current topology version
   */
  void verdict(String primary, boolean down, long version);
}
