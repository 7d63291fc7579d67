package io.cutover.monitor;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Feeds check results through per-target {@link Health} and {@link TopologyRules} and hands out a
 * new {@link Topology} (version + 1) whenever the snapshot's content changes; collects the failover machine's
 * actions, with {@link Action.IncidentStep} when an input changed the open incident silently. Plain and I/O-free;
 * time comes from the injected {@link Clock}. Not thread-safe: driven from the monitor's context.
 */
public final class TopologyTracker {

  private static final class Slot {
    final Target target;
    final Health health;
    Observation lastOk;
    Observation previousOk;
    Observation last;

    Slot(Target target, Health health) {
      this.target = target;
      this.health = health;
    }
  }

  private final Map<String, Slot> slots = new LinkedHashMap<>();
  private TopologyRules rules;
  private final Clock clock;
  private final FailoverMachine machine;
  private final List<Action> actions = new ArrayList<>();
  private final IncidentSteps steps = new IncidentSteps();
  private Topology current;
  /** The highest version seen elsewhere (clustered Cutover); the next snapshot is numbered above it. */
  private long witnessed;

  /**
   * @param targets     configured targets (names unique)
   * @param fall        see {@link Health}
   * @param rise        see {@link Health}
   * @param maxLagBytes {@code read.max_lag} in bytes ({@code 0}: no lag), negative ({@code off}) disables it
   * @param clock       time source for snapshot timestamps
   * @throws IllegalArgumentException on duplicate target names or an empty list
   */
  public TopologyTracker(List<Target> targets, int fall, int rise, long maxLagBytes, Clock clock) {
    this(targets, fall, rise, maxLagBytes, clock, null);
  }

  /**
   * @param machine the failover state machine whose overlay routing applies and which sees every
   *                observation, or {@code null} for none (routing follows observed roles only)
   */
  public TopologyTracker(List<Target> targets, int fall, int rise, long maxLagBytes, Clock clock, FailoverMachine machine) {
    if (targets.isEmpty()) {
      throw new IllegalArgumentException("no targets");
    }
    for (Target t : targets) {
      if (slots.put(t.name(), new Slot(t, new Health(fall, rise))) != null) {
        throw new IllegalArgumentException("duplicate target name: " + t.name());
      }
    }
    this.rules = new TopologyRules(maxLagBytes);
    this.clock = clock;
    this.machine = machine;
    this.current = Topology.initial(targets, clock.millis());
  }

  /**
   * Records one observation.
   *
   * @return the new snapshot if its content changed, else empty
   * @throws IllegalArgumentException if the observation names an unknown target
   */
  public Optional<Topology> record(Observation observation) {
    Slot slot = slots.get(observation.target());
    if (slot == null) {
      throw new IllegalArgumentException("unknown target: " + observation.target());
    }
    if (observation.ok() && observation.role() == Role.REPLICA && slot.lastOk != null
        && slot.lastOk.role() == Role.REPLICA && observation.timeline() < slot.lastOk.timeline()) {
      // A node's timeline never goes back. A replica whose WAL receiver is not running reports its last
      // restartpoint's timeline, which can predate a timeline switch it already replayed; keep the newer one.
      observation = new Observation(observation.target(), observation.atMillis(), observation.latencyMillis(),
          observation.role(), slot.lastOk.timeline(), observation.currentLsn(), observation.receiveLsn(),
          observation.replayLsn(), null, null, observation.receiver(), observation.patroni());
    }
    slot.last = observation;
    if (observation.ok()) {
      slot.previousOk = slot.lastOk;
      slot.lastOk = observation;
    }
    slot.health.record(observation.ok());
    long now = clock.millis();
    if (machine == null) {
      return publishIfChanged(build(Overlay.NONE, now));
    }
    Overlay before = machine.overlay(now);
    Topology next = build(before, now);
    take(machine.onObservation(observation, next, now));
    Overlay after = machine.overlay(now);
    return publishIfChanged(after.equals(before) ? next : build(after, now));
  }

  /**
   * Feeds an input to the failover state machine (a promotion result, a write probe, a tick, ...) and
   * rebuilds the snapshot with its overlay.
   *
   * @return the new snapshot if its content changed, else empty
   */
  public Optional<Topology> apply(java.util.function.BiFunction<FailoverMachine, Long, List<Action>> input) {
    if (machine == null) {
      return Optional.empty();
    }
    long now = clock.millis();
    take(input.apply(machine, now));
    return publishIfChanged(build(machine.overlay(now), now));
  }

  /**
   * A configuration reload: the targets, {@code fall}/{@code rise} and {@code read.max_lag} change, and the failover
   * machine takes {@code failover} and the targets ({@link FailoverMachine#reconfigure}). A target that stays keeps
   * its hysteresis (re-scaled to the new {@code fall} and {@code rise}: {@link Health#reconfigured}) and its last
   * observations; an added target, and a {@code fresh} one (re-addressed: another server under the same name), starts
   * unknown as at start-up; a removed one is forgotten. The snapshot is then derived afresh from what is kept.
   *
   * @param fresh names of targets that stay but were re-addressed
   * @return the new snapshot if its content changed, else empty
   * @throws IllegalArgumentException on duplicate target names or an empty list (nothing is changed then)
   */
  public Optional<Topology> reconfigure(List<Target> targets, java.util.Set<String> fresh, int fall, int rise,
                                        long maxLagBytes, FailoverOptions failover) {
    if (targets.isEmpty()) {
      throw new IllegalArgumentException("no targets");
    }
    Map<String, Slot> next = new LinkedHashMap<>();
    for (Target t : targets) {
      Slot old = fresh.contains(t.name()) ? null : slots.get(t.name());
      Slot slot = new Slot(t, old == null ? new Health(fall, rise) : old.health.reconfigured(fall, rise));
      if (old != null) {
        slot.lastOk = old.lastOk;
        slot.previousOk = old.previousOk;
        slot.last = old.last;
      }
      if (next.put(t.name(), slot) != null) {
        throw new IllegalArgumentException("duplicate target name: " + t.name());
      }
    }
    slots.clear();
    slots.putAll(next);
    rules = new TopologyRules(maxLagBytes);
    long now = clock.millis();
    if (machine == null) {
      return publishIfChanged(build(Overlay.NONE, now));
    }
    machine.reconfigure(failover, targets, fresh);
    Overlay before = machine.overlay(now);
    Topology built = build(before, now);
    take(machine.onTopology(built, now));
    Overlay after = machine.overlay(now);
    return publishIfChanged(after.equals(before) ? built : build(after, now));
  }

  /** Keeps an input's actions, followed by the open incident's step if it changed without one ({@link IncidentSteps}). */
  private void take(List<Action> produced) {
    actions.addAll(produced);
    Action step = steps.after(machine.openIncident(), produced);
    if (step != null) {
      actions.add(step);
    }
  }

  /** Actions produced by the state machine since the last call, in order. */
  public List<Action> drainActions() {
    List<Action> out = List.copyOf(actions);
    actions.clear();
    return out;
  }

  /** The failover state machine, or {@code null}. */
  public FailoverMachine machine() {
    return machine;
  }

  private Topology build(Overlay overlay, long now) {
    List<TopologyRules.Input> inputs = new ArrayList<>(slots.size());
    for (Slot s : slots.values()) {
      inputs.add(new TopologyRules.Input(s.target, s.health.state(), s.health.health(), s.lastOk, s.last, s.previousOk));
    }
    return rules.build(Math.max(current.version(), witnessed) + 1, now, inputs, overlay);
  }

  private Optional<Topology> publishIfChanged(Topology next) {
    if (next.sameContent(current)) {
      return Optional.empty();
    }
    current = next;
    return Optional.of(next);
  }

  /**
   * Records a topology version seen elsewhere: another instance's snapshot or a cluster decision (the
   * fencing token). An instance never routes by a version older than one it has seen: once a check has
   * completed, a higher version re-numbers the current snapshot to exactly that version (same content), and
   * every later snapshot is numbered above it, so versions order snapshots across instances like a Lamport
   * clock. Re-numbering to the seen version, not above it, lets instances converge on the highest version
   * instead of outbidding each other.
   *
   * @return the re-numbered snapshot, or empty when nothing changed (a version not above the current one,
   *         or no check completed yet: version 0 keeps meaning "no topology known")
   */
  public Optional<Topology> witness(long version) {
    witnessed = Math.max(witnessed, version);
    if (current.version() == 0 || version <= current.version()) {
      return Optional.empty();
    }
    Topology c = current;
    current = new Topology(version, clock.millis(), c.targets(), c.primary(), c.readable(), c.writeReason(),
        c.readReason(), c.cutover(), c.failoverPaused(), c.maintenance(),
        c.promoting());
    return Optional.of(current);
  }

  /** The newest snapshot. */
  public Topology current() {
    return current;
  }

  /** The hysteresis of one target (for diagnostics and tests). */
  public Health health(String target) {
    return slots.get(target).health;
  }

  /** When the given target's next check is due: {@code fastinter} while it changes state, else {@code interval}. */
  public Duration nextDelay(String target, Duration interval, Duration fastinter) {
    return slots.get(target).health.nextDelay(interval, fastinter);
  }
}
