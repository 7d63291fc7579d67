package io.cutover.monitor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the {@link FailoverMachine} remembers between inputs — the primary of record and its last healthy
 * check, the open incident, the {@link Phase}, the failover authority's fences — and the primitive steps that
 * change it (open, decide, refuse, probe, close). Everything else is derived afresh at each input. Package-private:
 * {@link FailoverMachine}, {@link Decision} and {@link PhaseProgress} share it on one thread.
 */
final class CutoverState {

  /** How long a candidate whose promotion failed or timed out is passed over in favour of others, in ms. */
  static final long FAILED_CANDIDATE_BACKOFF_MILLIS = 5_000;

  /** The failover settings; replaced whole by a reload ({@link #reconfigure}). */
  FailoverOptions options;
  final Map<String, Target> targets = new LinkedHashMap<>();
  final Operations operations;
  final Failback failback;
  final Deque<Incident> closed = new ArrayDeque<>();
  /** The failover authority's fences: target → expiry (epoch ms). */
  final Map<String, Long> authorityFences = new HashMap<>();
  /** Candidates whose promotion failed in this incident → until when they are passed over (epoch ms). */
  final Map<String, Long> failedUntil = new HashMap<>();
  /** The fences derived at the last input, with their reasons. */
  Map<String, FenceRules.Fence> fenced = Map.of();
  Phase phase = new Phase.Idle();
  String knownPrimary;
  long lastHealthyAt = -1;
  long lastPrimaryLsn = -1;
  long lastPrimaryTimeline = -1;
  long firstFailedAt = -1;
  Incident incident;
  long nextIncidentId = 1;
  /** The last refusal or note recorded once (so the same reason is not recorded again at every input). */
  String lastRecorded;
  Authority authority = Authority.PROMOTE;
  String authorityReason;
  String minority;
  Topology lastTopology;

  CutoverState(FailoverOptions options, List<Target> targets) {
    this.options = options;
    targets.forEach(t -> this.targets.put(t.name(), t));
    this.operations = new Operations(this.targets.keySet());
    this.failback = new Failback(options.getFailbackDelay().toMillis());
  }

  /**
   * A reload: new settings and targets. A target that stays keeps what is known about it (its fence, failback hold,
   * drain, the authority's fence); a removed one is forgotten, and so is a {@code fresh} one (re-addressed: another
   * server under the same name), which is followed afresh like a target at start-up. The primary of record, the
   * open incident and the phase are kept: a reload never removes or re-addresses the targets they name
   * ({@link Reconfiguration#conflicts}).
   */
  void reconfigure(FailoverOptions next, List<Target> list, java.util.Set<String> fresh) {
    options = next;
    targets.clear();
    list.forEach(t -> targets.put(t.name(), t));
    java.util.Set<String> kept = new java.util.HashSet<>(targets.keySet());
    kept.removeAll(fresh);
    operations.retain(targets.keySet());
    failback.reconfigure(next.getFailbackDelay().toMillis(), kept);
    authorityFences.keySet().retainAll(kept);
    failedUntil.keySet().retainAll(kept);
    Map<String, FenceRules.Fence> still = new LinkedHashMap<>(fenced);
    still.keySet().retainAll(kept);
    fenced = Map.copyOf(still);
  }

  /**
   * Starts a planned switchover to {@code to} (see {@link FailoverMachine#requestSwitchover}).
   *
   * @throws IllegalStateException when an incident is open, a cutover in flight or no primary known
   * @throws IllegalArgumentException when {@code to} is unknown
   */
  void startSwitchover(String to, long now, List<Action> out) {
    if (phase.busy() || incident != null) {
      throw new IllegalStateException("a cutover is already in flight" + (incident == null ? ""
          : ": incident " + incident.id + " (" + incident.kind.name().toLowerCase(java.util.Locale.ROOT) + " of "
          + incident.oldPrimary + ") is open"));
    }
    if (knownPrimary == null) {
      throw new IllegalStateException("there is no primary to switch over from");
    }
    operations.require(to);
    if (to.equals(knownPrimary)) {
      throw new IllegalStateException(to + " is already the primary");
    }
    TargetStatus st = lastTopology == null ? null : lastTopology.target(to).orElse(null);
    if (st == null || !st.healthyNow() || st.role() != Role.REPLICA || fenced.containsKey(to)) {
      throw new IllegalStateException("candidate " + to + " is not an UP, unfenced replica");
    }
    open(Incident.Kind.SWITCHOVER, now, out);
    incident.decidedAt = now;
    incident.candidate = to;
    failback.reset();
    phase = new Phase.SwitchingOver(knownPrimary, to, now, now + switchoverMillis(), false);
    out.add(new Action.Switchover(targets.get(knownPrimary), targets.get(to)));
  }

  /** Records the choice of {@code candidate} and starts its promotion (fencing the primary it replaces). */
  void decide(String candidate, String why, long now, List<Action> out) {
    if (incident.decidedAt < 0) {
      incident.decidedAt = now;
    }
    TargetStatus s = lastTopology.target(candidate).orElseThrow();
    if (!candidate.equals(incident.candidate)) {
      incident.forkLsn = -1;
      incident.newPrimaryLsn = -1;
    }
    incident.candidate = candidate;
    incident.candidateLsn = s.promotableLsn();
    incident.note("candidate " + candidate + ": " + why);
    incident.attemptStarted(candidate, now);
    boolean hook = !incident.fenceHookRun && knownPrimary != null;
    incident.fenceHookRun = true;
    lastRecorded = null;
    phase = new Phase.Promoting(candidate, knownPrimary, now, now + promotionMillis(), false);
    out.add(new Action.Alert("warn", "failover: fencing " + knownPrimary + ", promoting " + candidate + " (" + why + ")"));
    out.add(new Action.Promote(targets.get(candidate), knownPrimary == null ? null : targets.get(knownPrimary), hook));
  }

  /** Records a refusal in the incident and the log, once per distinct reason. */
  void refuse(String reason, List<Action> out) {
    if (!reason.equals(lastRecorded)) {
      lastRecorded = reason;
      incident.note(reason);
      out.add(new Action.Refused(reason));
      out.add(new Action.Alert("error", "failover of " + knownPrimary + " refused: " + reason));
    }
  }

  /** Records why the failover goes on in the incident and the log, once per distinct text. */
  void noteOnce(String text, List<Action> out) {
    if (!text.equals(lastRecorded)) {
      lastRecorded = text;
      incident.note(text);
      out.add(new Action.Alert("warn", text));
    }
  }

  /**
   * An operator's failover or switchover is a promotion by Cutover: refused in {@code mode: follow}, where the failover
   * authority outside Cutover (e.g. Patroni) promotes and two authorities could split the cluster.
   *
   * @throws IllegalStateException in {@code mode: follow}
   */
  void requirePromotions(String what) {
    if (options.getMode() == FailoverOptions.Mode.FOLLOW) {
      throw new IllegalStateException("mode follow: Cutover never promotes; ask the failover authority for the " + what
          + " (with Patroni: patronictl " + what + "), Cutover follows and records it");
    }
  }

  void open(Incident.Kind kind, long lastHealthy, List<Action> out) {
    incident = new Incident(nextIncidentId++, kind, knownPrimary, options.getRto().toMillis());
    incident.external = options.getMode() == FailoverOptions.Mode.FOLLOW;
    incident.lastHealthyAt = lastHealthy;
    incident.firstFailedAt = firstFailedAt;
    incident.oldPrimaryLsn = lastPrimaryLsn;
    incident.oldTimeline = lastPrimaryTimeline;
    lastRecorded = null;
    failedUntil.clear();
    out.add(new Action.IncidentOpened(incident));
  }

  void close(long now, List<Action> out) {
    incident.closedAt = now;
    closed.addLast(incident);
    while (closed.size() > options.getIncidentsKept()) {
      closed.removeFirst();
    }
    out.add(new Action.IncidentClosed(incident));
    incident = null;
    lastRecorded = null;
    phase = new Phase.Idle();
  }

  /** {@code primary} reports primary and is routed: probe a write through the write endpoint. */
  void startProbe(String primary, TargetStatus s, long now, List<Action> out) {
    if (incident.candidate == null || !incident.candidate.equals(primary)) {
      incident.candidate = primary;
      incident.candidateLsn = s.promotableLsn();
      incident.forkLsn = -1;
      incident.newPrimaryLsn = -1;
    }
    if (incident.promotedAt < 0) {
      incident.promotedAt = now;
    }
    if (incident.newPrimaryLsn < 0) {
      incident.newPrimaryLsn = s.positionLsn();
    }
    phase = new Phase.Probing(primary, now, now + probeMillis());
    out.add(new Action.ProbeWrite(phase.deadline()));
  }

  /** A promotion attempt failed or timed out: recorded, and the candidate passed over for a while (the next evaluation chooses again). */
  void attemptFailed(String candidate, String result, long now, List<Action> out) {
    incident.attemptEnded(candidate, result, now);
    incident.note("promotion of " + candidate + " " + result);
    failedUntil.put(candidate, now + FAILED_CANDIDATE_BACKOFF_MILLIS);
    out.add(new Action.Alert("error", "promotion of " + candidate + " " + result + "; choosing again"));
    phase = new Phase.Idle();
  }

  void abortSwitchover(String error, long now, List<Action> out) {
    incident.outcome = "aborted";
    incident.note(error);
    out.add(new Action.Alert("error", "switchover to " + incident.candidate + " aborted: " + error));
    close(now, out);
  }

  CandidateRules candidateRules(long now) {
    failedUntil.values().removeIf(until -> until <= now);
    Map<String, String> failed = new LinkedHashMap<>();
    failedUntil.forEach((name, until) -> failed.put(name, "failed to promote in this incident (passed over for "
        + FAILED_CANDIDATE_BACKOFF_MILLIS + " ms)"));
    return new CandidateRules(knownPrimary, fenced.keySet(), failed, lastPrimaryLsn, options.getMaxLagOnFailoverBytes(),
        options.getPreferred(), new ArrayList<>(targets.keySet()));
  }

  /** Whether the failover authority's fence of {@code name} holds at {@code now}. */
  boolean authorityFenced(String name, long now) {
    Long until = authorityFences.get(name);
    return until != null && now < until;
  }

  void note(String line) {
    if (incident != null) {
      incident.note(line);
    }
  }

  /** The deadline of a promotion: the decision allowance plus {@code promote_timeout}, in ms. */
  long promotionMillis() {
    return Phase.DECISION_ALLOWANCE_MILLIS + options.getPromoteTimeout().toMillis();
  }

  long switchoverMillis() {
    return promotionMillis() + options.getSwitchoverTimeout().toMillis();
  }

  /** How long one write probe may take before the machine probes again, in ms ({@code promote_timeout}). */
  long probeMillis() {
    return options.getPromoteTimeout().toMillis();
  }

  /** How long this instance waits for the failover authority before it records that and waits again, in ms. */
  long authorityMillis() {
    return options.getPromoteTimeout().toMillis();
  }
}
