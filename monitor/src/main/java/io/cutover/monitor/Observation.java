package io.cutover.monitor;

import java.util.Objects;

/**
 * The result of one role check of one target.
 *
 * <p>LSNs are absolute WAL positions in bytes ({@code pg_lsn} {@code X/Y} read as {@code X<<32|Y}),
 * {@code -1} when not applicable or unknown.
 *
 * @param target      the target's name
 * @param atMillis    when the check completed, epoch milliseconds of the injected clock
 * @param latencyMillis connect + query time in milliseconds (also for failures)
 * @param role        the reported role, {@link Role#UNKNOWN} on failure
 * @param timeline    the server's timeline id (primary: current WAL timeline; replica: received
 *                    timeline), {@code -1} if unknown
 * @param currentLsn  primary only: {@code pg_current_wal_lsn()}
 * @param receiveLsn  replica only: {@code pg_last_wal_receive_lsn()}
 * @param replayLsn   replica only: {@code pg_last_wal_replay_lsn()}
 * @param failure     {@code null} on success, else why the check failed
 * @param error       {@code null} on success, else a one-line message
 * @param receiver    replica only: {@code pg_stat_wal_receiver.status} ({@code "streaming"}, {@code "waiting"}, ...),
 *                    {@link #UNREPORTED} when the check cannot see it, {@code null} when no WAL receiver runs (or not a
 *                    replica)
 * @param patroni     what Patroni reported about its cluster ({@link PatroniCheck} only, also on a failed check when
 *                    Patroni answered), else {@code null}
 */
public record Observation(String target, long atMillis, long latencyMillis, Role role, long timeline,
                          long currentLsn, long receiveLsn, long replayLsn,
                          FailureKind failure, String error, String receiver, PatroniFlags patroni) {

  /**
   * The {@code receiver} of a replica whose check cannot see its WAL receiver but whose check source vouches for it as
   * a running replica: Patroni before 3.0.4 (no {@code replication_state} in {@code GET /patroni}) and {@code http}
   * checks (a 200 on the replica path). Counts as streaming ({@link #streaming()}), as HAProxy in front of Patroni
   * would route to it.
   */
  public static final String UNREPORTED = "unreported";

  public Observation {
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(role, "role");
  }

  public boolean ok() {
    return failure == null;
  }

  /** A successful check of a server that reports it is not in recovery. */
  public static Observation primary(String target, long atMillis, long latencyMillis, long timeline, long currentLsn) {
    return new Observation(target, atMillis, latencyMillis, Role.PRIMARY, timeline, currentLsn, -1, -1, null, null, null, null);
  }

  /** A successful check of a server in recovery whose WAL receiver is streaming. */
  public static Observation replica(String target, long atMillis, long latencyMillis, long timeline,
                                    long receiveLsn, long replayLsn) {
    return replica(target, atMillis, latencyMillis, timeline, receiveLsn, replayLsn, "streaming");
  }

  /**
   * A successful check of a server in recovery.
   *
   * @param receiver its WAL receiver's status ({@code pg_stat_wal_receiver.status}), {@code null} when none runs
   */
  public static Observation replica(String target, long atMillis, long latencyMillis, long timeline,
                                    long receiveLsn, long replayLsn, String receiver) {
    return new Observation(target, atMillis, latencyMillis, Role.REPLICA, timeline, -1, receiveLsn, replayLsn, null, null,
        receiver, null);
  }

  /** A failed check. */
  public static Observation failed(String target, long atMillis, long latencyMillis, FailureKind kind, String error) {
    Objects.requireNonNull(kind, "kind");
    return new Observation(target, atMillis, latencyMillis, Role.UNKNOWN, -1, -1, -1, -1, kind, error, null, null);
  }

  /** This observation with what Patroni reported about its cluster. */
  public Observation withPatroni(PatroniFlags flags) {
    return new Observation(target, atMillis, latencyMillis, role, timeline, currentLsn, receiveLsn, replayLsn, failure,
        error, receiver, flags);
  }

  /**
   * A replica whose WAL receiver reports {@code streaming} — or runs while its status is {@code hidden} from a check
   * user without {@code pg_monitor}/{@code pg_read_all_stats} (then a running receiver is the best evidence, and its
   * received timeline is hidden too: the timeline falls back to the last restartpoint's), or is {@link #UNREPORTED}
   * by a check source that vouches for the replica.
   */
  public boolean streaming() {
    return "streaming".equals(receiver) || "hidden".equals(receiver) || UNREPORTED.equals(receiver);
  }

  /** The newest WAL position this server is known to have: current LSN on a primary, replay LSN on a replica. */
  public long positionLsn() {
    return role == Role.PRIMARY ? currentLsn : replayLsn;
  }
}
