package io.cutover.monitor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The failover state machine: pure, driven by inputs (check results, ticks, the executor's reports, operator
 * commands, the clustering layer's authority and fences) and the time passed in; it returns {@link Action}s a
 * thin executor carries out and the {@link Overlay} routing must respect.
 *
 * <p><b>Re-derived, not latched.</b> Every input re-evaluates the failover from the newest snapshot and this
 * instance's current {@link Authority} ({@link Decision}): fences are derived afresh ({@link FenceRules}), a
 * follower that becomes the leader decides at its next input, and the only state kept is what
 * {@link CutoverState} lists — the primary of record, the open incident and the {@link Phase}, a value with a
 * deadline. When a deadline passes the machine decides again (another candidate, another probe, giving up) and
 * the incident records why ({@link PhaseProgress}).
 *
 * <p>Safety rules, each tested:
 * <ul>
 *   <li><b>Never promote without a qualified candidate</b> ({@link CandidateRules}): never a node that is DOWN
 *       or failed its last check; never one beyond {@code max_lag_on_failover}.</li>
 *   <li><b>No needless failover:</b> while no promotion has succeeded, an old primary that is back, healthy,
 *       still primary, on the newest timeline and at least as far in WAL as every healthy replica ends the
 *       incident as recovered without failover; nothing is promoted and nothing stays fenced.</li>
 *   <li><b>One primary</b> ({@link FenceRules}).</li>
 *   <li><b>Failback needs rise + delay</b> ({@link Failback}).</li>
 * </ul>
 * Not thread-safe: driven from the monitor's context.
 */
public final class FailoverMachine {

  private final CutoverState s;
  private final PhaseProgress progress;
  private final RpoFollowUp rpo;

  public FailoverMachine(FailoverOptions options, List<Target> targets) {
    this.s = new CutoverState(options, targets);
    this.progress = new PhaseProgress(s);
    this.rpo = new RpoFollowUp(s);
  }

  /** The RPO follow-up of this machine's incidents: its inputs are the executor's readings ({@link RpoFollowUp}). */
  public RpoFollowUp rpo() {
    return rpo;
  }

  // ---- what routing and operators see ----

  /** The overlay routing must apply now (the failback delay depends on {@code now}). */
  public Overlay overlay(long now) {
    String hold = s.minority != null ? "no quorum: " + s.minority + "; writes held until this instance sees a majority again"
        : s.phase.holdText();
    return new Overlay(s.fenced.keySet(), s.failback.held(now), hold, s.operations.drained(), paused(),
        s.operations.maintenance(), s.phase.promoting());
  }

  /** Why no automatic failover can come now (maintenance mode, mode manual), or {@code null}. */
  private String paused() {
    if (s.operations.maintenance()) {
      String why = s.operations.maintenanceReason();
      return "maintenance mode: no automatic failover" + (why == null || why.isBlank() ? "" : " (" + why + ")");
    }
    return s.options.getMode() == FailoverOptions.Mode.MANUAL ? "mode manual: no automatic failover" : null;
  }

  /** The current phase (a value with its deadline). */
  public Phase phase() {
    return s.phase;
  }

  public Authority authority() {
    return s.authority;
  }

  public boolean maintenance() {
    return s.operations.maintenance();
  }

  public String maintenanceReason() {
    return s.operations.maintenanceReason();
  }

  /** The open incident, if any. */
  public Incident openIncident() {
    return s.incident;
  }

  /** Closed incidents, newest last (at most {@code incidents_kept}). */
  public List<Incident> closedIncidents() {
    return List.copyOf(s.closed);
  }

  /**
   * Numbers the next incident {@code next} at the least (incidents read back from an earlier run keep their ids).
   */
  public void numberIncidentsFrom(long next) {
    s.nextIncidentId = Math.max(s.nextIncidentId, next);
  }

  /** The primary of record: the node last routed as primary (or promoted by this machine). */
  public String knownPrimary() {
    return s.knownPrimary;
  }

  // ---- inputs from the clustering layer ----

  /** Sets this instance's authority (clustered Cutover); {@code reason} says why it may or may not promote. */
  public void setAuthority(Authority authority, String reason) {
    s.authority = authority;
    s.authorityReason = reason;
  }

  /** Non-null (the reason) while this instance sees fewer than a quorum of members: new writes are held. */
  public void setMinority(String reason) {
    s.minority = reason;
  }

  /**
   * The failover authority fenced {@code target} before promoting (clustered Cutover). The fence holds until the
   * target is observed as a replica, the authority lifts it, or the promotion phase's deadline passes (an
   * authority that dies mid-decision cannot leave it fenced for good; a completed promotion fences it anyway).
   *
   * @throws IllegalArgumentException for an unknown target
   */
  public List<Action> fence(String target, long now) {
    s.operations.require(target);
    s.authorityFences.put(target, now + s.promotionMillis());
    s.note(target + " fenced by the failover authority");
    return evaluate(now, new Action.Alert("warn", target + " fenced by the failover authority"));
  }

  /**
   * The failover authority lifted its fence of {@code target} (an aborted switchover or a failed promotion); a
   * target fenced for another reason stays fenced.
   *
   * @throws IllegalArgumentException for an unknown target
   */
  public List<Action> unfence(String target, long now) {
    s.operations.require(target);
    if (s.authorityFences.remove(target) == null) {
      return List.of();
    }
    s.note(target + " unfenced by the failover authority");
    return evaluate(now, new Action.Alert("warn", target + " unfenced by the failover authority"));
  }

  // ---- operator commands ----

  /** Pauses or resumes automatic failover; returns an alert for the log. */
  public List<Action> setMaintenance(boolean enabled, String reason, long now) {
    s.lastRecorded = null;
    return s.operations.setMaintenance(enabled, reason);
  }

  /**
   * Stops routing new sessions to {@code target}; with {@code closeAfterMillis >= 0} the proxies close its
   * remaining sessions that long from {@code now}. @throws IllegalArgumentException for an unknown target
   */
  public List<Action> drain(String target, long closeAfterMillis, long now) {
    return s.operations.drain(target, closeAfterMillis, now);
  }

  /**
   * Routes new sessions to {@code target} again now: ends its drain and its failback hold (the
   * {@code failback_delay} a node back from DOWN, or rejoined as a replica, waits before it re-enters the read
   * pool); each ended one is an alert. A later return from DOWN is held again.
   *
   * @throws IllegalArgumentException for an unknown target
   */
  public List<Action> enable(String target, long now) {
    List<Action> out = new ArrayList<>(s.operations.enable(target));
    String hold = s.failback.held(now).get(target);
    if (s.failback.release(target, now)) {
      out.add(new Action.Alert("info", target + " enabled: failback hold ended by an operator (it " + hold + ")"));
    }
    return out;
  }

  /**
   * An operator's immediate failover: fence the current primary and promote {@code requested}, or the best
   * qualified replica when {@code null}.
   *
   * @throws IllegalArgumentException for an unknown candidate
   * @throws IllegalStateException when a promotion or switchover is in flight (before its deadline), nothing is
   *                               known yet, the candidate does not qualify, or in {@code mode: follow}
   */
  public List<Action> requestFailover(String requested, long now) {
    s.requirePromotions("failover");
    if (requested != null) {
      s.operations.require(requested);
    }
    List<Action> out = new ArrayList<>();
    progress.expire(now, out);
    if (s.phase.busy()) {
      throw new IllegalStateException("a cutover is already in flight: " + s.phase.holdText() + " (gives up in "
          + (s.phase.deadline() - now) + " ms)");
    }
    if (s.lastTopology == null || s.knownPrimary == null) {
      throw new IllegalStateException("no primary known yet to fail over from");
    }
    CandidateRules rules = s.candidateRules(now);
    CandidateRules.Choice choice = rules.choose(s.lastTopology);
    String candidate = choice.candidate();
    String why = choice.reason();
    if (requested != null && !requested.equals(candidate)) {
      TargetStatus st = s.lastTopology.target(requested).orElse(null);
      String rejected = st == null ? requested + " is unknown" : rules.rejection(st);
      if (rejected != null) {
        throw new IllegalStateException("candidate " + rejected);
      }
      candidate = requested;
      why = "requested by an operator";
    }
    if (candidate == null) {
      throw new IllegalStateException("no replica qualifies for promotion: " + why);
    }
    if (s.incident == null) {
      s.open(Incident.Kind.FAILOVER, s.lastHealthyAt >= 0 ? s.lastHealthyAt : now, out);
    }
    s.incident.note("failover requested by an operator");
    s.decide(candidate, why, now, out);
    return finish(now, out);
  }

  /**
   * Starts a planned switchover to {@code to}.
   *
   * @throws IllegalStateException when an incident is open, a cutover in flight, no primary, or {@code mode: follow}
   * @throws IllegalArgumentException when {@code to} is unknown
   */
  public List<Action> requestSwitchover(String to, long now) {
    s.requirePromotions("switchover");
    List<Action> out = new ArrayList<>();
    progress.expire(now, out);
    s.startSwitchover(to, now, out);
    return finish(now, out);
  }

  // ---- a reload ----

  /**
   * A configuration reload: {@code options} and {@code targets} from now on (see {@link CutoverState#reconfigure}:
   * a removed or {@code fresh} — re-addressed — target is forgotten, the rest kept). Follow with
   * {@link #onTopology} and the snapshot built with the new targets.
   */
  public void reconfigure(FailoverOptions options, List<Target> targets, java.util.Set<String> fresh) {
    s.reconfigure(options, targets, fresh);
  }

  /** A snapshot built without a new observation (after a reload): re-evaluated as after a check. */
  public List<Action> onTopology(Topology t, long now) {
    s.lastTopology = t;
    return evaluate(now, null);
  }

  // ---- inputs: observations, time, the executor's reports ----

  /** Feeds one check result and the snapshot built from it (with the current overlay); returns actions in order. */
  public List<Action> onObservation(Observation obs, Topology t, long now) {
    if (obs.target().equals(s.knownPrimary) && !s.fenced.containsKey(s.knownPrimary)) {
      if (obs.ok() && obs.role() == Role.PRIMARY) {
        s.lastHealthyAt = obs.atMillis();
        s.lastPrimaryLsn = obs.currentLsn();
        s.lastPrimaryTimeline = obs.timeline();
        s.firstFailedAt = -1;
      } else if (!obs.ok() && s.firstFailedAt < 0) {
        s.firstFailedAt = obs.atMillis();
      }
    }
    s.lastTopology = t;
    return evaluate(now, null);
  }

  /** Time passes: RTO warnings, the end of failback delays, phase deadlines, and a fresh evaluation. */
  public List<Action> onTick(long now) {
    s.failback.expire(now);
    List<Action> alerts = RtoClock.check(s.incident, now);
    return evaluate(now, alerts.isEmpty() ? null : alerts.get(0));
  }

  /**
   * The executor's report on {@link Action.Promote}; a report for an attempt already given up is only noted. The
   * {@code on_failover} hook runs once the candidate reports primary (which may be observed before this report).
   */
  public List<Action> onPromoted(String target, boolean ok, String error, long now) {
    if (!(s.phase instanceof Phase.Promoting p) || !p.candidate().equals(target) || p.promoted()) {
      if (target.equals(s.knownPrimary)) {
        return List.of(); // it reported primary before pg_promote() returned: already moved on
      }
      s.note("late report for " + target + " (its attempt was given up): " + (ok ? "promoted" : error));
      return ok ? evaluate(now, new Action.Recheck(target)) : List.of();
    }
    if (!ok) {
      List<Action> out = new ArrayList<>();
      s.attemptFailed(target, "failed: " + error, now, out);
      out.addAll(evaluate(now, null));
      return out;
    }
    List<Action> out = new ArrayList<>();
    s.incident.promotedAt = now;
    s.phase = new Phase.Promoting(target, p.oldPrimary(), p.since(), now + s.promotionMillis(), true);
    out.add(new Action.Alert("info", target + " promoted"));
    out.add(new Action.Recheck(target));
    return finish(now, out);
  }

  /** The executor's report: a write went through the write endpoint to the new primary. */
  public List<Action> onWriteAccepted(long now) {
    List<Action> out = new ArrayList<>();
    if (!(s.phase instanceof Phase.Probing p) || s.incident == null) {
      return out;
    }
    s.incident.firstWriteAt = now;
    s.incident.outcome = "completed";
    s.knownPrimary = p.primary();
    s.close(now, out);
    return finish(now, out);
  }

  /** The executor's report: the write probe gave up (its deadline passed) with {@code error}; decided afresh. */
  public List<Action> onProbeFailed(String error, long now) {
    if (!(s.phase instanceof Phase.Probing p)) {
      return List.of();
    }
    s.note("write probe through the write endpoint to " + p.primary() + " failed: " + error);
    s.phase = new Phase.Idle();
    return evaluate(now, new Action.Alert("error", "write probe failed: " + error + "; deciding again"));
  }

  /** The executor's report on {@link Action.Repoint}; a failure is recorded in the incident and logged. */
  public List<Action> onRepointed(String replica, String primary, boolean ok, String error, long now) {
    if (ok) {
      return List.of(new Action.Alert("info", replica + " re-pointed to the new primary " + primary));
    }
    s.note(replica + " cannot follow the new primary " + primary + ": " + error);
    return List.of(new Action.Alert("error", replica + " cannot follow the new primary " + primary + ": " + error
        + " (rejoin it: scripts/pg-cluster rejoin, or an on_failover hook)"));
  }

  /**
   * The executor's report on a switchover: {@code ok} once the candidate caught up and was promoted; otherwise it
   * was aborted and the old primary restored to read-write. A report after the phase's deadline is ignored.
   *
   * @param oldLsn       the old primary's last LSN in bytes (what the candidate replayed before promotion)
   * @param candidateLsn the candidate's replayed LSN at promotion
   */
  public List<Action> onSwitchoverResult(boolean ok, String error, long oldLsn, long candidateLsn, long now) {
    List<Action> out = new ArrayList<>();
    if (!(s.phase instanceof Phase.SwitchingOver sw) || sw.promoted() || s.incident == null) {
      return out;
    }
    s.incident.oldPrimaryLsn = oldLsn;
    s.incident.candidateLsn = candidateLsn;
    if (!ok) {
      s.abortSwitchover(error, now, out);
      return finish(now, out);
    }
    s.incident.promotedAt = now;
    s.phase = new Phase.SwitchingOver(sw.from(), sw.to(), sw.since(), now + s.promotionMillis(), true);
    out.add(new Action.Hook("on_fence", s.targets.get(sw.from()), s.targets.get(sw.to())));
    out.add(new Action.Hook("on_switchover", s.targets.get(sw.from()), s.targets.get(sw.to())));
    out.add(new Action.Recheck(sw.to()));
    return finish(now, out);
  }

  // ---- the evaluation ----

  private List<Action> evaluate(long now, Action first) {
    List<Action> out = new ArrayList<>();
    if (first != null) {
      out.add(first);
    }
    Topology t = s.lastTopology;
    if (t == null) {
      return out;
    }
    s.authorityFences.keySet().removeIf(name -> t.target(name).map(st -> st.healthyNow() && st.role() == Role.REPLICA)
        .orElse(false));
    progress.expire(now, out);
    progress.followRoutedPrimary(t, now, out);
    progress.advance(t, now, out);
    if (!s.phase.busy() && !(s.phase instanceof Phase.Probing)) {
      new Decision(s, t, now, out, to -> requestSwitchover(to, now)).run();
    }
    rpo.follow(t, now, out);
    return finish(now, out);
  }

  private List<Action> finish(long now, List<Action> out) {
    if (s.lastTopology != null) {
      progress.refreshFences(s.lastTopology, now, out);
    }
    return out;
  }
}
