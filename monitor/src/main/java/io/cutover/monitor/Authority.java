package io.cutover.monitor;

/**
 * This instance's part in a cluster of Cutover instances, set by the clustering layer before each input to
 * the {@link FailoverMachine} (a single instance is always {@link #PROMOTE}). The machine reads it afresh at
 * every input: a follower that becomes the leader decides at its next input (at most one tick, 100 ms).
 */
public enum Authority {
  /** Decide and promote: a single instance, or the leader while a quorum sees the primary DOWN. */
  PROMOTE,
  /** The leader without a quorum: record why and wait; never promote. */
  WAIT,
  /** A follower: leave the decision and the promotion to the leader; obey its fences; route by observed roles. */
  FOLLOW
}
