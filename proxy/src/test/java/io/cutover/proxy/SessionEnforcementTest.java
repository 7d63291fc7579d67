package io.cutover.proxy;

import io.cutover.monitor.Observation;
import io.cutover.monitor.Overlay;
import io.cutover.monitor.Target;
import io.cutover.monitor.TargetState;
import io.cutover.monitor.Topology;
import io.cutover.monitor.TopologyRules;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which sessions a snapshot ends ({@link SessionEnforcement#ends}), for every kind of session. */
class SessionEnforcementTest {

  static final Target PG1 = new Target("pg1", "127.0.0.1", 15432);
  static final Target PG2 = new Target("pg2", "127.0.0.1", 15433);
  static final Target PG3 = new Target("pg3", "127.0.0.1", 15434);

  private static TopologyRules.Input in(Target t, TargetState s, Observation o) {
    return new TopologyRules.Input(t, s, o, o);
  }

  private static Observation primary(Target t, long tli) {
    return Observation.primary(t.name(), 0, 1, tli, 100);
  }

  private static Observation replica(Target t, long tli, String receiver) {
    return Observation.replica(t.name(), 0, 1, tli, 100, 100, receiver);
  }

  /** Ends as {write, read as a replica, read fallen back to the primary}. */
  private static List<Boolean> ends(Topology t, String name) {
    var s = t.target(name).orElseThrow();
    return List.of(SessionEnforcement.ends(t, s, Endpoint.WRITE, false), SessionEnforcement.ends(t, s, Endpoint.READ, false),
        SessionEnforcement.ends(t, s, Endpoint.READ, true));
  }

  @Test
  void aHealthyClusterEndsNothing() {
    Topology t = new TopologyRules(-1).build(1, 0, List.of(in(PG1, TargetState.UP, primary(PG1, 1)),
        in(PG2, TargetState.UP, replica(PG2, 1, "streaming")), in(PG3, TargetState.UP, replica(PG3, 1, "streaming"))));
    assertEquals(List.of(false, true, false), ends(t, "pg1"), "the primary: replica-routed reads end, fallbacks stay");
    assertEquals(List.of(false, false, true), ends(t, "pg2"), "a replica: its reads stay; a fallback to it would end");
  }

  @Test
  void aPromotedReplicaEndsItsReplicaReadsFromTheDecisionOn() {
    Overlay promoting = new Overlay(Set.of(), Map.of(), "failover in flight: promoting pg2", Map.of(), null, false, "pg2");
    Topology t = new TopologyRules(-1).build(1, 0, List.of(in(PG1, TargetState.DOWN, primary(PG1, 1)),
        in(PG2, TargetState.UP, replica(PG2, 1, null)), in(PG3, TargetState.UP, replica(PG3, 1, null))), promoting);
    assertTrue(ends(t, "pg2").get(1), "being promoted");
    assertFalse(ends(t, "pg3").get(1), "the other replica, on the newest timeline, is still read");
    Topology promoted = new TopologyRules(-1).build(2, 0, List.of(in(PG1, TargetState.DOWN, primary(PG1, 1)),
        in(PG2, TargetState.UP, primary(PG2, 2)), in(PG3, TargetState.UP, replica(PG3, 1, null))));
    assertEquals(List.of(false, true, false), ends(promoted, "pg2"), "reports primary: replica reads end");
    assertTrue(ends(promoted, "pg3").get(1), "pg3 does not follow pg2 (timeline 1) until it is re-pointed");
  }

  @Test
  void downFencedAndDemotedTargets() {
    Overlay fenced = new Overlay(Set.of("pg1"), Map.of(), null, Map.of());
    Topology t = new TopologyRules(-1).build(1, 0, List.of(in(PG1, TargetState.UP, primary(PG1, 1)),
        in(PG2, TargetState.DOWN, replica(PG2, 1, "streaming")), in(PG3, TargetState.UP, primary(PG3, 2))), fenced);
    assertEquals(List.of(true, true, true), ends(t, "pg1"), "fenced: every session ends");
    assertEquals(List.of(false, true, true), ends(t, "pg2"), "down: read sessions end (on-marked-down)");
    Topology demoted = new TopologyRules(-1).build(2, 0, List.of(in(PG1, TargetState.UP, replica(PG1, 2, "streaming")),
        in(PG3, TargetState.UP, primary(PG3, 2))));
    assertEquals(List.of(false, false, true), ends(demoted, "pg1"), "a fallback to a primary that is now a replica ends");
  }

  @Test
  void lagAndDrainDoNotEndSessions() {
    Overlay drained = new Overlay(Set.of(), Map.of(), null, Map.of("pg2", -1L));
    Topology t = new TopologyRules(0).build(1, 0, List.of(in(PG1, TargetState.UP, Observation.primary("pg1", 0, 1, 1, 5000)),
        in(PG2, TargetState.UP, replica(PG2, 1, "streaming")), in(PG3, TargetState.UP, replica(PG3, 1, "streaming"))), drained);
    assertFalse(t.target("pg3").orElseThrow().readable(), "over read.max_lag 0");
    assertFalse(ends(t, "pg3").get(1), "a lagging replica keeps its sessions");
    assertFalse(ends(t, "pg2").get(1), "a drained replica keeps its sessions until close_after");
  }
}
