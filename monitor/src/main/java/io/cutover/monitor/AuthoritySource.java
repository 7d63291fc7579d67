package io.cutover.monitor;

/**
 * Where the failover state machine's {@link FailoverMachine.Authority} comes from: a single instance
 * always promotes ({@link #SINGLE}); clustered Cutover asks the cluster (leader, members, verdicts).
 */
public interface AuthoritySource {

  /** A single Cutover instance: always the failover authority. */
  AuthoritySource SINGLE = new AuthoritySource() {
    @Override
    public FailoverMachine.Authority authority() {
      return FailoverMachine.Authority.PROMOTE;
    }

    @Override
    public String reason() {
      return "single instance";
    }

    @Override
    public void verdict(String primary, boolean down) {
    }

    @Override
    public boolean leader() {
      return true;
    }
  };

  /**
   * Whether this instance carries out the state machine's actions (promotions, re-pointing, switchover
   * steps, hooks): the single instance, or the cluster's leader. Followers only route.
   */
  boolean leader();

  /** This instance's authority now. */
  FailoverMachine.Authority authority();

  /** Why (for logs and refusals), e.g. "2 of 3 instances see pg1 DOWN, quorum 2". */
  String reason();

  /**
   * This instance's current verdict on the primary, shared with the other instances.
   *
   * @param primary the primary this instance routes to (or last routed to), {@code null} if none yet
   * @param down    whether this instance's checks hold it DOWN
   */
  void verdict(String primary, boolean down);
}
