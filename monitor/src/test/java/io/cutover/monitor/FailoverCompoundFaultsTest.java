package io.cutover.monitor;

import io.cutover.monitor.FailoverMachineTest.Sim;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static io.cutover.monitor.FailoverMachineTest.PG1;
import static io.cutover.monitor.FailoverMachineTest.PG2;
import static io.cutover.monitor.FailoverMachineTest.PG3;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Faults together and faults during the recovery from another, with the fake clock: every phase's deadline,
 * re-derivation after leadership changes, and the "recovered without failover" rule.
 */
class FailoverCompoundFaultsTest {

  private static FailoverOptions opts() {
    return new FailoverOptions().setFailbackDelay(Duration.ofSeconds(60)).setRto(Duration.ofSeconds(10))
        .setPromoteTimeout(Duration.ofSeconds(2));
  }

  /** The promotion phase's deadline with {@link #opts()}: decision allowance + promote_timeout. */
  private static final long PROMOTION_MILLIS = Phase.DECISION_ALLOWANCE_MILLIS + 2_000;

  private static Sim replica(Sim s, Target t, long received, long replayed) {
    s.tracker.record(Observation.replica(t.name(), s.clock.millis(), 1, 1, received, replayed));
    s.log.addAll(s.tracker.drainActions());
    return s;
  }

  private static List<String> fenced(Sim s) {
    return s.topo().targets().stream().filter(TargetStatus::fenced).map(TargetStatus::name).toList();
  }

  @Test
  void wholeClusterPowerLossEndsWithTheOldPrimaryLeadingAndNothingPromotedOrFenced() {
    Sim s = new Sim(opts()).healthy(1000, 1000, 1000);
    // every node stops at once; pg1's checks reach DOWN first, the replicas are still UP by hysteresis but failing
    s.down(PG1).down(PG2).down(PG3).step(100).down(PG1).down(PG2).step(100).down(PG1);
    assertTrue(s.promoted().isEmpty(), "a replica failing its checks is never chosen");
    assertTrue(s.all(Action.Refused.class).get(0).reason().contains("failed its last check"), s.all(Action.Refused.class).toString());
    for (int i = 0; i < 20; i++) {
      s.down(PG1).down(PG2).down(PG3).step(1000);
    }
    assertTrue(s.promoted().isEmpty());
    assertEquals(List.of(), fenced(s), "nothing is fenced while nothing was promoted");
    // power back: pg1 first, the replicas a second later
    s.primary(PG1, 1, 1000).step(100).primary(PG1, 1, 1000);
    assertEquals("pg1", s.topo().primary(), "the old primary leads again");
    Incident i = s.all(Action.IncidentClosed.class).get(0).incident();
    assertEquals("recovered", i.outcome());
    assertTrue(i.notes().stream().anyMatch(n -> n.startsWith("recovered without failover")), i.notes().toString());
    s.step(1000).replica(PG2, 1000).replica(PG3, 1000).step(100).replica(PG2, 1000).replica(PG3, 1000);
    assertTrue(s.promoted().isEmpty(), "no promotion at all");
    assertEquals(List.of(), fenced(s));
    assertEquals("pg1", s.topo().primary());
  }

  @Test
  void aReplicaThatFailedItsLastCheckIsNeverChosenEvenWithTheMostWal() {
    Sim s = new Sim(opts()).healthy(1000, 1000, 900);
    s.down(PG2);
    assertEquals(TargetState.UP, s.topo().target("pg2").orElseThrow().state());
    s.down(PG1).down(PG1).down(PG1);
    assertEquals(List.of("pg3"), s.promoted());
  }

  @Test
  void candidatesAreRankedByWalReceivedThenReplayed() {
    Sim s = new Sim(opts()).healthy(2000, 1500, 1500);
    replica(s, PG2, 2000, 1000);
    s.down(PG1).down(PG1).down(PG1);
    assertEquals(List.of("pg2"), s.promoted(), "pg2 will have replayed 2000 once promoted");
    assertEquals(0, s.machine.openIncident().toJson().getLong("rpo_bytes") == null ? -1
        : s.machine.openIncident().rpoBytes(), "RPO counts what pg2 received");
  }

  @Test
  void aHungPromotionIsGivenUpAtItsDeadlineAndAnotherCandidateIsPromoted() {
    Sim s = new Sim(opts()).healthy(1000, 990, 1000);
    s.down(PG1).down(PG1).down(PG1);
    assertEquals(List.of("pg3"), s.promoted());
    s.step(PROMOTION_MILLIS - 100);
    assertEquals(List.of("pg3"), s.promoted(), "before the deadline nothing else happens");
    s.step(100);
    assertEquals(List.of("pg3", "pg2"), s.promoted(), "the deadline passed: the next candidate");
    assertTrue(fenced(s).contains("pg1"));
    // pg3 wakes and finishes the promotion it was asked for: it is fenced, pg2 leads
    s.apply((m, now) -> m.onPromoted("pg3", true, null, now));
    s.primary(PG3, 2, 1000);
    assertTrue(s.topo().target("pg3").orElseThrow().fenced(), "a late promotion is a second primary");
    s.apply((m, now) -> m.onPromoted("pg2", true, null, now)).primary(PG2, 2, 990);
    assertEquals("pg2", s.topo().primary());
    assertTrue(s.topo().target("pg3").orElseThrow().fenced());
    s.apply(FailoverMachine::onWriteAccepted);
    Incident i = s.all(Action.IncidentClosed.class).get(0).incident();
    assertEquals("completed", i.outcome());
    var attempts = i.toJson().getJsonArray("attempts");
    assertEquals(2, attempts.size());
    assertTrue(attempts.getJsonObject(0).getString("result").startsWith("timed out"), attempts.encode());
    assertEquals("promoted", attempts.getJsonObject(1).getString("result"));
    assertTrue(i.notes().stream().anyMatch(n -> n.startsWith("late report for pg3")), i.notes().toString());
  }

  @Test
  void theNewPrimaryLostDuringTheWriteProbeIsFailedOverAgain() {
    Sim s = new Sim(opts()).healthy(1000, 1000, 990);
    s.down(PG1).down(PG1).down(PG1).apply((m, now) -> m.onPromoted("pg2", true, null, now)).primary(PG2, 2, 1000);
    assertEquals(1, s.all(Action.ProbeWrite.class).size());
    assertEquals("pg2", s.topo().primary());
    s.down(PG2).down(PG2).down(PG2);
    assertEquals(List.of("pg2", "pg3"), s.promoted(), "pg2 died while its first write was probed");
    assertEquals(List.of("pg1", "pg2"), fenced(s).stream().sorted().toList(), "pg1 superseded, pg2 being replaced");
    s.apply((m, now) -> m.onWriteAccepted(now));
    assertNull(s.all(Action.IncidentClosed.class).stream().findFirst().orElse(null), "a stale probe result closes nothing");
    s.apply((m, now) -> m.onPromoted("pg3", true, null, now)).primary(PG3, 3, 1000).apply(FailoverMachine::onWriteAccepted);
    Incident i = s.all(Action.IncidentClosed.class).get(0).incident();
    assertEquals("completed", i.outcome());
    assertEquals("pg3", i.candidate());
    assertEquals("pg3", s.topo().primary());
    assertTrue(i.notes().stream().anyMatch(n -> n.contains("lost during the write probe")), i.notes().toString());
  }

  @Test
  void aNewPrimaryLostRightAfterItsPromotionIsFailedOverAgain() {
    Sim s = new Sim(opts()).healthy(1000, 1000, 990);
    s.down(PG1).down(PG1).down(PG1).apply((m, now) -> m.onPromoted("pg2", true, null, now));
    s.down(PG2).down(PG2).down(PG2);
    assertEquals(List.of("pg2", "pg3"), s.promoted(), "pg2 died before it reported primary: no wait for the deadline");
    s.apply((m, now) -> m.onPromoted("pg3", true, null, now)).primary(PG3, 2, 990).apply(FailoverMachine::onWriteAccepted);
    assertEquals("completed", s.all(Action.IncidentClosed.class).get(0).incident().outcome());
    // pg2 restarts as the primary it was promoted to (timeline 2, like pg3): fenced, pg3 keeps the writes
    s.primary(PG2, 2, 1000).primary(PG2, 2, 1000);
    assertEquals("pg3", s.topo().primary());
    assertTrue(s.topo().target("pg2").orElseThrow().fenced());
  }

  @Test
  void aFollowerThatBecomesTheLeaderDecidesAtOnceAndAWaitForTheLeaderHasADeadline() {
    Sim s = new Sim(opts()).healthy(1000, 1000, 990);
    s.machine.setAuthority(Authority.FOLLOW, "follower; the leader is 127.0.0.1:5701");
    s.down(PG1).down(PG1).down(PG1);
    assertTrue(s.machine.phase() instanceof Phase.WaitingForAuthority);
    s.step(2_100);
    assertTrue(s.machine.openIncident().notes().stream().anyMatch(n -> n.startsWith("the failover authority has not promoted after")),
        s.machine.openIncident().notes().toString());
    assertTrue(s.promoted().isEmpty());
    // the leader froze together with the primary; Hazelcast makes this instance the leader
    s.machine.setAuthority(Authority.PROMOTE, "2 of 3 instances see pg1 DOWN");
    s.step(100);
    assertEquals(List.of("pg2"), s.promoted(), "decided at the next tick, from what it sees now");
  }

  @Test
  void anOldPrimaryBackAfterAFailedAttemptRecoversWithoutFailover() {
    Sim s = new Sim(opts()).healthy(1000, 1000, 1000);
    s.down(PG3).down(PG3).down(PG3);
    s.down(PG1).down(PG1).down(PG1);
    assertEquals(List.of("pg2"), s.promoted());
    assertTrue(fenced(s).contains("pg1"), "fenced while its replacement is being promoted");
    s.apply((m, now) -> m.onPromoted("pg2", false, "connection refused", now));
    assertEquals(List.of("pg2"), s.promoted(), "pg2 is passed over for a while and pg3 is DOWN");
    assertFalse(fenced(s).contains("pg1"), "no attempt in flight: the fence's reason is gone");
    s.primary(PG1, 1, 1000).primary(PG1, 1, 1000);
    assertEquals("pg1", s.topo().primary());
    assertEquals("recovered", s.all(Action.IncidentClosed.class).get(0).incident().outcome());
    s.step(10_000).replica(PG2, 1000).primary(PG1, 1, 1000);
    assertEquals(List.of("pg2"), s.promoted(), "nothing more");
  }

  @Test
  void anOldPrimaryBackButBehindAReplicaDoesNotLeadAgain() {
    Sim s = new Sim(opts()).healthy(1000, 1000, 1000);
    s.machine.setAuthority(Authority.WAIT, "1 of 3 instances see pg1 DOWN, quorum 2");
    s.down(PG1).down(PG1).down(PG1);
    replica(s, PG2, 1200, 1200);
    s.primary(PG1, 1, 900).primary(PG1, 1, 900);
    assertNull(s.topo().primary(), "pg1 is back but behind pg2: not routed");
    assertTrue(fenced(s).contains("pg1"));
    assertTrue(s.machine.openIncident().notes().stream().anyMatch(n -> n.contains("pg1 is back at")),
        s.machine.openIncident().notes().toString());
    s.machine.setAuthority(Authority.PROMOTE, "2 of 3 instances see pg1 DOWN");
    s.step(100);
    assertEquals(List.of("pg2"), s.promoted(), "the most advanced node leads");
  }

  @Test
  void theAuthoritysFenceExpiresWhenItsDecisionNeverCompletes() {
    Sim s = new Sim(opts()).healthy(1000, 1000, 1000);
    s.machine.setAuthority(Authority.FOLLOW, "follower");
    s.apply((m, now) -> m.fence("pg1", now));
    assertNull(s.topo().primary());
    s.step(PROMOTION_MILLIS - 100).primary(PG1, 1, 1000);
    assertNull(s.topo().primary(), "the fence holds while the decision may still complete");
    s.step(100).primary(PG1, 1, 1000);
    assertEquals("pg1", s.topo().primary(), "no promotion followed: the fence expired");
  }

  @Test
  void aFailedOrTimedOutWriteProbeIsRetried() {
    Sim s = new Sim(opts()).healthy(1000, 1000, 990);
    s.down(PG1).down(PG1).down(PG1).apply((m, now) -> m.onPromoted("pg2", true, null, now)).primary(PG2, 2, 1000);
    assertEquals(1, s.all(Action.ProbeWrite.class).size());
    s.apply((m, now) -> m.onProbeFailed("57P03 cannot connect now", now));
    assertEquals(2, s.all(Action.ProbeWrite.class).size(), "probed again at once");
    s.step(2_000);
    assertEquals(3, s.all(Action.ProbeWrite.class).size(), "the probe's deadline passed: probed again");
    s.apply(FailoverMachine::onWriteAccepted);
    Incident i = s.all(Action.IncidentClosed.class).get(0).incident();
    assertEquals("completed", i.outcome());
    assertTrue(i.notes().stream().anyMatch(n -> n.contains("57P03 cannot connect now")));
  }

  @Test
  void aPrimaryOfRecordLaterSeenAsAReplicaFencesNobody() {
    Sim s = new Sim(opts()).healthy(1000, 1000, 1000);
    s.primary(PG3, 2, 1000).primary(PG3, 2, 1000);
    assertEquals("pg3", s.topo().primary(), "newest timeline wins");
    assertTrue(fenced(s).contains("pg1"));
    // pg3 is rebuilt as a replica of pg1 (outside Cutover): pg1 is the only primary again
    s.replica(PG3, 1000).primary(PG1, 1, 1000);
    assertEquals("pg1", s.topo().primary());
    assertEquals(List.of(), fenced(s));
  }

  @Test
  void onFailoverRunsWhenThePromotedCandidateIsSeenAsPrimaryBeforePgPromoteReturns() {
    Sim s = new Sim(opts()).healthy(1000, 1000, 1000);
    s.down(PG1).down(PG1).down(PG1).primary(PG2, 2, 1000);
    s.apply((m, now) -> m.onPromoted("pg2", true, null, now));
    assertEquals(1, s.all(Action.Hook.class).stream().filter(h -> h.event().equals("on_failover")).count());
    assertTrue(s.machine.openIncident().notes().stream().noneMatch(n -> n.startsWith("late report")));
  }

  @Test
  void aPromotedCandidateThatNeverReportsPrimaryIsDecidedAgainAtTheDeadline() {
    Sim s = new Sim(opts()).healthy(1000, 1000, 990);
    s.down(PG1).down(PG1).down(PG1).apply((m, now) -> m.onPromoted("pg2", true, null, now));
    assertNotNull(s.topo().cutover(), "writes held until pg2 reports primary");
    // pg2's checks go on answering as a replica (say, the promotion never took effect)
    for (int i = 0; i < (int) (PROMOTION_MILLIS / 1000) + 1; i++) {
      s.replica(PG2, 1000).replica(PG3, 990).step(1000);
    }
    assertNull(s.topo().cutover(), "the phase's deadline passed: writes are no longer held for pg2");
    assertTrue(s.machine.phase() instanceof Phase.Idle, s.machine.phase().toString());
    assertTrue(s.machine.openIncident().notes().stream().anyMatch(n -> n.contains("has not reported primary within")),
        s.machine.openIncident().notes().toString());
  }

  @Test
  void anOperatorMayAskForAQualifiedCandidateThatIsNotTheBest() {
    Sim s = new Sim(opts()).healthy(1000, 1000, 1000);
    s.apply((m, now) -> m.requestFailover("pg3", now));
    assertEquals(List.of("pg3"), s.promoted());
  }

  @Test
  void aDeadPhaseNeverBlocksAnOperator() {
    Sim s = new Sim(opts()).healthy(1000, 1000, 1000);
    s.apply((m, now) -> m.requestFailover("pg2", now));
    assertThrows(IllegalStateException.class, () -> s.machine.requestFailover("pg3", s.clock.millis()));
    s.clock.advance(Duration.ofMillis(PROMOTION_MILLIS));
    s.apply((m, now) -> m.requestFailover("pg3", now));
    assertEquals(List.of("pg2", "pg3"), s.promoted());
  }

  @Test
  void aSwitchoverWithoutAResultIsAbortedAtItsDeadline() {
    Sim s = new Sim(opts().setSwitchoverTimeout(Duration.ofSeconds(1))).healthy(1000, 1000, 1000);
    s.apply((m, now) -> m.requestSwitchover("pg2", now));
    assertNull(s.topo().primary());
    s.step(PROMOTION_MILLIS + 1_000);
    assertEquals("aborted", s.all(Action.IncidentClosed.class).get(0).incident().outcome());
    s.primary(PG1, 1, 1000);
    assertEquals("pg1", s.topo().primary());
    s.apply((m, now) -> m.onSwitchoverResult(true, null, 1000, 1000, now));
    assertEquals("pg1", s.topo().primary(), "a result after the deadline changes nothing");
  }
}
