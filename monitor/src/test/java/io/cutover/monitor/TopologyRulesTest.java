package io.cutover.monitor;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TopologyRulesTest {

  static final Target PG1 = new Target("pg1", "127.0.0.1", 15432);
  static final Target PG2 = new Target("pg2", "127.0.0.1", 15433);
  static final Target PG3 = new Target("pg3", "127.0.0.1", 15434);

  static TopologyRules.Input primary(Target t, TargetState s, long tli, long lsn) {
    Observation o = Observation.primary(t.name(), 0, 1, tli, lsn);
    return new TopologyRules.Input(t, s, o, o);
  }

  static TopologyRules.Input replica(Target t, TargetState s, long receive, long replay) {
    Observation o = Observation.replica(t.name(), 0, 1, 1, receive, replay);
    return new TopologyRules.Input(t, s, o, o);
  }

  static TopologyRules.Input replica(Target t, long tli, String receiver, long lsn) {
    Observation o = Observation.replica(t.name(), 0, 1, tli, lsn, lsn, receiver);
    return new TopologyRules.Input(t, TargetState.UP, o, o);
  }

  static TopologyRules.Input failing(TopologyRules.Input before) {
    Observation f = Observation.failed(before.target().name(), 0, 1, FailureKind.REFUSED, "Connection refused");
    return new TopologyRules.Input(before.target(), TargetState.DOWN, before.lastOk(), f);
  }

  @Test
  void healthyClusterRoutesWritesToThePrimaryAndReadsToBothReplicas() {
    Topology t = new TopologyRules(-1).build(5, 1000, List.of(
        primary(PG1, TargetState.UP, 1, 1000), replica(PG2, TargetState.UP, 1000, 900), replica(PG3, TargetState.UP, 1000, 1000)));
    assertEquals(5, t.version());
    assertEquals("pg1", t.primary());
    assertEquals(List.of("pg2", "pg3"), t.readable());
    assertNull(t.writeReason());
    assertNull(t.readReason());
    assertEquals(0, t.target("pg1").orElseThrow().lagBytes());
    assertEquals(100, t.target("pg2").orElseThrow().lagBytes(), "lag = primary current LSN - replica replay LSN");
    assertEquals(0, t.target("pg3").orElseThrow().lagBytes());
    assertFalse(t.target("pg1").orElseThrow().readable(), "the primary is not in the read pool");
  }

  @Test
  void neverRoutesWritesToADownPrimaryOrAReplica() {
    TopologyRules.Input p = primary(PG1, TargetState.UP, 1, 10);
    Topology t = new TopologyRules(-1).build(2, 0, List.of(failing(p), replica(PG2, TargetState.UP, 10, 10)));
    assertNull(t.primary());
    assertEquals("pg1 (last seen primary) is down", t.writeReason());
    assertEquals(List.of("pg2"), t.readable());
    assertEquals("Connection refused", t.target("pg1").orElseThrow().lastError());
  }

  @Test
  void aPromotedReplicaBecomesThePrimaryWhenTheOldOneIsGone() {
    Topology t = new TopologyRules(-1).build(3, 0, List.of(
        failing(primary(PG1, TargetState.UP, 1, 10)), primary(PG2, TargetState.UP, 2, 20), replica(PG3, TargetState.UP, 20, 15)));
    assertEquals("pg2", t.primary());
    assertEquals(5, t.target("pg3").orElseThrow().lagBytes());
  }

  @Test
  void newestTimelineWinsWhenTwoReportPrimary() {
    Topology t = new TopologyRules(-1).build(3, 0, List.of(
        primary(PG1, TargetState.UP, 1, 10), primary(PG2, TargetState.UP, 2, 20)));
    assertEquals("pg2", t.primary());
  }

  @Test
  void twoPrimariesOnTheSameTimelineRefuseWrites() {
    Topology t = new TopologyRules(-1).build(3, 0, List.of(
        primary(PG1, TargetState.UP, 2, 10), primary(PG2, TargetState.UP, 2, 20), replica(PG3, 2, "streaming", 5)));
    assertNull(t.primary());
    assertEquals("several targets report primary on timeline 2: pg1, pg2", t.writeReason());
    assertEquals(List.of("pg3"), t.readable());
  }

  @Test
  void onlyReplicasFollowingThePrimaryAreRead() {
    TopologyRules rules = new TopologyRules(-1);
    Topology t = rules.build(1, 0, List.of(primary(PG1, TargetState.UP, 3, 100),
        replica(PG2, 2, "streaming", 90), replica(PG3, 3, "waiting", 90)));
    assertEquals(List.of(), t.readable());
    assertEquals("pg2 does not follow the primary pg1: on timeline 2, the primary on 3", t.target("pg2").orElseThrow().readReason());
    assertEquals("pg3 does not follow the primary pg1: not streaming (WAL receiver waiting)", t.target("pg3").orElseThrow().readReason());
    assertFalse(t.target("pg2").orElseThrow().following());
    assertTrue(t.readReason().contains("pg2 does not follow the primary pg1"), t.readReason());
    // received WAL that advanced since the previous check counts as following
    Observation before = Observation.replica("pg3", 0, 1, 3, 80, 80, "waiting");
    Observation now = Observation.replica("pg3", 0, 1, 3, 90, 85, "waiting");
    Topology advancing = rules.build(2, 0, List.of(primary(PG1, TargetState.UP, 3, 100),
        new TopologyRules.Input(PG3, TargetState.UP, -1, now, now, before)));
    assertEquals(List.of("pg3"), advancing.readable());
    // without a routed primary nobody streams: the newest timeline any node reported decides
    Topology noPrimary = rules.build(3, 0, List.of(failing(primary(PG1, TargetState.UP, 3, 100)),
        replica(PG2, 2, null, 90), replica(PG3, 3, null, 90)));
    assertEquals(List.of("pg3"), noPrimary.readable());
    assertEquals("pg2 is on timeline 2, behind timeline 3 of another node", noPrimary.target("pg2").orElseThrow().readReason());
  }

  @Test
  void aZeroLagLimitMeansZero() {
    Topology t = new TopologyRules(0).build(1, 0, List.of(primary(PG1, TargetState.UP, 1, 100),
        replica(PG2, TargetState.UP, 100, 100), replica(PG3, TargetState.UP, 100, 99)));
    assertEquals(List.of("pg2"), t.readable(), "read.max_lag 0: one byte behind is too much");
    assertEquals("pg3 replay lag 1 bytes exceeds read.max_lag 0 bytes", t.target("pg3").orElseThrow().readReason());
  }

  @Test
  void lagRuleTakesALaggingReplicaOutAndBackIn() {
    TopologyRules rules = new TopologyRules(1024);
    Topology lagging = rules.build(1, 0, List.of(
        primary(PG1, TargetState.UP, 1, 10_000), replica(PG2, TargetState.UP, 10_000, 10_000), replica(PG3, TargetState.UP, 9_000, 8_000)));
    assertEquals(List.of("pg2"), lagging.readable());
    assertFalse(lagging.target("pg3").orElseThrow().readable());
    assertEquals(2000, lagging.target("pg3").orElseThrow().lagBytes());
    Topology caughtUp = rules.build(2, 0, List.of(
        primary(PG1, TargetState.UP, 1, 10_000), replica(PG2, TargetState.UP, 10_000, 10_000), replica(PG3, TargetState.UP, 10_000, 8_976)));
    assertEquals(List.of("pg2", "pg3"), caughtUp.readable(), "lag exactly at max_lag is allowed");
  }

  @Test
  void lagIsNeverNegativeAndFallsBackToReceiveMinusReplayWithoutPrimary() {
    Topology t = new TopologyRules(-1).build(1, 0, List.of(
        primary(PG1, TargetState.UP, 1, 100), replica(PG2, TargetState.UP, 150, 120)));
    assertEquals(0, t.target("pg2").orElseThrow().lagBytes(), "replica checked after more WAL arrived");
    Topology noPrimary = new TopologyRules(-1).build(1, 0, List.of(
        failing(primary(PG1, TargetState.UP, 1, 100)), replica(PG2, TargetState.UP, 150, 120)));
    assertEquals(30, noPrimary.target("pg2").orElseThrow().lagBytes());
  }

  @Test
  void unknownLagIsNotReadableWhenTheLagRuleIsOn() {
    Topology t = new TopologyRules(100).build(1, 0, List.of(replica(PG2, TargetState.UP, -1, -1)));
    assertTrue(t.readable().isEmpty());
    assertTrue(t.readReason().contains("pg2 replay lag unknown exceeds read.max_lag 100 bytes"), t.readReason());
    Topology off = new TopologyRules(-1).build(1, 0, List.of(replica(PG2, TargetState.UP, -1, -1)));
    assertEquals(List.of("pg2"), off.readable(), "without the lag rule, lag does not matter");
  }

  @Test
  void downAndUnknownTargetsAreExplained() {
    Topology t = new TopologyRules(-1).build(1, 0, List.of(
        new TopologyRules.Input(PG1, TargetState.UNKNOWN, null, null),
        failing(replica(PG2, TargetState.UP, 1, 1))));
    assertNull(t.primary());
    assertEquals("no target reports itself primary", t.writeReason());
    assertEquals("no replica is readable (pg1 is unknown; pg2 is down)", t.readReason());
    Topology none = new TopologyRules(-1).build(1, 0, List.of(new TopologyRules.Input(PG1, TargetState.UNKNOWN, null, null)));
    assertEquals("no check has completed yet", none.writeReason());
  }

  @Test
  void jsonRoundTrip() {
    Topology t = new TopologyRules(-1).build(9, 1234, List.of(
        failing(primary(PG1, TargetState.UP, 1, 0x3000060L)), primary(PG2, TargetState.UP, 2, 20), replica(PG3, TargetState.UP, 20, 15)));
    Topology back = Topology.fromJson(t.toJson());
    assertEquals(t, back);
    assertEquals("0/3000060", t.toJson().getJsonArray("targets").getJsonObject(0).getString("lsn"));
  }

  @Test
  void jsonRoundTripWithEveryOverlayFieldNullsForUnknownNumbersAndIsoTimes() {
    Overlay overlay = new Overlay(java.util.Set.of("pg1"), java.util.Map.of("pg3", "held for failback_delay"), null,
        java.util.Map.of("pg3", 1_700_000_000_123L), "maintenance mode: no automatic failover (upgrade)", true, "pg2");
    Topology t = new TopologyRules(-1).build(9, 1_700_000_000_456L, List.of(
        primary(PG1, TargetState.UP, 1, 100), replica(PG2, 1, null, 90), new TopologyRules.Input(PG3, TargetState.UNKNOWN, null, null)),
        overlay);
    io.vertx.core.json.JsonObject json = t.toJson();
    assertEquals("2023-11-14T22:13:20.456Z", json.getString("at"));
    assertEquals("pg2", json.getString("promoting"));
    assertTrue(json.getBoolean("maintenance"));
    io.vertx.core.json.JsonObject pg3 = json.getJsonArray("targets").getJsonObject(2);
    assertTrue(pg3.containsKey("lag_bytes") && pg3.getValue("lag_bytes") == null, "unknown lag is null, not -1: " + pg3);
    assertNull(pg3.getValue("timeline"));
    assertNull(pg3.getValue("health"));
    assertEquals("2023-11-14T22:13:20.123Z", pg3.getString("drain_close_at"));
    io.vertx.core.json.JsonObject pg2 = json.getJsonArray("targets").getJsonObject(1);
    assertTrue(pg2.containsKey("replication") && pg2.getValue("replication") == null, "no WAL receiver: null");
    assertEquals("pg2 is being promoted", pg2.getString("read_reason"));
    assertEquals(t, Topology.fromJson(json));
    assertEquals(t, Topology.fromJson(new io.vertx.core.json.JsonObject(json.encode())), "through the wire format");
  }
}
