package io.cutover.monitor;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The routing rules that turn per-target health and observations into a {@link Topology}. Pure and
 * I/O-free.
 *
 * <p>Rules (each named so tests can cite them):
 * <ol>
 *   <li><b>Observed roles only.</b> The primary is a target that is UP and reported
 *       {@code pg_is_in_recovery() = false} at its last successful check; configuration never says who is
 *       primary.</li>
 *   <li><b>Newest timeline wins.</b> If several UP targets report primary, the one on the highest timeline
 *       is the primary. If the highest timeline is shared, or one of them has an unknown timeline ({@code http}
 *       checks see none), there is no routable primary (writes are refused rather than split).</li>
 *   <li><b>Never read from a DOWN or primary-role target.</b> Readable replicas are UP, report recovery,
 *       follow the primary (next rule) and, when {@code read.max_lag} is set, have a known replay lag within it
 *       (ProxySQL's {@code max_replication_lag}: the replica leaves the pool while over, returns once caught
 *       up).</li>
 *   <li><b>Only replicas that follow the primary are read.</b> With a routed primary, a replica follows it when
 *       it is on the primary's timeline and its WAL receiver is {@code streaming} (or the WAL it received
 *       advanced since its previous check, or it streamed at its previous check: one check with the receiver
 *       restarting is no verdict). A replica left on an old timeline (an old primary rejoined
 *       without a working rewind, whose timeline forked off before its recovery point) or not streaming
 *       serves data the primary no longer has, so it leaves the read pool with the reason. Without a routed
 *       primary (the primary is down, a cutover is in flight) nobody streams: a replica follows when it is on
 *       the newest timeline any node reported at its last successful check. An unknown timeline (an {@code http}
 *       check, or Patroni without one) is never held against a replica: only the receiver part applies.</li>
 *   <li><b>Lag</b> is measured in bytes of WAL: the primary's last {@code pg_current_wal_lsn()} minus the
 *       replica's {@code pg_last_wal_replay_lsn()} (clamped at 0, because the two checks run at different
 *       moments); without a known primary, the replica's receive LSN minus its replay LSN.</li>
 * </ol>
 */
public final class TopologyRules {

  /**
   * One target's inputs.
   *
   * @param target the target
   * @param state  hysteresis verdict
   * @param health the hysteresis counter ({@link Health#health()}), {@code -1} if not tracked
   * @param lastOk the last successful observation, or {@code null}
   * @param last   the last observation, or {@code null}
   * @param previousOk the successful observation before {@code lastOk}, or {@code null} (whether received WAL
   *               advances)
   */
  public record Input(Target target, TargetState state, int health, Observation lastOk, Observation last,
                      Observation previousOk) {
    /** Inputs without a hysteresis counter (health {@code -1}) nor a previous observation. */
    public Input(Target target, TargetState state, Observation lastOk, Observation last) {
      this(target, state, -1, lastOk, last, null);
    }
  }

  private final long maxLagBytes;

  /**
   * @param maxLagBytes {@code read.max_lag} in bytes of WAL ({@code 0}: no lag at all); negative disables the lag rule
   */
  public TopologyRules(long maxLagBytes) {
    this.maxLagBytes = maxLagBytes;
  }

  /** Builds the snapshot for the given inputs (configuration order is kept), without an overlay. */
  public Topology build(long version, long atMillis, List<Input> inputs) {
    return build(version, atMillis, inputs, Overlay.NONE);
  }

  /**
   * Builds the snapshot, applying the failover state machine's overlay: fenced targets are never primary
   * nor readable; held targets are not readable; while a cutover is in flight no primary is routed.
   */
  public Topology build(long version, long atMillis, List<Input> inputs, Overlay overlay) {
    List<Input> primaries = inputs.stream()
        .filter(i -> !overlay.fenced().contains(i.target().name()) && !overlay.drained().containsKey(i.target().name()))
        .filter(i -> i.state() == TargetState.UP && i.lastOk() != null && i.lastOk().role() == Role.PRIMARY)
        .sorted(Comparator.comparingLong((Input i) -> i.lastOk().timeline()).reversed())
        .toList();
    String primary = null;
    String writeReason = null;
    if (primaries.isEmpty()) {
      writeReason = inputs.stream()
          .filter(i -> overlay.drained().containsKey(i.target().name()) && i.state() == TargetState.UP
              && i.lastOk() != null && i.lastOk().role() == Role.PRIMARY)
          .map(i -> i.target().name() + " (primary) is drained").findFirst().orElse(noPrimaryReason(inputs));
    } else if (primaries.size() > 1 && primaries.stream().anyMatch(i -> i.lastOk().timeline() < 0)) {
      writeReason = "several targets report primary and their timelines cannot be compared: "
          + primaries.stream().map(i -> i.target().name() + " (timeline "
              + (i.lastOk().timeline() < 0 ? "unknown" : String.valueOf(i.lastOk().timeline())) + ")")
          .collect(Collectors.joining(", "));
    } else if (primaries.size() > 1 && primaries.get(0).lastOk().timeline() == primaries.get(1).lastOk().timeline()) {
      long tli = primaries.get(0).lastOk().timeline();
      writeReason = "several targets report primary on timeline " + tli + ": "
          + primaries.stream().filter(i -> i.lastOk().timeline() == tli).map(i -> i.target().name())
          .collect(Collectors.joining(", "));
    } else {
      primary = primaries.get(0).target().name();
    }
    long primaryLsn = primary == null ? -1 : primaries.get(0).lastOk().currentLsn();
    if (overlay.cutover() != null) {
      primary = null;
      writeReason = overlay.cutover();
    } else if (primary == null && overlay.paused() != null) {
      writeReason += "; " + overlay.paused();
    }

    long primaryTimeline = primary == null ? -1 : primaries.get(0).lastOk().timeline();
    long newestTimeline = inputs.stream().filter(i -> i.lastOk() != null && i.lastOk().timeline() >= 0)
        .mapToLong(i -> i.lastOk().timeline()).max().orElse(-1);
    String routedPrimary = primary;

    List<TargetStatus> statuses = new ArrayList<>(inputs.size());
    List<String> readable = new ArrayList<>();
    List<String> unreadable = new ArrayList<>();
    for (Input in : inputs) {
      Observation ok = in.lastOk();
      Role role = ok == null ? Role.UNKNOWN : ok.role();
      long lag = lag(in, primary, primaryLsn);
      String name = in.target().name();
      boolean fenced = overlay.fenced().contains(name);
      String hold = overlay.held().get(name);
      String notFollowing = role == Role.REPLICA ? notFollowing(in, routedPrimary, primaryTimeline, newestTimeline) : null;
      String why;
      if (in.state() != TargetState.UP) {
        why = "is " + in.state().label();
      } else if (notFollowing != null) {
        why = notFollowing;
      } else if (fenced) {
        why = "is fenced";
      } else if (role != Role.REPLICA) {
        why = null; // a primary-role target is not in the read pool; the read endpoint may fall back to the primary
      } else if (maxLagBytes >= 0 && (lag < 0 || lag > maxLagBytes)) {
        why = "replay lag " + (lag < 0 ? "unknown" : lag + " bytes") + " exceeds read.max_lag " + maxLagBytes + " bytes";
      } else if (name.equals(overlay.promoting())) {
        why = "is being promoted";
      } else if (hold != null) {
        why = hold;
      } else if (overlay.drained().containsKey(name)) {
        why = "is drained";
      } else {
        why = null;
      }
      boolean isReadable = role == Role.REPLICA && in.state() == TargetState.UP && why == null;
      if (isReadable) {
        readable.add(name);
      } else if (why != null) {
        unreadable.add(name + " " + why);
      }
      String lastError = in.last() != null && !in.last().ok() ? in.last().error() : null;
      statuses.add(new TargetStatus(in.target(), in.state(), in.health(), role, ok == null ? -1 : ok.timeline(),
          ok == null ? -1 : ok.positionLsn(), ok == null || ok.role() != Role.REPLICA ? -1 : ok.receiveLsn(), lag, isReadable, lastError, fenced, hold,
          overlay.drained().containsKey(name), overlay.drained().getOrDefault(name, -1L),
          role == Role.REPLICA ? ok.receiver() : null, role == Role.REPLICA && notFollowing == null,
          why == null ? null : name + " " + why, in.last() == null ? null : in.last().patroni()));
    }
    String readReason = readable.isEmpty()
        ? "no replica is readable" + (unreadable.isEmpty() ? "" : " (" + String.join("; ", unreadable) + ")")
        : null;
    return new Topology(version, atMillis, statuses, primary, readable, writeReason, readReason, overlay.cutover(),
        overlay.paused(), overlay.maintenance(), overlay.promoting());
  }

  /**
   * Why the replica {@code in} does not follow the primary, or {@code null} when it does (see the class rules).
   *
   * @param primary         the routed primary, or {@code null}
   * @param primaryTimeline its timeline
   * @param newestTimeline  the newest known timeline a node reported (used without a routed primary), {@code -1} if none
   */
  static String notFollowing(Input in, String primary, long primaryTimeline, long newestTimeline) {
    Observation ok = in.lastOk();
    boolean timelineKnown = ok.timeline() >= 0;
    if (primary == null) {
      return timelineKnown && ok.timeline() < newestTimeline
          ? "is on timeline " + ok.timeline() + ", behind timeline " + newestTimeline + " of another node" : null;
    }
    if (timelineKnown && primaryTimeline >= 0 && ok.timeline() != primaryTimeline) {
      return "does not follow the primary " + primary + ": on timeline " + ok.timeline() + ", the primary on "
          + primaryTimeline;
    }
    Observation prev = in.previousOk();
    boolean advancing = prev != null && prev.role() == Role.REPLICA && prev.receiveLsn() >= 0
        && ok.receiveLsn() > prev.receiveLsn();
    // two checks in a row: a receiver restarting once (a primary_conninfo reload, a dropped connection) is no verdict
    boolean stalledBefore = prev == null || prev.role() != Role.REPLICA || !prev.streaming();
    if (!ok.streaming() && !advancing && stalledBefore) {
      return "does not follow the primary " + primary + ": not streaming (WAL receiver "
          + (ok.receiver() == null ? "not running" : ok.receiver()) + ")";
    }
    return null;
  }

  private static long lag(Input in, String primary, long primaryLsn) {
    Observation ok = in.lastOk();
    if (ok == null) {
      return -1;
    }
    if (ok.role() == Role.PRIMARY) {
      return in.target().name().equals(primary) ? 0 : -1;
    }
    if (ok.replayLsn() < 0) {
      return -1;
    }
    if (primaryLsn >= 0) {
      return Math.max(0, primaryLsn - ok.replayLsn());
    }
    return ok.receiveLsn() < 0 ? -1 : Math.max(0, ok.receiveLsn() - ok.replayLsn());
  }

  private static String noPrimaryReason(List<Input> inputs) {
    List<String> downPrimaries = inputs.stream()
        .filter(i -> i.state() != TargetState.UP && i.lastOk() != null && i.lastOk().role() == Role.PRIMARY)
        .map(i -> i.target().name() + " (last seen primary) is " + i.state().label())
        .toList();
    if (!downPrimaries.isEmpty()) {
      return String.join("; ", downPrimaries);
    }
    if (inputs.stream().allMatch(i -> i.state() == TargetState.UNKNOWN)) {
      return "no check has completed yet";
    }
    return "no target reports itself primary";
  }
}
