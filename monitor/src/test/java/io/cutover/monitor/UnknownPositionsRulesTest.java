package io.cutover.monitor;

import org.junit.jupiter.api.Test;

import java.util.List;

import static io.cutover.monitor.TopologyRulesTest.PG1;
import static io.cutover.monitor.TopologyRulesTest.PG2;
import static io.cutover.monitor.TopologyRulesTest.PG3;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The topology rules with what {@code http} and {@code patroni} checks report: unknown timelines and WAL positions
 * ({@code -1}), a WAL receiver that is {@link Observation#UNREPORTED}, and Patroni's cluster flags.
 */
class UnknownPositionsRulesTest {

  /** What an {@code http} check reports for a 200 on the primary path. */
  static TopologyRules.Input httpPrimary(Target t) {
    Observation o = Observation.primary(t.name(), 0, 1, -1, -1);
    return new TopologyRules.Input(t, TargetState.UP, o, o);
  }

  /** What an {@code http} check reports for a 200 on the replica path. */
  static TopologyRules.Input httpReplica(Target t) {
    Observation o = Observation.replica(t.name(), 0, 1, -1, -1, -1, Observation.UNREPORTED);
    return new TopologyRules.Input(t, TargetState.UP, o, o);
  }

  @Test
  void httpReplicasAreReadableBehindAnHttpPrimary() {
    Topology t = new TopologyRules(-1).build(1, 0, List.of(httpPrimary(PG1), httpReplica(PG2), httpReplica(PG3)));
    assertEquals("pg1", t.primary());
    assertEquals(List.of("pg2", "pg3"), t.readable());
    TargetStatus pg2 = t.target("pg2").orElseThrow();
    assertTrue(pg2.following());
    assertEquals("unreported", pg2.receiver());
    assertEquals(-1, pg2.lagBytes(), "no WAL positions: the lag is unknown");
    assertNull(pg2.toJson().getValue("lag_bytes"));
    assertNull(pg2.toJson().getValue("timeline"));
  }

  @Test
  void aReplicaWithAnUnknownTimelineFollowsAPrimaryWithAKnownOneAndTheReverse() {
    Topology t = new TopologyRules(-1).build(1, 0, List.of(
        TopologyRulesTest.primary(PG1, TargetState.UP, 3, 100), httpReplica(PG2)));
    assertEquals(List.of("pg2"), t.readable(), t.readReason());
    t = new TopologyRules(-1).build(1, 0, List.of(httpPrimary(PG1), TopologyRulesTest.replica(PG2, 3, "streaming", 100)));
    assertEquals(List.of("pg2"), t.readable(), t.readReason());
  }

  @Test
  void withoutAPrimaryAnUnknownTimelineIsNotBehindTheNewestKnownOne() {
    Topology t = new TopologyRules(-1).build(1, 0, List.of(
        TopologyRulesTest.failing(httpPrimary(PG1)), httpReplica(PG2), TopologyRulesTest.replica(PG3, 4, "streaming", 10)));
    assertNull(t.primary());
    assertEquals(List.of("pg2", "pg3"), t.readable(), t.readReason());
    // while a known timeline behind the newest known one still is
    t = new TopologyRules(-1).build(1, 0, List.of(
        httpReplica(PG1), TopologyRulesTest.replica(PG2, 3, "streaming", 10),
        TopologyRulesTest.replica(PG3, 4, "streaming", 10)));
    assertEquals(List.of("pg1", "pg3"), t.readable());
    assertEquals("pg2 is on timeline 3, behind timeline 4 of another node", t.target("pg2").orElseThrow().readReason());
  }

  @Test
  void twoPrimariesWhoseTimelinesCannotBeComparedRefuseWrites() {
    Topology t = new TopologyRules(-1).build(1, 0, List.of(httpPrimary(PG1), httpPrimary(PG2)));
    assertNull(t.primary());
    assertEquals("several targets report primary and their timelines cannot be compared: pg1 (timeline unknown), "
        + "pg2 (timeline unknown)", t.writeReason());
    t = new TopologyRules(-1).build(1, 0, List.of(httpPrimary(PG1), TopologyRulesTest.primary(PG2, TargetState.UP, 7, 1)));
    assertNull(t.primary(), "a known timeline does not beat an unknown one");
    assertEquals("several targets report primary and their timelines cannot be compared: pg2 (timeline 7), "
        + "pg1 (timeline unknown)", t.writeReason());
  }

  @Test
  void unknownLagKeepsAnHttpReplicaOutOnlyWhenTheLagRuleIsOn() {
    Topology t = new TopologyRules(16 << 20).build(1, 0, List.of(httpPrimary(PG1), httpReplica(PG2)));
    assertEquals(List.of(), t.readable());
    assertEquals("pg2 replay lag unknown exceeds read.max_lag 16777216 bytes", t.target("pg2").orElseThrow().readReason());
  }

  @Test
  void anUnreportedReceiverCountsAsStreaming() {
    assertTrue(Observation.replica("pg2", 0, 1, 1, 10, 10, Observation.UNREPORTED).streaming());
    assertTrue(Observation.replica("pg2", 0, 1, 1, 10, 10, "streaming").streaming());
    assertFalse(Observation.replica("pg2", 0, 1, 1, 10, 10, "in archive recovery").streaming());
    assertFalse(Observation.replica("pg2", 0, 1, 1, 10, 10, null).streaming());
    // a replica in archive recovery, with a routed primary, does not follow it
    Observation o = Observation.replica("pg2", 0, 1, 1, 10, 10, "in archive recovery");
    Topology t = new TopologyRules(-1).build(1, 0, List.of(TopologyRulesTest.primary(PG1, TargetState.UP, 1, 10),
        new TopologyRules.Input(PG2, TargetState.UP, o, o)));
    assertEquals("pg2 does not follow the primary pg1: not streaming (WAL receiver in archive recovery)",
        t.target("pg2").orElseThrow().readReason());
  }

  @Test
  void patroniFlagsComeFromTheLastObservationEvenAFailedOneAndRoundTripThroughJson() {
    PatroniFlags paused = new PatroniFlags(true, false);
    Observation ok = Observation.primary("pg1", 0, 1, 2, 100).withPatroni(new PatroniFlags(false, false));
    Observation stopped = Observation.failed("pg1", 0, 1, FailureKind.ERROR, "Patroni reports state 'stopped'")
        .withPatroni(paused);
    Observation replica = Observation.replica("pg2", 0, 1, 2, 100, 100, "streaming").withPatroni(paused);
    Topology t = new TopologyRules(-1).build(1, 0, List.of(
        new TopologyRules.Input(PG1, TargetState.UP, ok, stopped), new TopologyRules.Input(PG2, TargetState.UP, replica, replica),
        TopologyRulesTest.primary(PG3, TargetState.DOWN, 1, 1)));
    assertEquals(paused, t.target("pg1").orElseThrow().patroni());
    assertEquals(paused, t.target("pg2").orElseThrow().patroni());
    assertNull(t.target("pg3").orElseThrow().patroni(), "not checked through Patroni");
    io.vertx.core.json.JsonObject json = t.toJson();
    assertEquals(new io.vertx.core.json.JsonObject().put("pause", true).put("cluster_unlocked", false),
        json.getJsonArray("targets").getJsonObject(0).getJsonObject("patroni"));
    assertFalse(json.getJsonArray("targets").getJsonObject(2).containsKey("patroni"));
    assertEquals(t, Topology.fromJson(new io.vertx.core.json.JsonObject(json.encode())));
  }

  @Test
  void patroniFlagChangesAreOneLineEachSetWarnsClearedInforms() {
    PatroniFlags none = new PatroniFlags(false, false);
    PatroniFlags both = new PatroniFlags(true, true);
    Action.Alert pause = new Action.Alert("warn", "pg1: Patroni reports pause (maintenance mode: Patroni does not fail over)");
    Action.Alert unlocked = new Action.Alert("warn", "pg1: Patroni reports cluster_unlocked (no member holds the leader lock)");
    assertEquals(List.of(), PatroniFlags.changes("pg1", none, none));
    assertEquals(List.of(), PatroniFlags.changes("pg1", null, none), "first seen, nothing set");
    assertEquals(List.of(), PatroniFlags.changes("pg1", both, null), "Patroni not answering says nothing");
    assertEquals(List.of(pause, unlocked), PatroniFlags.changes("pg1", none, both));
    assertEquals(List.of(pause, unlocked), PatroniFlags.changes("pg1", null, both));
    assertEquals(List.of(new Action.Alert("info", "pg2: Patroni reports pause ended (Patroni fails over again)"),
        new Action.Alert("info", "pg2: Patroni reports the leader lock held again")), PatroniFlags.changes("pg2", both, none));
    assertEquals(List.of(new Action.Alert("info", "pg2: Patroni reports the leader lock held again")),
        PatroniFlags.changes("pg2", both, new PatroniFlags(true, false)));
  }

  @Test
  void patroniFlagChangesBetweenSnapshots() {
    Observation paused = Observation.primary("pg1", 0, 1, 2, 100).withPatroni(new PatroniFlags(true, false));
    Observation running = Observation.primary("pg1", 0, 1, 2, 100).withPatroni(new PatroniFlags(false, false));
    TopologyRules rules = new TopologyRules(-1);
    Topology before = rules.build(1, 0, List.of(new TopologyRules.Input(PG1, TargetState.UP, running, running)));
    Topology after = rules.build(2, 0, List.of(new TopologyRules.Input(PG1, TargetState.UP, paused, paused)));
    assertEquals(List.of(new Action.Alert("warn", "pg1: Patroni reports pause (maintenance mode: Patroni does not fail over)")),
        PatroniFlags.changes(before, after));
    assertEquals(List.of(), PatroniFlags.changes(after, after));
    assertEquals(List.of(new Action.Alert("info", "pg1: Patroni reports pause ended (Patroni fails over again)")),
        PatroniFlags.changes(after, before));
  }
}
