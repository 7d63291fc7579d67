package io.cutover.monitor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The failover state machine: a pure function of (state, input, now) that returns the actions a thin
 * executor carries out (promote, re-point replicas, probe a write, run hooks) and the {@link Overlay}
 * routing must respect (fenced targets, the failback delay, writes held during a cutover). It never does
 * I/O; time comes in as arguments.
 *
 * <p>Safety rules, each tested:
 * <ul>
 *   <li><b>Never promote without a qualified candidate:</b> an UP replica, not fenced, whose replayed LSN
 *       is within {@code max_lag_on_failover} bytes of the old primary's last known LSN (Patroni's
 *       {@code maximum_lag_on_failover}); the highest replayed LSN wins, then {@code preferred}, then
 *       configuration order. Otherwise the failover is refused, with the reason, and re-evaluated at every
 *       check.</li>
 *   <li><b>Fence at decision time:</b> the old primary is fenced the moment the candidate is chosen, before
 *       the promotion, so no new session reaches it and the proxies close the ones it has. A fenced node is
 *       unfenced only when it is observed as a replica (rejoined).</li>
 *   <li><b>One primary:</b> an UP node that reports primary while another is the routed primary (split
 *       brain, or an older timeline) is fenced.</li>
 *   <li><b>Failback needs rise + delay:</b> a node that was DOWN or fenced re-enters the read pool only after
 *       being UP for {@code failback_delay}.</li>
 * </ul>
 * Not thread-safe: driven from the monitor's context.
 */
public final class FailoverMachine {

  /** What the executor must do. */
  public sealed interface Action permits Promote, Repoint, Recheck, ProbeWrite, Hook, Alert, IncidentOpened,
      IncidentClosed, Switchover, Refused {
  }

  /** An automatic or requested failover was refused (counted by metrics); {@link Alert} carries the text. */
  public record Refused(String reason) implements Action {
  }

  /** An incident started (metrics time it until it closes). */
  public record IncidentOpened(Incident incident) implements Action {
  }

  /** Promote {@code candidate} with {@code pg_promote()}; report with {@link #onPromoted}. */
  public record Promote(Target candidate) implements Action {
  }

  /** Make {@code replica} stream from {@code primary} ({@code primary_conninfo}, reload). */
  public record Repoint(Target replica, Target primary) implements Action {
  }

  /** Check {@code target} now instead of waiting for its interval. */
  public record Recheck(String target) implements Action {
  }

  /** Run a write through the write endpoint; report with {@link #onWriteAccepted}. */
  public record ProbeWrite() implements Action {
  }

  /** Run the configured hook for {@code event} ({@code on_failover}, {@code on_fence}, {@code on_switchover}). */
  public record Hook(String event, Target oldPrimary, Target newPrimary) implements Action {
  }

  /** Log for operators at {@code level} ({@code info}, {@code warn}, {@code error}). */
  public record Alert(String level, String message) implements Action {
  }

  /** An incident ended; log it as one JSON line and keep it. */
  public record IncidentClosed(Incident incident) implements Action {
  }

  /** Carry out a planned switchover; report with {@link #onSwitchoverResult}. */
  public record Switchover(Target from, Target to) implements Action {
  }

  private enum Phase { IDLE, PROMOTING, AWAIT_PRIMARY, PROBING, SWITCHOVER }

  /**
   * This instance's part in a cluster of Cutover instances (set by the clustering layer before each input;
   * a single instance is always {@link #PROMOTE}).
   */
  public enum Authority {
    /** Decide and promote: a single instance, or the leader while a quorum sees the primary DOWN. */
    PROMOTE,
    /** The leader without a quorum: record why and wait; never promote. */
    WAIT,
    /** A follower: fence and hold writes when it sees the primary DOWN, but leave the promotion to the leader. */
    FOLLOW
  }

  private final FailoverOptions options;
  private final Map<String, Target> targets = new LinkedHashMap<>();
  private final Set<String> fenced = new HashSet<>();
  private final Map<String, Long> upSince = new HashMap<>();
  private final Set<String> recovering = new HashSet<>();
  private final Map<String, TargetState> lastState = new HashMap<>();
  private final Deque<Incident> closed = new ArrayDeque<>();
  private Phase phase = Phase.IDLE;
  private String knownPrimary;
  private long lastHealthyAt = -1;
  private long lastPrimaryLsn = -1;
  private long firstFailedAt = -1;
  private String candidate;
  private Incident incident;
  private long nextIncidentId = 1;
  private String lastRefusal;
  private long preferredReadySince = -1;
  private Authority authority = Authority.PROMOTE;
  private String authorityReason;
  private String minority;
  /** The last evaluation refused a failover for lack of quorum; a tick re-evaluates once the quorum is there. */
  private boolean waitingForQuorum;
  private boolean maintenance;
  private String maintenanceReason;
  private final Map<String, Long> drained = new LinkedHashMap<>();
  private Topology lastTopology;

  public FailoverMachine(FailoverOptions options, List<Target> targets) {
    this.options = options;
    targets.forEach(t -> this.targets.put(t.name(), t));
  }

  /** The overlay routing must apply now (the failback delay depends on {@code now}). */
  public Overlay overlay(long now) {
    Map<String, String> held = new LinkedHashMap<>();
    long delay = options.getFailbackDelay().toMillis();
    for (String name : recovering) {
      Long since = upSince.get(name);
      if (since != null && now < since + delay) {
        held.put(name, "is back since " + (now - since) / 1000 + " s; held out of the read pool until failback_delay "
            + delay / 1000 + " s");
      }
    }
    return new Overlay(fenced, held, cutoverText(), drained);
  }

  /**
   * Sets this instance's authority (clustered Cutover): {@code reason} says why it may not promote.
   */
  public void setAuthority(Authority authority, String reason) {
    this.authority = authority;
    this.authorityReason = reason;
  }

  public Authority authority() {
    return authority;
  }

  /**
   * Clustered Cutover: {@code reason} non-null while this instance sees fewer than a quorum of members;
   * new write sessions are then held (it cannot know whether the majority has promoted another node).
   */
  public void setMinority(String reason) {
    this.minority = reason;
  }

  /**
   * The failover authority fenced {@code target} before promoting (clustered Cutover): never route it again
   * until it is observed as a replica.
   */
  public List<Action> fence(String target, long now) {
    requireTarget(target);
    if (!fenced.add(target)) {
      return List.of();
    }
    if (incident != null) {
      incident.notes.add(target + " fenced by the failover authority");
    }
    return List.of(new Alert("warn", target + " fenced by the failover authority"));
  }

  /**
   * The failover authority lifted its fence of {@code target} (clustered Cutover: a switchover that fenced
   * the old primary everywhere first was aborted, so it stays the primary). A target this instance fences
   * for its own reasons (an extra primary, say) is fenced again by its next observation.
   *
   * @throws IllegalArgumentException for an unknown target
   */
  public List<Action> unfence(String target, long now) {
    requireTarget(target);
    if (!fenced.remove(target)) {
      return List.of();
    }
    if (incident != null) {
      incident.notes.add(target + " unfenced by the failover authority");
    }
    return List.of(new Alert("warn", target + " unfenced by the failover authority"));
  }

  /** Whether automatic failover is paused (checks and routing go on). */
  public boolean maintenance() {
    return maintenance;
  }

  public String maintenanceReason() {
    return maintenanceReason;
  }

  /** Pauses or resumes automatic failover; returns an alert for the log. */
  public List<Action> setMaintenance(boolean enabled, String reason, long now) {
    maintenance = enabled;
    maintenanceReason = enabled ? reason : null;
    lastRefusal = null;
    return List.of(new Alert("warn", enabled ? "maintenance mode on: automatic failover paused"
        + (reason == null || reason.isBlank() ? "" : " (" + reason + ")") : "maintenance mode off: automatic failover resumed"));
  }

  /**
   * Stops routing new sessions to {@code target}; with {@code closeAfterMillis >= 0} the proxies close its
   * remaining sessions that long from {@code now}.
   *
   * @throws IllegalArgumentException for an unknown target
   */
  public List<Action> drain(String target, long closeAfterMillis, long now) {
    requireTarget(target);
    drained.put(target, closeAfterMillis < 0 ? -1L : now + closeAfterMillis);
    return List.of(new Alert("warn", target + " drained: no new sessions"
        + (closeAfterMillis < 0 ? "" : "; remaining sessions closed in " + closeAfterMillis + " ms")));
  }

  /** Routes new sessions to {@code target} again. @throws IllegalArgumentException for an unknown target */
  public List<Action> enable(String target, long now) {
    requireTarget(target);
    return drained.remove(target) == null ? List.of() : List.of(new Alert("info", target + " enabled: routed again"));
  }

  private void requireTarget(String target) {
    if (target == null || !targets.containsKey(target)) {
      throw new IllegalArgumentException("unknown target " + target);
    }
  }

  /**
   * An operator's immediate failover: fence the current primary and promote {@code candidate}, or the best
   * qualified replica when {@code null}.
   *
   * @throws IllegalArgumentException for an unknown candidate
   * @throws IllegalStateException when a cutover is in flight, nothing is known yet, or the candidate does
   *                               not qualify (down, fenced, not a replica, beyond max_lag_on_failover)
   */
  public List<Action> requestFailover(String requested, long now) {
    if (requested != null) {
      requireTarget(requested);
    }
    if (phase != Phase.IDLE) {
      throw new IllegalStateException("a cutover is already in flight: " + cutoverText());
    }
    if (lastTopology == null || knownPrimary == null) {
      throw new IllegalStateException("no primary known yet to fail over from");
    }
    String why = chooseCandidate(lastTopology);
    if (requested != null && !requested.equals(candidate)) {
      String rejected = rejection(lastTopology, requested);
      if (rejected != null) {
        candidate = null;
        throw new IllegalStateException("candidate " + rejected);
      }
      candidate = requested;
      why = "requested by an operator";
    }
    if (candidate == null) {
      throw new IllegalStateException("no replica qualifies for promotion: " + why);
    }
    List<Action> out = new ArrayList<>();
    if (incident == null) {
      incident = new Incident(nextIncidentId++, Incident.Kind.FAILOVER, knownPrimary, options.getRto().toMillis());
      incident.lastHealthyAt = lastHealthyAt >= 0 ? lastHealthyAt : now;
      incident.firstFailedAt = firstFailedAt;
      incident.oldPrimaryLsn = lastPrimaryLsn;
      out.add(new IncidentOpened(incident));
    }
    incident.notes.add("failover requested by an operator");
    decide(lastTopology, now, why, out);
    return out;
  }

  /** Why {@code name} cannot be promoted now, or {@code null} if it can. */
  private String rejection(Topology t, String name) {
    TargetStatus s = t.target(name).orElse(null);
    return s == null ? name + " is unknown" : candidateRules().rejection(s);
  }


  private String cutoverText() {
    if (minority != null && phase == Phase.IDLE) {
      return "no quorum: " + minority + "; writes held until this instance sees a majority again";
    }
    return switch (phase) {
      case PROMOTING, AWAIT_PRIMARY -> (incident != null && incident.kind == Incident.Kind.SWITCHOVER ? "switchover" : "failover")
          + " in flight: promoting " + candidate + (knownPrimary == null ? "" : " (was " + knownPrimary + ")");
      case SWITCHOVER -> "switchover in flight: " + knownPrimary + " -> " + candidate;
      default -> null;
    };
  }

  /** The open incident, if any. */
  public Incident openIncident() {
    return incident;
  }

  /** Closed incidents, newest last (at most {@code incidents_kept}). */
  public List<Incident> closedIncidents() {
    return List.copyOf(closed);
  }

  /** The primary the machine last saw routed (or promoted). */
  public String knownPrimary() {
    return knownPrimary;
  }

  /**
   * Feeds one check result and the snapshot built from it (with the current overlay).
   *
   * @return actions to carry out, in order
   */
  public List<Action> onObservation(Observation obs, Topology t, long now) {
    List<Action> out = new ArrayList<>();
    lastTopology = t;
    trackStates(t, now, out);
    if (phase == Phase.IDLE && t.primary() != null && !t.primary().equals(knownPrimary)) {
      if (incident != null && !t.primary().equals(incident.oldPrimary)) {
        // another node became primary without us (follow mode, or an operator): measure it like ours
        candidate = t.primary();
        incident.candidate = candidate;
        incident.promotedAt = now;
        incident.candidateLsn = t.target(candidate).map(TargetStatus::positionLsn).orElse(-1L);
        phase = Phase.PROBING;
        out.add(new ProbeWrite());
      }
      knownPrimary = t.primary();
      lastHealthyAt = -1;
    }
    if (obs.target().equals(knownPrimary) && !fenced.contains(knownPrimary)) {
      if (obs.ok() && obs.role() == Role.PRIMARY) {
        lastHealthyAt = obs.atMillis();
        lastPrimaryLsn = obs.currentLsn();
        firstFailedAt = -1;
      } else if (!obs.ok() && firstFailedAt < 0) {
        firstFailedAt = obs.atMillis();
      }
    }
    fenceExtraPrimaries(t, out);
    switch (phase) {
      case IDLE -> idle(t, now, out);
      case AWAIT_PRIMARY -> {
        if (authority == Authority.FOLLOW && obs.ok() && obs.role() == Role.PRIMARY && obs.target().equals(knownPrimary)
            && incident != null && incident.kind == Incident.Kind.FAILOVER && incident.promotedAt < 0) {
          phase = Phase.IDLE;
          candidate = null;
          incident.outcome = "recovered";
          incident.notes.add(knownPrimary + " answered this instance again before any promotion");
          close(now, out);
          return out;
        }
        if (authority == Authority.FOLLOW && obs.ok() && obs.role() == Role.PRIMARY && !fenced.contains(obs.target())) {
          candidate = obs.target(); // the leader may have chosen another replica
          incident.candidate = candidate;
          incident.promotedAt = now;
        }
        if (obs.target().equals(candidate) && obs.ok() && obs.role() == Role.PRIMARY) {
          phase = Phase.PROBING;
          knownPrimary = candidate;
          out.add(new Alert("info", candidate + " reports primary (timeline " + obs.timeline() + "); routing writes to it"));
          out.add(new ProbeWrite());
          for (Target r : targets.values()) {
            TargetStatus s = t.target(r.name()).orElse(null);
            if (!r.name().equals(candidate) && s != null && s.state() == TargetState.UP && s.role() == Role.REPLICA) {
              out.add(new Repoint(r, targets.get(candidate)));
            }
          }
        }
      }
      default -> {
      }
    }
    return out;
  }

  private void trackStates(Topology t, long now, List<Action> out) {
    for (TargetStatus s : t.targets()) {
      String name = s.name();
      TargetState before = lastState.put(name, s.state());
      if (s.state() == TargetState.UP && before != TargetState.UP) {
        upSince.put(name, now);
        if (before == TargetState.DOWN) {
          recovering.add(name);
        }
      } else if (s.state() != TargetState.UP) {
        upSince.remove(name);
      }
      if (fenced.contains(name) && s.state() == TargetState.UP && s.role() == Role.REPLICA) {
        fenced.remove(name);
        recovering.add(name);
        upSince.put(name, now);
        out.add(new Alert("info", name + " rejoined as a replica: unfenced, back in the read pool after failback_delay"));
      }
    }
  }

  private void fenceExtraPrimaries(Topology t, List<Action> out) {
    // a follower waiting for the leader has only a guess at the candidate: it fences nothing until it routes
    boolean guessing = authority == Authority.FOLLOW && phase == Phase.AWAIT_PRIMARY;
    String routed = t.primary() != null ? t.primary() : (phase == Phase.IDLE || guessing ? null : candidate);
    if (routed == null) {
      return;
    }
    long routedTli = t.target(routed).map(TargetStatus::timeline).orElse(-1L);
    for (TargetStatus s : t.targets()) {
      if (!s.name().equals(routed) && !s.fenced() && !fenced.contains(s.name()) && s.state() == TargetState.UP
          && s.role() == Role.PRIMARY) {
        fenced.add(s.name());
        out.add(new Alert("error", "split brain: " + s.name() + " reports primary (timeline " + s.timeline() + ") while "
            + routed + " is primary (timeline " + routedTli + "); " + s.name() + " fenced"));
        out.add(new Hook("on_fence", s.target(), targets.get(routed)));
      }
    }
  }

  private void idle(Topology t, long now, List<Action> out) {
    TargetStatus primary = knownPrimary == null ? null : t.target(knownPrimary).orElse(null);
    boolean primaryLost = primary != null && (primary.state() == TargetState.DOWN || fenced.contains(knownPrimary))
        && t.primary() == null;
    if (incident == null && primaryLost && primary.state() == TargetState.DOWN) {
      incident = new Incident(nextIncidentId++, Incident.Kind.FAILOVER, knownPrimary, options.getRto().toMillis());
      incident.lastHealthyAt = lastHealthyAt;
      incident.firstFailedAt = firstFailedAt;
      incident.downAt = now;
      incident.oldPrimaryLsn = lastPrimaryLsn;
      lastRefusal = null;
      out.add(new IncidentOpened(incident));
      out.add(new Alert("error", "primary " + knownPrimary + " is DOWN (" + primary.lastError() + "); mode "
          + options.getMode().label() + (maintenance ? ", maintenance mode" : "")));
    }
    if (incident != null && incident.kind == Incident.Kind.FAILOVER && primary != null
        && primary.state() == TargetState.UP && !fenced.contains(knownPrimary) && knownPrimary.equals(t.primary())) {
      incident.outcome = "recovered";
      incident.notes.add(knownPrimary + " came back before a new primary took over");
      close(now, out);
      return;
    }
    if (incident == null || !primaryLost) {
      autoFailback(t, now, out);
      return;
    }
    if (maintenance) {
      refuse("maintenance mode: automatic failover paused" + (maintenanceReason == null ? "" : " (" + maintenanceReason + ")"), out);
      return;
    }
    switch (options.getMode()) {
      case MANUAL -> refuse("mode manual: no automatic failover; an operator must act", out);
      case FOLLOW -> refuse("mode follow: waiting for another node to report itself primary", out);
      case AUTO -> {
        if (authority == Authority.WAIT) {
          refuse("no quorum for a failover: " + authorityReason, out);
          waitingForQuorum = true;
          return;
        }
        waitingForQuorum = false;
        String why = chooseCandidate(t);
        if (candidate == null) {
          refuse("no replica qualifies for promotion: " + why, out);
          return;
        }
        decide(t, now, why, out);
      }
    }
  }

  /** Fences the old primary and promotes {@link #candidate}. */
  private void decide(Topology t, long now, String why, List<Action> out) {
    incident.decidedAt = now;
    incident.candidate = candidate;
    incident.candidateLsn = t.target(candidate).map(TargetStatus::positionLsn).orElse(-1L);
    incident.notes.add("candidate " + candidate + ": " + why);
    if (authority == Authority.FOLLOW) {
      // The leader decides and promotes. This instance holds new writes and routes to whichever node then
      // reports primary (newer timeline; the old primary is fenced as an extra primary); if the old primary
      // answers again first (this instance alone was cut off from it), it simply recovers.
      phase = Phase.AWAIT_PRIMARY;
      incident.notes.add("follower: holding writes; the promotion is left to the failover authority");
      out.add(new Alert("warn", "primary " + knownPrimary + " DOWN here; holding writes, waiting for the leader to promote"
          + " (likely " + candidate + ")"));
      return;
    }
    fenced.add(knownPrimary);
    Target old = targets.get(knownPrimary);
    phase = Phase.PROMOTING;
    out.add(new Alert("warn", "failover: fencing " + knownPrimary + ", promoting " + candidate + " (" + why + ")"));
    out.add(new Hook("on_fence", old, targets.get(candidate)));
    out.add(new Promote(targets.get(candidate)));
  }

  private void refuse(String reason, List<Action> out) {
    if (!reason.equals(lastRefusal)) {
      lastRefusal = reason;
      incident.notes.add(reason);
      out.add(new Refused(reason));
      out.add(new Alert("error", "failover of " + knownPrimary + " refused: " + reason));
    }
  }

  private CandidateRules candidateRules() {
    return new CandidateRules(knownPrimary, fenced, lastPrimaryLsn, options.getMaxLagOnFailoverBytes(),
        options.getPreferred(), new ArrayList<>(targets.keySet()));
  }

  /** Sets {@link #candidate} (or null) and returns the reason for the choice or the refusal. */
  private String chooseCandidate(Topology t) {
    CandidateRules.Choice choice = candidateRules().choose(t);
    candidate = choice.candidate();
    return choice.reason();
  }

  private void autoFailback(Topology t, long now, List<Action> out) {
    String preferred = options.getPreferred();
    if (!options.isAutoFailback() || preferred == null || incident != null || preferred.equals(knownPrimary)
        || t.primary() == null) {
      preferredReadySince = -1;
      return;
    }
    TargetStatus p = t.target(preferred).orElse(null);
    boolean ready = p != null && p.state() == TargetState.UP && p.role() == Role.REPLICA && !p.fenced()
        && p.hold() == null && p.lagBytes() == 0;
    if (!ready) {
      preferredReadySince = -1;
      return;
    }
    if (preferredReadySince < 0) {
      preferredReadySince = now;
    }
    if (now - preferredReadySince >= options.getFailbackDelay().toMillis()) {
      out.add(new Alert("info", "auto_failback: " + preferred + " has been a healthy replica with zero lag for "
          + options.getFailbackDelay().toSeconds() + " s; switching over from " + knownPrimary));
      out.addAll(requestSwitchover(preferred, now));
    }
  }

  /**
   * Starts a planned switchover to {@code to}.
   *
   * @throws IllegalStateException when a cutover is already in flight or there is no routed primary
   * @throws IllegalArgumentException when {@code to} is unknown or not the kind of target that can be promoted
   */
  public List<Action> requestSwitchover(String to, long now) {
    if (phase != Phase.IDLE || incident != null) {
      throw new IllegalStateException("a cutover is already in flight");
    }
    if (knownPrimary == null) {
      throw new IllegalStateException("there is no primary to switch over from");
    }
    if (!targets.containsKey(to)) {
      throw new IllegalArgumentException("unknown target " + to);
    }
    if (to.equals(knownPrimary)) {
      throw new IllegalStateException(to + " is already the primary");
    }
    TargetStatus st = lastTopology == null ? null : lastTopology.target(to).orElse(null);
    if (st == null || st.state() != TargetState.UP || st.role() != Role.REPLICA || fenced.contains(to)) {
      throw new IllegalStateException("candidate " + to + " is not an UP, unfenced replica");
    }
    incident = new Incident(nextIncidentId++, Incident.Kind.SWITCHOVER, knownPrimary, options.getRto().toMillis());
    incident.lastHealthyAt = now;
    incident.decidedAt = now;
    incident.candidate = to;
    candidate = to;
    phase = Phase.SWITCHOVER;
    preferredReadySince = -1;
    return List.of(new IncidentOpened(incident), new Switchover(targets.get(knownPrimary), targets.get(to)));
  }

  /**
   * The executor's report on a switchover: {@code ok} once the candidate caught up and was promoted (the
   * old primary, now read-only, is fenced); otherwise the switchover was aborted and the old primary
   * restored to read-write.
   *
   * @param oldLsn        the old primary's last LSN in bytes (what the candidate replayed before promotion)
   * @param candidateLsn  the candidate's replayed LSN at promotion
   */
  public List<Action> onSwitchoverResult(boolean ok, String error, long oldLsn, long candidateLsn, long now) {
    List<Action> out = new ArrayList<>();
    if (phase != Phase.SWITCHOVER || incident == null) {
      return out;
    }
    incident.oldPrimaryLsn = oldLsn;
    incident.candidateLsn = candidateLsn;
    if (!ok) {
      incident.outcome = "aborted";
      incident.notes.add(error);
      out.add(new Alert("error", "switchover to " + candidate + " aborted: " + error));
      phase = Phase.IDLE;
      candidate = null;
      close(now, out);
      return out;
    }
    fenced.add(incident.oldPrimary);
    incident.promotedAt = now;
    phase = Phase.AWAIT_PRIMARY;
    out.add(new Hook("on_fence", targets.get(incident.oldPrimary), targets.get(candidate)));
    out.add(new Hook("on_switchover", targets.get(incident.oldPrimary), targets.get(candidate)));
    out.add(new Recheck(candidate));
    return out;
  }

  /** The executor's report on {@link Promote}. */
  public List<Action> onPromoted(String target, boolean ok, String error, long now) {
    List<Action> out = new ArrayList<>();
    if (phase != Phase.PROMOTING || !target.equals(candidate)) {
      return out;
    }
    if (ok) {
      incident.promotedAt = now;
      phase = Phase.AWAIT_PRIMARY;
      out.add(new Alert("info", target + " promoted"));
      out.add(new Hook("on_failover", targets.get(incident.oldPrimary), targets.get(target)));
      out.add(new Recheck(target));
    } else {
      incident.notes.add("promotion of " + target + " failed: " + error);
      out.add(new Alert("error", "promotion of " + target + " failed: " + error + "; will choose again"));
      phase = Phase.IDLE;
      candidate = null;
    }
    return out;
  }

  /** The executor's report: a write went through the write endpoint to the new primary. */
  public List<Action> onWriteAccepted(long now) {
    List<Action> out = new ArrayList<>();
    if (phase != Phase.PROBING || incident == null) {
      return out;
    }
    incident.firstWriteAt = now;
    incident.outcome = "completed";
    knownPrimary = candidate;
    phase = Phase.IDLE;
    candidate = null;
    close(now, out);
    return out;
  }

  /**
   * Time passes: RTO warnings (75% and 100% of {@code rto} since the old primary's last healthy check) and
   * the end of failback delays.
   *
   * @return alerts to log; the caller rebuilds the topology when {@link #overlay(long)} changed
   */
  public List<Action> onTick(long now) {
    List<Action> out = new ArrayList<>();
    if (incident != null && incident.lastHealthyAt >= 0) {
      long elapsed = now - incident.lastHealthyAt;
      long rto = incident.rtoMillis;
      if (!incident.breachLogged && elapsed >= rto) {
        incident.breachLogged = true;
        incident.warned = true;
        out.add(new Alert("error", "RTO breached: " + incident.kind.name().toLowerCase(java.util.Locale.ROOT) + " of "
            + incident.oldPrimary + " open for " + elapsed + " ms, rto " + rto + " ms"));
      } else if (!incident.warned && elapsed * 4 >= rto * 3) {
        incident.warned = true;
        out.add(new Alert("warn", "RTO at 75%: " + incident.kind.name().toLowerCase(java.util.Locale.ROOT) + " of "
            + incident.oldPrimary + " open for " + elapsed + " ms, rto " + rto + " ms"));
      }
    }
    if (waitingForQuorum && phase == Phase.IDLE && authority == Authority.PROMOTE && lastTopology != null) {
      // clustered: a quorum agreed since the last check (another instance's verdict arrived): decide now
      // rather than at this instance's next check
      idle(lastTopology, now, out);
    }
    long delay = options.getFailbackDelay().toMillis();
    recovering.removeIf(name -> {
      Long since = upSince.get(name);
      return since != null && now >= since + delay;
    });
    return out;
  }

  private void close(long now, List<Action> out) {
    incident.closedAt = now;
    closed.addLast(incident);
    while (closed.size() > options.getIncidentsKept()) {
      closed.removeFirst();
    }
    out.add(new IncidentClosed(incident));
    incident = null;
    lastRefusal = null;
  }
}
