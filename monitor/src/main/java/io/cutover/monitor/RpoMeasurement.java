package io.cutover.monitor;

import java.time.Instant;

/**
 * The RPO measured after the fact, from what the two servers say ({@link FailoverExecutor#readRpo}): where the old
 * primary's WAL ended and where the new primary's timeline forked from it. Pure: the readings in, the figure (or
 * why there is none) out.
 *
 * <p><b>The end of the old WAL.</b> A primary restarted after a crash replays its WAL and then writes an
 * end-of-recovery checkpoint whose redo point is where the replayed WAL ended (after a clean stop, the shutdown
 * checkpoint's redo point is where the WAL ended before that checkpoint); {@code pg_current_wal_lsn()} is already past
 * it. Such a checkpoint is told from an online one by {@code checkpoint_lsn = redo_lsn} (at {@code wal_level} replica
 * or logical an online checkpoint always logs the running transactions between its redo point and its record). It is
 * only used when the server started after the old primary's last healthy check (so the checkpoint was written by that
 * restart or the stop before it) and is on the timeline the failover forked from. A redo point just past a WAL page
 * header (24 bytes, 40 at a segment start) means the WAL ended at the page boundary.
 *
 * <p><b>The fork point.</b> The switch point of the old timeline in the new primary's timeline history file
 * ({@code pg_wal/0000000N.history}, read with {@code pg_read_file}, which needs superuser or EXECUTE on
 * {@code pg_read_file(text)}), else the end of recovery read from the node at its promotion
 * ({@code pg_last_wal_replay_lsn()} right after {@code pg_promote()}, the same LSN).
 *
 * <p>The figure is {@code max(0, end of the old WAL − fork point)}, in bytes of WAL.
 */
final class RpoMeasurement {

  /** Size of a WAL page header (short form) in bytes, on 64-bit builds. */
  static final int SHORT_PAGE_HEADER = 24;
  /** Size of the WAL page header at the start of a segment (long form) in bytes, on 64-bit builds. */
  static final int LONG_PAGE_HEADER = 40;

  private RpoMeasurement() {
  }

  /** What the old primary says, one row of {@link #oldEndQuery}. */
  record OldEnd(boolean inRecovery, long checkpointLsn, long redoLsn, long timeline, boolean restartedSince,
                String walLevel, long blockSize, long segmentSize) {
  }

  /**
   * What the new primary says, one row of {@link #forkQuery}.
   *
   * @param history its current timeline's history file, {@code null} when {@code checks.user} may not read it
   */
  record Fork(long timeline, String history) {
  }

  /** Both readings of one measurement. */
  record Readings(OldEnd oldEnd, Fork fork) {
  }

  /**
   * The outcome: the measured figure, or why there is none — {@code retry} when a later measurement may give it
   * (e.g. the old primary has not restarted yet), else it can no longer be measured.
   */
  record Result(Rpo rpo, String reason, boolean retry) {
    static Result measured(Rpo rpo) {
      return new Result(rpo, null, false);
    }

    static Result later(String reason) {
      return new Result(null, reason, true);
    }

    static Result never(String reason) {
      return new Result(null, reason, false);
    }
  }

  /**
   * The old primary's reading; {@code sinceMillis} is the time since its last healthy check, in ms (the server's own
   * clock tells whether it started since).
   */
  static String oldEndQuery(long sinceMillis) {
    return "select pg_is_in_recovery() as in_recovery, c.checkpoint_lsn::text as checkpoint_lsn,"
        + " c.redo_lsn::text as redo_lsn, c.timeline_id as timeline,"
        + " pg_postmaster_start_time() > now() - interval '" + Math.max(0, sinceMillis) + " milliseconds' as restarted,"
        + " current_setting('wal_level') as wal_level, current_setting('wal_block_size')::bigint as block_size,"
        + " pg_size_bytes(current_setting('wal_segment_size')) as segment_size from pg_control_checkpoint() c";
  }

  /** The new primary's reading: its timeline and, if {@code checks.user} may read it, that timeline's history file. */
  static final String FORK_QUERY = "select ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int"
      + " as timeline, case when has_function_privilege('pg_read_file(text)', 'execute') then pg_read_file('pg_wal/'"
      + " || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) || '.history') end as history";

  /**
   * The figure for incident {@code i} from {@code r}, measured at {@code now}.
   *
   * @param newPrimary the node whose timeline is compared (the primary now)
   */
  static Result compute(Incident i, String newPrimary, Readings r, long now) {
    OldEnd o = r.oldEnd();
    String old = i.oldPrimary;
    if (o.inRecovery()) {
      return Result.never(old + " came back as a replica (rewound or rebuilt) before the end of its WAL was read");
    }
    if (!o.restartedSince()) {
      return Result.later(old + " has not restarted since its last healthy check: its WAL has no final end yet "
          + "(measured once it restarts)");
    }
    if (i.oldTimeline >= 0 && o.timeline() != i.oldTimeline) {
      return Result.never(old + " is on timeline " + o.timeline() + ", not " + i.oldTimeline + " where it was primary");
    }
    if ("minimal".equals(o.walLevel()) || o.checkpointLsn() != o.redoLsn()) {
      return Result.never(old + "'s last checkpoint (" + Lsn.format(o.checkpointLsn()) + ", redo "
          + Lsn.format(o.redoLsn()) + ") is an online one: the end of its WAL before the restart is no longer recorded");
    }
    long end = dataEnd(o.redoLsn(), o.blockSize(), o.segmentSize());
    long fork;
    String forkBasis;
    Fork f = r.fork();
    String file = String.format("%08X.history", f.timeline());
    if (f.history() != null) {
      fork = switchPoint(f.history(), o.timeline());
      if (fork < 0) {
        return Result.never(newPrimary + "'s timeline " + f.timeline() + " does not descend from timeline "
            + o.timeline() + " (" + file + ")");
      }
      forkBasis = newPrimary + "'s timeline " + f.timeline() + " forked from timeline " + o.timeline() + " at "
          + Lsn.format(fork) + " (" + file + ")";
    } else if (i.forkLsn >= 0 && newPrimary.equals(i.candidate)) {
      fork = i.forkLsn;
      forkBasis = newPrimary + "'s timeline began at " + Lsn.format(fork) + " (read at its promotion)";
    } else {
      return Result.later("the fork point: " + (i.forkLsn >= 0 ? "" : newPrimary + " was not promoted by this "
          + "instance (none read at its promotion), and ") + "checks.user may not read " + file + " on " + newPrimary
          + " (pg_read_file needs superuser or EXECUTE on pg_read_file(text))");
    }
    long bytes = Math.max(0, end - dataEnd(fork, o.blockSize(), o.segmentSize()));
    return Result.measured(new Rpo(bytes, true, "measured after the fact (" + Instant.ofEpochMilli(now) + "): "
        + old + "'s WAL ended at " + Lsn.format(end) + " on timeline " + o.timeline() + " (the redo point of the "
        + "checkpoint of its restart); " + forkBasis + "; " + bytes + " bytes of WAL not carried over", now));
  }

  /** {@code lsn}, or the page boundary when {@code lsn} is just past a WAL page header (no WAL data in between). */
  static long dataEnd(long lsn, long blockSize, long segmentSize) {
    if (segmentSize > 0 && lsn % segmentSize == LONG_PAGE_HEADER) {
      return lsn - LONG_PAGE_HEADER;
    }
    if (blockSize > 0 && lsn % blockSize == SHORT_PAGE_HEADER) {
      return lsn - SHORT_PAGE_HEADER;
    }
    return lsn;
  }

  /**
   * The LSN where timeline {@code timeline} ended in a timeline history file (lines {@code parentTLI switchpoint
   * reason}, comments with {@code #}), or {@code -1} when it is not an ancestor.
   *
   * @throws IllegalArgumentException on a line that is not {@code <number> <X/Y> ...}
   */
  static long switchPoint(String history, long timeline) {
    for (String line : history.split("\n")) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) {
        continue;
      }
      String[] parts = l.split("\\s+");
      try {
        if (parts.length >= 2 && Long.parseLong(parts[0]) == timeline) {
          return Lsn.parse(parts[1]);
        }
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("not a timeline history line: '" + l + "'", e);
      }
    }
    return -1;
  }
}
