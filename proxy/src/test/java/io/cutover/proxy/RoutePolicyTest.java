package io.cutover.proxy;

import io.cutover.monitor.FailureKind;
import io.cutover.monitor.Observation;
import io.cutover.monitor.Target;
import io.cutover.monitor.TargetState;
import io.cutover.monitor.Topology;
import io.cutover.monitor.TopologyRules;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RoutePolicyTest {

  static final Target PG1 = new Target("pg1", "127.0.0.1", 15432);
  static final Target PG2 = new Target("pg2", "127.0.0.1", 15433);
  static final Target PG3 = new Target("pg3", "127.0.0.1", 15434);

  static TopologyRules.Input up(Target t, boolean primary) {
    Observation o = primary ? Observation.primary(t.name(), 0, 1, 1, 100) : Observation.replica(t.name(), 0, 1, 1, 100, 100);
    return new TopologyRules.Input(t, TargetState.UP, o, o);
  }

  static TopologyRules.Input down(Target t, boolean primary) {
    TopologyRules.Input in = up(t, primary);
    return new TopologyRules.Input(t, TargetState.DOWN, in.lastOk(),
        Observation.failed(t.name(), 0, 1, FailureKind.REFUSED, "Connection refused"));
  }

  static Topology topo(TopologyRules.Input... inputs) {
    return new TopologyRules(-1).build(7, 0, List.of(inputs));
  }

  @Test
  void writesGoToThePrimaryOnly() {
    Route r = new RoutePolicy(true).route(topo(up(PG1, true), up(PG2, false)), Endpoint.WRITE, 5);
    assertEquals(List.of(PG1), r.candidates());
    assertEquals(7, r.version());
  }

  @Test
  void readsRoundRobinOverReadableReplicas() {
    Topology t = topo(up(PG1, true), up(PG2, false), up(PG3, false));
    RoutePolicy p = new RoutePolicy(true);
    assertEquals(List.of(PG2, PG3), p.route(t, Endpoint.READ, 0).candidates());
    assertEquals(List.of(PG3, PG2), p.route(t, Endpoint.READ, 1).candidates());
    assertEquals(List.of(PG2, PG3), p.route(t, Endpoint.READ, 2).candidates());
    assertEquals(List.of(PG3, PG2), p.route(t, Endpoint.READ, -1).candidates(), "counter wrap-around stays valid");
  }

  @Test
  void readsFallBackToThePrimaryOnlyWhenConfigured() {
    Topology t = topo(up(PG1, true), down(PG2, false), down(PG3, false));
    assertEquals(List.of(PG1), new RoutePolicy(true).route(t, Endpoint.READ, 0).candidates());
    Route none = new RoutePolicy(false).route(t, Endpoint.READ, 0);
    assertFalse(none.routable());
    assertEquals("no replica available for the read endpoint (no replica is readable (pg2 is down; pg3 is down);"
        + " read.fallback_to_primary is off)", none.reason());
  }

  @Test
  void noPrimaryGivesAReasonNamingTheEndpoint() {
    Topology t = topo(down(PG1, true), up(PG2, false));
    Route w = new RoutePolicy(true).route(t, Endpoint.WRITE, 0);
    assertFalse(w.routable());
    assertEquals("no primary available for the write endpoint (pg1 (last seen primary) is down)", w.reason());
    Topology nothing = topo(down(PG1, true), down(PG2, false));
    Route r = new RoutePolicy(true).route(nothing, Endpoint.READ, 0);
    assertTrue(r.reason().startsWith("no replica available for the read endpoint (no replica is readable (pg1 is down; pg2 is down)"
        + "; no primary to fall back to: pg1 (last seen primary) is down"), r.reason());
  }

  @Test
  void topologyViewKeepsTheNewestVersion() {
    Topology v7 = topo(up(PG1, true));
    TopologyView view = new TopologyView(Topology.initial(List.of(PG1), 0), new RoutePolicy(true));
    assertTrue(view.update(v7));
    Topology v3 = new TopologyRules(-1).build(3, 0, List.of(down(PG1, true)));
    assertFalse(view.update(v3), "an older snapshot never replaces a newer one");
    assertEquals(List.of(PG1), view.route(Endpoint.WRITE).candidates());
    assertFalse(view.update(v7), "the same version is not news");
  }
}
