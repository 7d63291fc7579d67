package io.cutover.monitor;

/**
 * Where a cutover stands, as a value with its own deadline (epoch milliseconds of the machine's clock). The
 * {@link FailoverMachine} re-derives everything else from fresh observations at every input; a phase only
 * says what this instance is waiting for and until when. When the deadline passes the machine decides again
 * (another candidate, another probe, giving up) and records why in the incident. Nothing waits forever.
 */
public sealed interface Phase {

  /**
   * Extra time a promotion or switchover phase allows for recording the decision before the database work
   * starts, in ms: clustered, the shared-state update gives up after 8 s and the fence acknowledgements after
   * 3 s (single instance: both are immediate).
   */
  long DECISION_ALLOWANCE_MILLIS = 12_000;

  /** When this phase gives up, epoch ms ({@link Long#MAX_VALUE} for never: only {@link Idle}). */
  long deadline();

  /** When this phase began, epoch ms. */
  long since();

  /** Non-null while new write sessions must be held (the text says why); {@code null} to route by observed roles. */
  default String holdText() {
    return null;
  }

  /** The target this phase fences (the primary being replaced), or {@code null}. */
  default String fences() {
    return null;
  }

  /** The node that counts as the primary while this phase lasts (any other node claiming primary is fenced). */
  default String primaryOfRecord(String knownPrimary) {
    return knownPrimary;
  }

  /** The node being promoted in this phase (kept out of the read pool meanwhile), or {@code null}. */
  default String promoting() {
    return null;
  }

  /** Whether this phase has database work in flight (an operator request must wait for it or its deadline). */
  default boolean busy() {
    return false;
  }

  /** No cutover in flight. */
  record Idle() implements Phase {
    @Override
    public long deadline() {
      return Long.MAX_VALUE;
    }

    @Override
    public long since() {
      return Long.MAX_VALUE;
    }
  }

  /**
   * The primary is lost, but this instance may not promote ({@link Authority#FOLLOW} or {@link Authority#WAIT}):
   * it routes by observed roles and obeys the leader's fences. At the deadline it records that the authority
   * has not acted yet and waits another period; becoming the authority ends the wait at once.
   */
  record WaitingForAuthority(Authority authority, long since, long deadline) implements Phase {
  }

  /**
   * {@code candidate} is being promoted to replace {@code oldPrimary}, which is fenced meanwhile; new writes are
   * held. {@code promoted} once {@code pg_promote()} returned; the phase ends when the candidate reports primary.
   */
  record Promoting(String candidate, String oldPrimary, long since, long deadline, boolean promoted) implements Phase {
    @Override
    public String holdText() {
      return "failover in flight: promoting " + candidate + (oldPrimary == null ? "" : " (was " + oldPrimary + ")");
    }

    @Override
    public String fences() {
      return oldPrimary;
    }

    @Override
    public String primaryOfRecord(String knownPrimary) {
      return candidate;
    }

    @Override
    public String promoting() {
      return candidate;
    }

    @Override
    public boolean busy() {
      return true;
    }
  }

  /** {@code primary} reports primary and is routed; a write through the write endpoint is being probed. */
  record Probing(String primary, long since, long deadline) implements Phase {
  }

  /**
   * A planned switchover from {@code from} to {@code to}: {@code from} is fenced and writes are held.
   * {@code promoted} once the executor reported {@code to} promoted; like {@link Promoting}, the phase stays busy
   * until {@code to} reports primary, since {@code from} (read-only now) still reports primary meanwhile and
   * must neither be probed nor routed.
   */
  record SwitchingOver(String from, String to, long since, long deadline, boolean promoted) implements Phase {
    @Override
    public String holdText() {
      return "switchover in flight: " + from + " -> " + to;
    }

    @Override
    public String fences() {
      return from;
    }

    @Override
    public String primaryOfRecord(String knownPrimary) {
      return to;
    }

    @Override
    public String promoting() {
      return to;
    }

    @Override
    public boolean busy() {
      return true;
    }
  }
}
