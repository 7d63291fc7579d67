package io.cutover.monitor;

import java.util.ArrayList;
import java.util.List;

/**
 * Follows each failover's RPO figure after the cutover ({@link Rpo}), for the incidents kept in memory (the open one
 * and this run's closed ones, up to {@code incidents_kept}). Part of the {@link FailoverMachine}, driven from the same
 * thread: at each evaluation it asks for a measurement ({@link Action.MeasureRpo}) where one can be made now, and the
 * executor's readings come back through {@link #onMeasured} or {@link #onMeasureFailed}, inputs like any other.
 *
 * <p>A measurement is asked for while the figure is a bound, no measurement is in flight, the last one that did not
 * give the figure was at least {@value #RETRY_MILLIS} ms ago, the old primary is observed healthy and reporting
 * primary (restarted and fenced, before any rejoin) and another node is the primary of record and answers as primary.
 * An old primary observed as a replica (rejoined: rewound or rebuilt) can no longer be measured: the figure stays a
 * bound, and its basis says why. If the old primary never comes back, the figure stays a bound.
 */
public final class RpoFollowUp {

  /** Pause after a measurement that did not give the figure before the next one, in ms. */
  static final long RETRY_MILLIS = 10_000;

  private final CutoverState s;

  RpoFollowUp(CutoverState state) {
    this.s = state;
  }

  /** At each evaluation of {@code t}: measurements to ask for, figures that can no longer be measured. */
  void follow(Topology t, long now, List<Action> out) {
    String primary = s.knownPrimary;
    boolean primaryAnswers = primary != null && t.target(primary)
        .map(st -> st.healthyNow() && st.role() == Role.PRIMARY).orElse(false);
    for (Incident i : incidents()) {
      if (!awaiting(i)) {
        continue;
      }
      TargetStatus old = t.target(i.oldPrimary).orElse(null);
      if (old == null || !old.healthyNow()) {
        continue;
      }
      if (old.role() == Role.REPLICA) {
        unmeasurable(i, i.oldPrimary + " came back as a replica (rewound or rebuilt) before the end of its WAL was read",
            now, out);
      } else if (old.role() == Role.PRIMARY && !i.rpoMeasuring && now >= i.rpoNextAttemptAt && primaryAnswers
          && !primary.equals(i.oldPrimary)) {
        i.rpoMeasuring = true;
        out.add(new Action.MeasureRpo(i.id, s.targets.get(i.oldPrimary), s.targets.get(primary), now - i.lastHealthyAt));
      }
    }
  }

  /**
   * The executor read where {@code candidate}'s timeline began right after promoting it ({@code pg_last_wal_replay_lsn()},
   * bytes of WAL): kept in the newest incident that promoted it, as its fork point — open, or already closed when the
   * candidate was seen as primary and its first write accepted before {@code pg_promote()} returned.
   */
  public List<Action> forked(String candidate, long forkLsn, long now) {
    List<Incident> all = incidents();
    Incident i = all.isEmpty() ? null : all.get(all.size() - 1);
    if (i != null && forkLsn >= 0 && candidate.equals(i.candidate) && i.forkLsn < 0) {
      i.forkLsn = forkLsn;
      i.note(candidate + "'s timeline began at " + Lsn.format(forkLsn) + " (its end of recovery, read at its promotion)");
      if (i != s.incident) {
        return List.of(new Action.IncidentUpdated(i)); // closed already: its recorded version gains the fork point
      }
    }
    return List.of();
  }

  /** The executor's readings for incident {@code id}, taken while {@code newPrimary} was the primary. */
  public List<Action> onMeasured(long id, String newPrimary, RpoMeasurement.Readings readings, long now) {
    Incident i = find(id);
    List<Action> out = new ArrayList<>();
    if (i == null || !awaiting(i)) {
      return out;
    }
    i.rpoMeasuring = false;
    RpoMeasurement.Result r;
    try {
      r = RpoMeasurement.compute(i, newPrimary, readings, now);
    } catch (IllegalArgumentException e) {
      r = RpoMeasurement.Result.later("the readings could not be used: " + e.getMessage());
    }
    if (r.rpo() == null) {
      if (r.retry()) {
        pending(i, r.reason(), now, out);
      } else {
        unmeasurable(i, r.reason(), now, out);
      }
      return out;
    }
    String before = i.rpo().display();
    i.rpoMeasured = r.rpo();
    i.rpoPending = null;
    String text = "incident " + i.id + ": RPO measured after the fact: " + r.rpo().bytes() + " bytes of WAL "
        + i.oldPrimary + " had were not carried over to " + newPrimary + " (the figure at the cutover was " + before + ")";
    i.note(text);
    out.add(new Action.Alert(r.rpo().bytes() > 0 ? "warn" : "info", text));
    out.add(new Action.IncidentUpdated(i));
    return out;
  }

  /** The measurement of incident {@code id} failed (a server did not answer, a statement failed, a deadline passed). */
  public List<Action> onMeasureFailed(long id, String error, long now) {
    Incident i = find(id);
    List<Action> out = new ArrayList<>();
    if (i != null && awaiting(i)) {
      i.rpoMeasuring = false;
      pending(i, "the measurement failed: " + error, now, out);
    }
    return out;
  }

  /**
   * A failover (or a switchover Cutover did not carry out itself) whose promotion succeeded and whose figure is still a
   * bound that may be measured.
   */
  private static boolean awaiting(Incident i) {
    return (i.kind == Incident.Kind.FAILOVER || i.external) && i.promotedAt >= 0 && i.oldPrimary != null && i.lastHealthyAt >= 0
        && i.rpoMeasured == null && i.rpoUnmeasurable == null;
  }

  private void pending(Incident i, String reason, long now, List<Action> out) {
    i.rpoNextAttemptAt = now + RETRY_MILLIS;
    if (!reason.equals(i.rpoPending)) {
      i.rpoPending = reason;
      i.note("RPO not measured yet: " + reason);
      out.add(new Action.Alert("warn", "incident " + i.id + ": RPO not measured yet (" + i.rpo().display() + "): "
          + reason + "; trying again every " + RETRY_MILLIS + " ms"));
      out.add(new Action.IncidentUpdated(i));
    }
  }

  private void unmeasurable(Incident i, String reason, long now, List<Action> out) {
    i.rpoUnmeasurable = reason;
    i.rpoPending = null;
    i.note("RPO not measurable: " + reason);
    out.add(new Action.Alert("warn", "incident " + i.id + ": the RPO stays a bound (" + i.rpo().display() + "): "
        + reason));
    out.add(new Action.IncidentUpdated(i));
  }

  private List<Incident> incidents() {
    List<Incident> all = new ArrayList<>(s.closed);
    if (s.incident != null) {
      all.add(s.incident);
    }
    return all;
  }

  private Incident find(long id) {
    return incidents().stream().filter(i -> i.id == id).findFirst().orElse(null);
  }
}
