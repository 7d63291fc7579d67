package io.cutover.monitor;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A configuration reload in the monitor: targets re-derived, state of unchanged targets and of the failover kept. */
class ReconfigurationTest {

  static final Target PG1 = TopologyRulesTest.PG1;
  static final Target PG2 = TopologyRulesTest.PG2;
  static final Target PG3 = TopologyRulesTest.PG3;
  static final Target PG4 = new Target("pg4", "127.0.0.1", 15435);

  private static FailoverOptions opts() {
    return new FailoverOptions().setFailbackDelay(Duration.ofSeconds(60)).setRto(Duration.ofSeconds(10));
  }

  private static FailoverMachineTest.Sim healthy() {
    return new FailoverMachineTest.Sim(opts()).healthy(1000, 1000, 1000);
  }

  private static void reconfigure(FailoverMachineTest.Sim s, List<Target> targets, int fall, int rise, long maxLag,
                                  FailoverOptions failover) {
    List<Target> before = s.topo().targets().stream().map(TargetStatus::target).toList();
    Set<String> fresh = Reconfiguration.readdressed(before, targets);
    s.tracker.reconfigure(targets, fresh, fall, rise, maxLag, failover);
    s.log.addAll(s.tracker.drainActions());
  }

  @Test
  void removedAddedAndReaddressedTargetsAreFound() {
    Target pg3Moved = new Target("pg3", "10.0.0.3", 15434);
    assertEquals(Set.of("pg2"), Reconfiguration.removed(List.of(PG1, PG2, PG3), List.of(PG1, PG3)));
    assertEquals(Set.of(), Reconfiguration.removed(List.of(PG1, PG2), List.of(PG2, PG1, PG4)));
    assertEquals(Set.of("pg3"), Reconfiguration.readdressed(List.of(PG1, PG3), List.of(PG1, pg3Moved)));
    assertEquals(Set.of("pg3"), Reconfiguration.readdressed(List.of(PG3), List.of(new Target("pg3", "127.0.0.1", 1))));
    assertEquals(Set.of(), Reconfiguration.readdressed(List.of(PG1, PG3), List.of(PG3, PG1)), "order is no address");
  }

  @Test
  void aRemovedReplicaLeavesTheTopologyAndTheOthersKeepTheirState() {
    FailoverMachineTest.Sim s = healthy();
    s.down(PG2); // pg2 took one failure: health 3 of 4, still UP
    assertEquals(3, s.tracker.health("pg2").health());
    long version = s.topo().version();
    reconfigure(s, List.of(PG1, PG2), 3, 2, -1, opts());
    Topology t = s.topo();
    assertTrue(t.version() > version, "a new snapshot");
    assertEquals(List.of("pg1", "pg2"), t.targets().stream().map(TargetStatus::name).toList());
    assertEquals("pg1", t.primary(), "the primary stays routed");
    assertEquals(List.of("pg2"), t.readable());
    assertEquals(3, s.tracker.health("pg2").health(), "pg2 keeps its hysteresis counter");
    assertEquals("pg1", s.machine.knownPrimary());
    assertTrue(s.all(Action.Promote.class).isEmpty(), "nothing promoted");
    assertThrows(IllegalArgumentException.class, () -> s.machine.drain("pg3", -1, s.clock.millis()),
        "pg3 is no longer a target");
  }

  @Test
  void anAddedTargetStartsUnknownAndIsRoutedOnceChecked() {
    FailoverMachineTest.Sim s = healthy();
    reconfigure(s, List.of(PG1, PG2, PG3, PG4), 3, 2, -1, opts());
    assertEquals(TargetState.UNKNOWN, s.topo().target("pg4").orElseThrow().state());
    assertFalse(s.topo().readable().contains("pg4"));
    s.replica(PG4, 1000);
    assertTrue(s.topo().readable().contains("pg4"), "UP at its first good check, no failback delay: like a start");
    assertEquals(List.of("pg2", "pg3", "pg4"), s.topo().readable());
  }

  @Test
  void aReaddressedTargetIsAnotherServerFollowedAfresh() {
    FailoverMachineTest.Sim s = healthy();
    s.apply((m, now) -> m.drain("pg3", -1, now));
    Target moved = new Target("pg3", "127.0.0.1", 25434);
    reconfigure(s, List.of(PG1, PG2, moved), 3, 2, -1, opts());
    TargetStatus pg3 = s.topo().target("pg3").orElseThrow();
    assertEquals(moved, pg3.target(), "the new address is published");
    assertEquals(TargetState.UNKNOWN, pg3.state(), "its hysteresis starts again");
    assertTrue(pg3.drained(), "an operator's drain stays on the name");
    s.replica(moved, 1000);
    assertEquals(TargetState.UP, s.topo().target("pg3").orElseThrow().state());
  }

  @Test
  void newFallAndRiseApplyAndKeepTheProgressOfEachTarget() {
    FailoverMachineTest.Sim s = healthy();
    s.down(PG3); // one failure taken
    reconfigure(s, List.of(PG1, PG2, PG3), 5, 2, -1, opts());
    assertEquals(5, s.tracker.health("pg3").health(), "full health 6 less the failure taken");
    for (int i = 0; i < 3; i++) {
      s.down(PG3);
    }
    assertEquals(TargetState.UP, s.topo().target("pg3").orElseThrow().state(), "four failures: UP with fall 5");
    s.down(PG3);
    assertEquals(TargetState.DOWN, s.topo().target("pg3").orElseThrow().state(), "the fifth takes it DOWN");
  }

  @Test
  void aLowerReadMaxLagAppliesAtOnce() {
    FailoverMachineTest.Sim s = new FailoverMachineTest.Sim(opts()).healthy(100_000, 100_000, 10_000);
    assertEquals(List.of("pg2", "pg3"), s.topo().readable());
    reconfigure(s, List.of(PG1, PG2, PG3), 3, 2, 1024, opts());
    assertEquals(List.of("pg2"), s.topo().readable(), "pg3 lags 90000 bytes, more than read.max_lag 1kB");
  }

  @Test
  void newFailoverSettingsApplyToTheNextDecision() {
    FailoverMachineTest.Sim s = healthy();
    reconfigure(s, List.of(PG1, PG2, PG3), 3, 2, -1, opts().setMode(FailoverOptions.Mode.MANUAL));
    s.down(PG1).step(200).down(PG1).step(200).down(PG1);
    assertTrue(s.all(Action.Promote.class).isEmpty(), "mode manual since the reload: no promotion");
    assertNotNull(s.machine.openIncident(), "the incident is recorded");
  }

  @Test
  void theOpenIncidentAndThePrimaryOfRecordSurviveAReload() {
    FailoverMachineTest.Sim s = healthy();
    s.down(PG1).step(200).down(PG1).step(200).down(PG1);
    assertEquals(List.of("pg2"), s.promoted(), "equal positions: configuration order");
    Incident open = s.machine.openIncident();
    assertNotNull(open);
    Phase phase = s.machine.phase();
    reconfigure(s, List.of(PG1, PG2, PG3), 3, 2, -1, opts().setRto(Duration.ofSeconds(20)));
    assertEquals(open, s.machine.openIncident(), "the same incident");
    assertEquals(phase, s.machine.phase(), "the same phase");
    assertEquals("pg1", s.machine.knownPrimary());
    assertTrue(s.topo().target("pg1").orElseThrow().fenced(), "the old primary stays fenced");
  }

  @Test
  void aTargetTheFailoverReliesOnCannotLeave() {
    FailoverMachineTest.Sim s = healthy();
    List<String> primary = Reconfiguration.conflicts(s.machine, s.topo(), Set.of("pg1", "pg3"));
    assertEquals(1, primary.size(), primary.toString());
    assertTrue(primary.get(0).startsWith("targets: pg1 is the primary of record: a reload cannot remove or re-address it"),
        primary.get(0));
    assertEquals(List.of(), Reconfiguration.conflicts(s.machine, s.topo(), Set.of("pg2", "pg3")));

    s.down(PG1).step(200).down(PG1).step(200).down(PG1);
    String candidate = s.promoted().get(0);
    List<String> inFlight = Reconfiguration.conflicts(s.machine, s.topo(), Set.of("pg1", "pg2", "pg3"));
    assertEquals(2, inFlight.size(), inFlight.toString());
    assertTrue(inFlight.get(0).startsWith("targets: pg1 is the old primary of the open incident"), inFlight.get(0));
    assertTrue(inFlight.stream().anyMatch(l -> l.startsWith("targets: " + candidate + " is the candidate of the open incident")),
        inFlight.toString());
  }
}
