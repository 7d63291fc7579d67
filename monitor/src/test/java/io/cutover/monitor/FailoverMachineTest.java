package io.cutover.monitor;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every transition of the failover state machine, driven through the tracker with a fake clock. */
class FailoverMachineTest {

  static final Target PG1 = TopologyRulesTest.PG1;
  static final Target PG2 = TopologyRulesTest.PG2;
  static final Target PG3 = TopologyRulesTest.PG3;

  /** A cluster simulation: fall 3, rise 2, checks fed by hand. */
  static final class Sim {
    final MutableClock clock = new MutableClock(1_000_000);
    final TopologyTracker tracker;
    final FailoverMachine machine;
    final List<Action> log = new ArrayList<>();

    Sim(FailoverOptions options) {
      machine = new FailoverMachine(options, List.of(PG1, PG2, PG3));
      tracker = new TopologyTracker(List.of(PG1, PG2, PG3), 3, 2, -1, clock, machine);
    }

    Sim step(long millis) {
      clock.advance(Duration.ofMillis(millis));
      tracker.apply(FailoverMachine::onTick);
      log.addAll(tracker.drainActions());
      return this;
    }

    Sim primary(Target t, long tli, long lsn) {
      tracker.record(Observation.primary(t.name(), clock.millis(), 1, tli, lsn));
      log.addAll(tracker.drainActions());
      return this;
    }

    Sim replica(Target t, long lsn) {
      return replica(t, 1, lsn);
    }

    /** A streaming replica on timeline {@code tli}. */
    Sim replica(Target t, long tli, long lsn) {
      return replica(t, tli, lsn, "streaming");
    }

    /** A replica on timeline {@code tli} whose WAL receiver reports {@code receiver} ({@code null}: none runs). */
    Sim replica(Target t, long tli, long lsn, String receiver) {
      tracker.record(Observation.replica(t.name(), clock.millis(), 1, tli, lsn, lsn, receiver));
      log.addAll(tracker.drainActions());
      return this;
    }

    Sim down(Target t) {
      tracker.record(Observation.failed(t.name(), clock.millis(), 1, FailureKind.REFUSED, "connection refused"));
      log.addAll(tracker.drainActions());
      return this;
    }

    Sim apply(java.util.function.BiFunction<FailoverMachine, Long, List<Action>> in) {
      tracker.apply(in);
      log.addAll(tracker.drainActions());
      return this;
    }

    /** A healthy cluster: pg1 primary at {@code lsn}, replicas at the given LSNs, everyone at full health. */
    Sim healthy(long lsn, long pg2, long pg3) {
      for (int i = 0; i < 3; i++) {
        primary(PG1, 1, lsn).replica(PG2, pg2).replica(PG3, pg3);
        step(100);
      }
      return this;
    }

    Topology topo() {
      return tracker.current();
    }

    /** The candidates of every promotion asked for so far, in order. */
    List<String> promoted() {
      return all(Action.Promote.class).stream().map(p -> p.candidate().name()).toList();
    }

    <A extends Action> List<A> all(Class<A> type) {
      return log.stream().filter(type::isInstance).map(type::cast).toList();
    }

    void clear() {
      log.clear();
    }
  }

  private static FailoverOptions opts() {
    return new FailoverOptions().setFailbackDelay(Duration.ofSeconds(60)).setRto(Duration.ofSeconds(10));
  }

  @Test
  void autoFailoverPromotesTheMostAdvancedReplicaFencesTheOldPrimaryAndMeasuresTheCutover() {
    Sim s = new Sim(opts()).healthy(1000, 900, 1000);
    assertEquals("pg1", s.topo().primary());
    long lastHealthy = s.clock.millis() - 100;
    s.clear();

    s.down(PG1).step(200).down(PG1).step(200);
    assertTrue(s.all(Action.Promote.class).isEmpty(), "two failures: no decision yet");
    assertEquals("pg1", s.topo().primary(), "still routed while UP by hysteresis");
    s.down(PG1);
    assertEquals(List.of("pg3"), s.promoted(),
        "pg3 has the highest replayed LSN");
    Topology during = s.topo();
    assertNull(during.primary(), "writes held during the cutover");
    assertEquals("failover in flight: promoting pg3 (was pg1)", during.cutover());
    assertTrue(during.target("pg1").orElseThrow().fenced(), "the old primary is fenced at decision time");
    assertTrue(s.all(Action.Promote.class).get(0).runFenceHook(), "on_fence runs once the decision is recorded");
    assertEquals(PG1, s.all(Action.Promote.class).get(0).oldPrimary());

    s.step(150).apply((m, now) -> m.onPromoted("pg3", true, null, now));
    assertEquals(List.of(new Action.Recheck("pg3")), s.all(Action.Recheck.class));
    assertNull(s.topo().primary(), "not routed before pg3 itself reports primary");

    s.primary(PG3, 2, 1000);
    assertEquals(1, s.all(Action.Hook.class).stream().filter(h -> h.event().equals("on_failover")
        && h.oldPrimary().equals(PG1) && h.newPrimary().equals(PG3)).count(), "on_failover once pg3 reports primary");
    assertEquals("pg3", s.topo().primary());
    assertNull(s.topo().cutover());
    assertEquals(1, s.all(Action.ProbeWrite.class).size());
    assertEquals(List.of(new Action.Repoint(PG2, PG3)), s.all(Action.Repoint.class));

    s.step(30).apply(FailoverMachine::onWriteAccepted);
    List<Action.IncidentClosed> closed = s.all(Action.IncidentClosed.class);
    assertEquals(1, closed.size());
    Incident i = closed.get(0).incident();
    assertEquals("completed", i.outcome());
    assertEquals("pg3", i.candidate());
    assertEquals(s.clock.millis() - lastHealthy, i.durationMillis());
    assertEquals("met", i.verdict());
    assertEquals(0, i.rpoBytes());
    assertNull(s.machine.openIncident());
    assertEquals("pg3", s.machine.knownPrimary());
  }

  @Test
  void rpoBoundIsTheOldPrimarysLastLsnMinusTheNewPrimarysPositionWhenFirstSeenAsPrimary() {
    Sim s = new Sim(opts()).healthy(5000, 4000, 4500);
    s.down(PG1).down(PG1).down(PG1);
    assertEquals(List.of("pg3"), s.promoted());
    s.apply((m, now) -> m.onPromoted("pg3", true, null, now)).primary(PG3, 2, 4500).apply(FailoverMachine::onWriteAccepted);
    assertEquals(500, s.all(Action.IncidentClosed.class).get(0).incident().rpoBytes());
  }

  @Test
  void lagGuardRefusesAStaleCandidateAndReEvaluates() {
    Sim s = new Sim(opts().setMaxLagOnFailoverBytes(100)).healthy(10_000, 5_000, 9_000);
    s.down(PG1).down(PG1).down(PG1);
    assertTrue(s.all(Action.Promote.class).isEmpty(), "never promote a stale replica");
    List<Action.Alert> refusals = s.all(Action.Alert.class).stream()
        .filter(a -> a.message().contains("refused:")).toList();
    assertEquals(1, refusals.size());
    assertTrue(refusals.get(0).message().contains("pg2 replay lag 5000 bytes exceeds max_lag_on_failover 100 bytes"),
        refusals.get(0).message());
    assertTrue(refusals.get(0).message().contains("pg3 replay lag 1000 bytes"), refusals.get(0).message());
    s.replica(PG2, 5_000).replica(PG3, 9_000);
    s.all(Action.Alert.class).forEach(a -> System.err.println("ALERT " + a));
    assertEquals(1, s.all(Action.Alert.class).stream().filter(a -> a.message().contains("refused:")).count(),
        "the same refusal is logged once");
    assertNotNull(s.machine.openIncident());
    assertNull(s.topo().primary());
    // pg3 replays the WAL it had received: now within the limit
    s.replica(PG3, 9_950);
    assertEquals(List.of("pg3"), s.promoted());
  }

  @Test
  void manualModeDetectsRecordsAndWaits() {
    Sim s = new Sim(opts().setMode(FailoverOptions.Mode.MANUAL)).healthy(100, 100, 100);
    s.down(PG1).down(PG1).down(PG1);
    assertTrue(s.all(Action.Promote.class).isEmpty());
    assertTrue(s.all(Action.Alert.class).stream().anyMatch(a -> a.message().contains("mode manual")));
    assertNotNull(s.machine.openIncident());
    assertFalse(s.topo().target("pg1").orElseThrow().fenced(), "manual mode fences nothing by itself");
    assertEquals("mode manual: no automatic failover", s.topo().failoverPaused(), "write sessions are not held");
    assertEquals("pg1 (last seen primary) is down; mode manual: no automatic failover", s.topo().writeReason());
    assertFalse(s.topo().maintenance());
    s.primary(PG1, 1, 100).primary(PG1, 1, 100);
    assertEquals("pg1", s.topo().primary());
    Incident i = s.all(Action.IncidentClosed.class).get(0).incident();
    assertEquals("recovered", i.outcome());
  }

  @Test
  void followModeNeverPromotesButMeasuresAnExternalPromotion() {
    Sim s = new Sim(opts().setMode(FailoverOptions.Mode.FOLLOW)).healthy(100, 100, 100);
    s.down(PG1).down(PG1).down(PG1);
    assertTrue(s.all(Action.Promote.class).isEmpty());
    assertNull(s.topo().failoverPaused(), "follow mode: a promotion may come from outside, sessions are held");
    assertTrue(s.all(Action.Refused.class).isEmpty(), "waiting for the failover authority is no refused failover");
    assertEquals(List.of("mode follow: waiting for the failover authority to promote a replica"),
        s.machine.openIncident().notes().stream().filter(n -> n.startsWith("mode follow")).toList());
    s.primary(PG2, 2, 100);
    assertEquals("pg2", s.topo().primary());
    assertEquals(1, s.all(Action.ProbeWrite.class).size());
    s.apply(FailoverMachine::onWriteAccepted);
    Incident i = s.all(Action.IncidentClosed.class).get(0).incident();
    assertEquals("completed", i.outcome());
    assertEquals(Incident.Kind.FAILOVER, i.kind());
    assertEquals("external", i.toJson().getString("promoted_by"));
  }

  @Test
  void followModeRecordsASwitchoverByTheFailoverAuthority() {
    // Patroni's switchover: the old leader is demoted (restarts as a replica), the candidate promoted; Cutover sees
    // the new primary before its hysteresis ever takes the old one DOWN
    Sim s = new Sim(opts().setMode(FailoverOptions.Mode.FOLLOW)).healthy(100, 100, 100);
    long lastHealthy = s.clock.millis() - 100;
    s.clear();
    s.step(300).down(PG1).step(200).replica(PG1, 1, 100, null);
    assertTrue(s.all(Action.IncidentOpened.class).isEmpty(), "the old primary never went DOWN");
    s.step(200).primary(PG2, 2, 120);
    assertEquals("pg2", s.topo().primary());
    assertEquals(1, s.all(Action.IncidentOpened.class).size(), "the change of primary is an incident");
    Incident i = s.machine.openIncident();
    assertEquals(Incident.Kind.SWITCHOVER, i.kind());
    assertEquals("pg1", i.oldPrimary());
    assertEquals(lastHealthy, i.lastHealthyAt(), "timed from the old primary's last healthy check");
    assertTrue(i.notes().contains("pg2 reports primary while pg1 was still UP here: a switchover by the failover authority"),
        i.notes().toString());
    assertEquals(1, s.all(Action.ProbeWrite.class).size(), "the first write through the new primary closes it");
    s.step(50).apply(FailoverMachine::onWriteAccepted);
    Incident closed = s.all(Action.IncidentClosed.class).get(0).incident();
    assertEquals("completed", closed.outcome());
    assertEquals(lastHealthy, closed.lastHealthyAt());
    assertEquals(s.clock.millis() - lastHealthy, closed.durationMillis(), "last healthy check → first write");
    assertEquals("external", closed.toJson().getString("promoted_by"));
    assertFalse(closed.rpo().exact(), "not Cutover's switchover: the RPO is a bound until measured");
    assertTrue(s.topo().target("pg1").orElseThrow().fenced() || !s.topo().target("pg1").orElseThrow().following(),
        "the demoted leader is not written to");
  }

  @Test
  void aNewPrimaryOnANewerTimelineWhileTheOldStillAnswersFencesTheOld() {
    Sim s = new Sim(opts().setMode(FailoverOptions.Mode.FOLLOW)).healthy(100, 100, 100);
    s.clear();
    s.primary(PG2, 2, 120);
    assertEquals("pg2", s.topo().primary(), "newest timeline wins");
    assertTrue(s.topo().target("pg1").orElseThrow().fenced(), "the replaced leader's sessions are closed at once");
    assertEquals(Incident.Kind.SWITCHOVER, s.machine.openIncident().kind());
  }

  @Test
  void followModeRefusesOperatorPromotions() {
    Sim s = new Sim(opts().setMode(FailoverOptions.Mode.FOLLOW)).healthy(100, 100, 100);
    IllegalStateException so = assertThrows(IllegalStateException.class,
        () -> s.machine.requestSwitchover("pg2", s.clock.millis()));
    assertEquals("mode follow: Cutover never promotes; ask the failover authority for the switchover (with Patroni:"
        + " patronictl switchover), Cutover follows and records it", so.getMessage());
    IllegalStateException fo = assertThrows(IllegalStateException.class,
        () -> s.machine.requestFailover(null, s.clock.millis()));
    assertTrue(fo.getMessage().startsWith("mode follow: Cutover never promotes"), fo.getMessage());
    assertNull(s.machine.openIncident());
    assertTrue(s.all(Action.Promote.class).isEmpty() && s.all(Action.Switchover.class).isEmpty());
  }

  @Test
  void autoModeRecordsAPromotionOutsideCutover() {
    Sim s = new Sim(opts()).healthy(100, 100, 100);
    s.clear();
    s.primary(PG3, 2, 130);
    assertEquals("pg3", s.topo().primary());
    Incident i = s.machine.openIncident();
    assertEquals(Incident.Kind.SWITCHOVER, i.kind());
    assertEquals("external", i.toJson().getString("promoted_by"));
  }

  @Test
  void splitBrainTheOldPrimaryStaysFencedAndTheNewTimelineWins() {
    Sim s = new Sim(opts()).healthy(100, 100, 100);
    s.down(PG1).down(PG1).down(PG1).apply((m, now) -> m.onPromoted("pg2", true, null, now)).primary(PG2, 2, 100)
        .apply(FailoverMachine::onWriteAccepted);
    // pg1 restarts, still claiming to be primary on the old timeline
    s.primary(PG1, 1, 100).primary(PG1, 1, 100);
    Topology t = s.topo();
    assertEquals("pg2", t.primary());
    assertTrue(t.target("pg1").orElseThrow().fenced());
    assertFalse(t.target("pg1").orElseThrow().readable());
    assertEquals(TargetState.UP, t.target("pg1").orElseThrow().state());
  }

  @Test
  void aSecondPrimaryAppearingOutOfTheBlueIsFenced() {
    Sim s = new Sim(opts()).healthy(100, 100, 100);
    s.clear();
    s.primary(PG3, 1, 100).primary(PG3, 1, 100);
    assertEquals("pg1", s.topo().primary(), "same timeline: the primary of record keeps the writes");
    assertTrue(s.topo().target("pg3").orElseThrow().fenced(), "the second primary is fenced");
    assertTrue(s.all(Action.Alert.class).stream().anyMatch(a -> a.message().startsWith("split brain: pg3")));
    s.primary(PG3, 2, 100);
    assertEquals("pg3", s.topo().primary(), "newest timeline wins");
    assertTrue(s.topo().target("pg1").orElseThrow().fenced(), "the older-timeline primary is fenced");
    assertTrue(s.all(Action.Alert.class).stream().anyMatch(a -> a.message().startsWith("split brain: pg1")));
    assertTrue(s.all(Action.Alert.class).stream().anyMatch(a -> a.message().contains("promoted outside Cutover")));
  }

  @Test
  void aRejoinedOldPrimaryIsUnfencedAndWaitsTheFailbackDelay() {
    Sim s = new Sim(opts()).healthy(100, 100, 100);
    s.down(PG1).down(PG1).down(PG1).apply((m, now) -> m.onPromoted("pg2", true, null, now)).primary(PG2, 2, 100)
        .apply(FailoverMachine::onWriteAccepted);
    s.replica(PG1, 2, 100).replica(PG1, 2, 100);
    TargetStatus pg1 = s.topo().target("pg1").orElseThrow();
    assertFalse(pg1.fenced(), "observed as a replica streaming on the primary's timeline: unfenced");
    assertFalse(pg1.readable());
    assertTrue(pg1.hold().contains("failback_delay 60 s"), pg1.hold());
    s.step(59_000);
    assertFalse(s.topo().target("pg1").orElseThrow().readable());
    s.step(1_000);
    assertTrue(s.topo().target("pg1").orElseThrow().readable(), "back after failback_delay");
  }

  @Test
  void aRejoinLeftOnTheOldTimelineOrNotStreamingStaysFencedAndIsNeverRead() {
    Sim s = new Sim(opts().setFailbackDelay(Duration.ofSeconds(1))).healthy(100, 100, 100);
    s.down(PG1).down(PG1).down(PG1).apply((m, now) -> m.onPromoted("pg2", true, null, now)).primary(PG2, 2, 100)
        .apply(FailoverMachine::onWriteAccepted).replica(PG3, 2, 100);
    // a rejoin whose rewind did nothing: in recovery, but its timeline forked off before its recovery point
    for (int i = 0; i < 5; i++) {
      s.step(1_000).primary(PG2, 2, 200).replica(PG3, 2, 200).replica(PG1, 1, 150, "waiting").replica(PG1, 1, 150, "waiting");
      TargetStatus pg1 = s.topo().target("pg1").orElseThrow();
      assertTrue(pg1.fenced(), "a replica that does not follow the primary stays fenced");
      assertFalse(pg1.readable());
      assertFalse(pg1.following());
      assertEquals("pg1 does not follow the primary pg2: on timeline 1, the primary on 2", pg1.readReason());
      assertEquals(List.of("pg3"), s.topo().readable());
    }
    assertTrue(s.all(Action.Alert.class).stream().noneMatch(a -> a.message().startsWith("pg1 unfenced")),
        "never announced as rejoined");
    // on the right timeline but its WAL receiver not streaming (and received WAL not advancing): still not followed
    s.step(1_000).primary(PG2, 2, 300).replica(PG3, 2, 300).replica(PG1, 2, 150, null).replica(PG1, 2, 150, null);
    assertTrue(s.topo().target("pg1").orElseThrow().fenced());
    assertEquals("pg1 does not follow the primary pg2: not streaming (WAL receiver not running)",
        s.topo().target("pg1").orElseThrow().readReason());
    // received WAL advancing counts as following even while the receiver's status is momentarily not streaming
    s.replica(PG1, 2, 200, "starting");
    assertFalse(s.topo().target("pg1").orElseThrow().fenced(), "following: unfenced");
    assertTrue(s.all(Action.Alert.class).stream().anyMatch(a -> a.message().startsWith("pg1 unfenced: rejoined as a replica following")));
    s.step(1_000).primary(PG2, 2, 300).replica(PG3, 2, 300).replica(PG1, 2, 300);
    assertEquals(List.of("pg1", "pg3"), s.topo().readable(), "back in the read pool after failback_delay");
    // its WAL receiver stops for two checks in a row: out of the read pool (one check is no verdict)
    s.replica(PG1, 2, 300, null);
    assertEquals(List.of("pg1", "pg3"), s.topo().readable(), "one check with the receiver stopped is no verdict");
    s.replica(PG1, 2, 300, null);
    assertEquals(List.of("pg3"), s.topo().readable());
  }

  @Test
  void enableEndsTheFailbackHoldOfARejoinedOldPrimaryAndALaterReturnIsHeldAgain() {
    Sim s = new Sim(opts()).healthy(100, 100, 100);
    s.down(PG1).down(PG1).down(PG1).apply((m, now) -> m.onPromoted("pg2", true, null, now)).primary(PG2, 2, 100)
        .apply(FailoverMachine::onWriteAccepted);
    s.replica(PG1, 2, 100).replica(PG1, 2, 100).step(5_000);
    assertNotNull(s.topo().target("pg1").orElseThrow().hold(), "held by failback_delay");
    s.clear();

    s.apply((m, now) -> m.enable("pg3", now));
    assertTrue(s.all(Action.Alert.class).isEmpty(), "pg3 was neither drained nor held: nothing ended");
    assertNotNull(s.topo().target("pg1").orElseThrow().hold(), "enabling another target ends no hold");

    s.apply((m, now) -> m.enable("pg1", now));
    TargetStatus pg1 = s.topo().target("pg1").orElseThrow();
    assertNull(pg1.hold(), "the hold ended at once, 55 s before failback_delay");
    assertTrue(pg1.readable());
    assertTrue(s.topo().readable().contains("pg1"));
    List<Action.Alert> alerts = s.all(Action.Alert.class);
    assertEquals(1, alerts.size(), alerts.toString());
    assertTrue(alerts.get(0).message().startsWith("pg1 enabled: failback hold ended by an operator (it is back since 5 s"),
        alerts.get(0).message());
    s.step(1_000).replica(PG1, 2, 100);
    assertTrue(s.topo().readable().contains("pg1"), "stays readable");

    s.down(PG1).down(PG1).down(PG1).replica(PG1, 2, 100).replica(PG1, 2, 100);
    assertFalse(s.topo().readable().contains("pg1"), "back from DOWN again: held again");
    s.step(60_000);
    assertTrue(s.topo().readable().contains("pg1"));
  }

  @Test
  void aReplicaBackFromDownWaitsTheFailbackDelayButStartUpDoesNot() {
    Sim s = new Sim(opts()).healthy(100, 100, 100);
    assertTrue(s.topo().readable().contains("pg3"), "no delay at start-up");
    s.down(PG3).down(PG3).down(PG3);
    assertFalse(s.topo().readable().contains("pg3"));
    s.replica(PG3, 100).replica(PG3, 100);
    assertEquals(TargetState.UP, s.topo().target("pg3").orElseThrow().state());
    assertFalse(s.topo().readable().contains("pg3"), "UP but held");
    s.step(30_000).down(PG3).down(PG3).down(PG3).replica(PG3, 100).replica(PG3, 100);
    s.step(59_999);
    assertFalse(s.topo().readable().contains("pg3"), "the delay restarts: UP continuously for failback_delay");
    s.step(1);
    assertTrue(s.topo().readable().contains("pg3"));
  }

  @Test
  void aReplicaWhoseFirstChecksFailedIsStartUpNotAReturn() {
    Sim s = new Sim(opts());
    s.primary(PG1, 1, 100).replica(PG2, 100).down(PG3); // pg3's first check timed out (a cold JVM, a restart)
    assertEquals(TargetState.DOWN, s.topo().target("pg3").orElseThrow().state());
    s.step(100).replica(PG3, 100).step(100).replica(PG3, 100).step(100).replica(PG3, 100);
    assertEquals(TargetState.UP, s.topo().target("pg3").orElseThrow().state());
    assertNull(s.topo().target("pg3").orElseThrow().hold(), "never UP before in this run: no failback_delay");
    assertTrue(s.topo().readable().contains("pg3"));
    s.down(PG3).down(PG3).down(PG3).replica(PG3, 100).replica(PG3, 100);
    assertFalse(s.topo().readable().contains("pg3"), "back from DOWN after it was UP: held");
  }

  @Test
  void aReplicaDownSinceTheStartForLongerThanTheFailbackDelayIsHeldWhenItComesUp() {
    Sim s = new Sim(opts());
    s.primary(PG1, 1, 100).replica(PG2, 100).down(PG3);
    s.step(60_000).down(PG3).replica(PG3, 100).step(100).replica(PG3, 100).step(100).replica(PG3, 100);
    assertEquals(TargetState.UP, s.topo().target("pg3").orElseThrow().state());
    assertNotNull(s.topo().target("pg3").orElseThrow().hold(), "down for failback_delay since the start: a return");
    assertFalse(s.topo().readable().contains("pg3"));
  }

  @Test
  void aFlappingPrimaryCausesNoFailover() {
    Sim s = new Sim(opts()).healthy(100, 100, 100);
    for (int i = 0; i < 10; i++) {
      s.down(PG1).down(PG1).primary(PG1, 1, 100).primary(PG1, 1, 100).primary(PG1, 1, 100);
    }
    assertTrue(s.all(Action.Promote.class).isEmpty());
    assertNull(s.machine.openIncident());
    assertEquals("pg1", s.topo().primary());
  }

  @Test
  void aFailedPromotionChoosesAnotherCandidateAtOnce() {
    Sim s = new Sim(opts()).healthy(100, 100, 90);
    s.down(PG1).down(PG1).down(PG1);
    s.apply((m, now) -> m.onPromoted("pg2", false, "57P01 terminating connection", now));
    assertEquals(List.of("pg2", "pg3"), s.promoted(), "the next best candidate, without waiting for a check");
    assertTrue(s.topo().target("pg1").orElseThrow().fenced(), "still being replaced");
    assertFalse(s.all(Action.Promote.class).get(1).runFenceHook(), "on_fence ran for the first attempt only");
    Incident i = s.machine.openIncident();
    assertTrue(i.notes().stream().anyMatch(n -> n.contains("promotion of pg2 failed")));
    assertEquals(2, i.toJson().getJsonArray("attempts").size());
    assertEquals("failed: 57P01 terminating connection", i.toJson().getJsonArray("attempts").getJsonObject(0).getString("result"));
    s.apply((m, now) -> m.onPromoted("pg3", true, null, now)).primary(PG3, 2, 90).apply(FailoverMachine::onWriteAccepted);
    assertEquals("completed", s.all(Action.IncidentClosed.class).get(0).incident().outcome());
    assertEquals("promoted", s.all(Action.IncidentClosed.class).get(0).incident().toJson().getJsonArray("attempts")
        .getJsonObject(1).getString("result"));
  }

  @Test
  void rtoWarningsAt75PercentAndAtBreach() {
    Sim s = new Sim(opts().setRto(Duration.ofSeconds(4)).setMode(FailoverOptions.Mode.MANUAL)).healthy(100, 100, 100);
    long lastHealthy = s.clock.millis() - 100;
    s.down(PG1).down(PG1).down(PG1);
    s.clear();
    s.clock.advance(Duration.ofMillis(lastHealthy + 2_999 - s.clock.millis()));
    s.step(0);
    assertTrue(s.all(Action.Alert.class).isEmpty());
    s.step(1);
    assertEquals("warn", s.all(Action.Alert.class).get(0).level());
    assertTrue(s.all(Action.Alert.class).get(0).message().startsWith("RTO at 75%"));
    s.step(999);
    assertEquals(1, s.all(Action.Alert.class).size());
    s.step(1);
    assertEquals("error", s.all(Action.Alert.class).get(1).level());
    assertTrue(s.all(Action.Alert.class).get(1).message().startsWith("RTO breached"));
    s.step(5_000);
    assertEquals(2, s.all(Action.Alert.class).size(), "each is logged once");
  }

  @Test
  void switchoverHoldsWritesFencesTheOldPrimaryAndCompletes() {
    Sim s = new Sim(opts()).healthy(100, 100, 100);
    s.apply((m, now) -> m.requestSwitchover("pg2", now));
    assertEquals(List.of(new Action.Switchover(PG1, PG2)), s.all(Action.Switchover.class));
    assertEquals("switchover in flight: pg1 -> pg2", s.topo().cutover());
    assertNull(s.topo().primary());
    assertThrows(IllegalStateException.class, () -> s.machine.requestSwitchover("pg3", s.clock.millis()));
    s.step(300).apply((m, now) -> m.onSwitchoverResult(true, null, 200, 200, now));
    assertTrue(s.topo().target("pg1").orElseThrow().fenced());
    assertTrue(s.all(Action.Hook.class).stream().anyMatch(h -> h.event().equals("on_switchover")));
    s.primary(PG2, 2, 200).step(20).apply(FailoverMachine::onWriteAccepted);
    Incident i = s.all(Action.IncidentClosed.class).get(0).incident();
    assertEquals(Incident.Kind.SWITCHOVER, i.kind());
    assertEquals("completed", i.outcome());
    assertEquals(0, i.rpoBytes());
    assertEquals("pg2", s.topo().primary());
  }

  @Test
  void theOldPrimaryStaysFencedAndWritesHeldBetweenTheSwitchoversPromotionAndTheCandidateReportingPrimary() {
    Sim s = new Sim(opts()).healthy(100, 100, 100);
    s.apply((m, now) -> m.requestSwitchover("pg2", now));
    s.step(300).apply((m, now) -> m.onSwitchoverResult(true, null, 200, 200, now));
    // pg_promote returned; until pg2's next check the old primary (read-only now) still reports primary
    for (int i = 0; i < 5; i++) {
      s.step(100).primary(PG1, 1, 200).replica(PG3, 200);
      assertNull(s.topo().primary(), "no write routed to the old, read-only primary");
      assertEquals("switchover in flight: pg1 -> pg2", s.topo().cutover());
      assertTrue(s.topo().target("pg1").orElseThrow().fenced());
    }
    assertTrue(s.all(Action.ProbeWrite.class).isEmpty(), "nothing probed before pg2 reports primary");
    s.clear();
    s.primary(PG2, 2, 200);
    assertEquals("pg2", s.topo().primary());
    assertTrue(s.topo().target("pg1").orElseThrow().fenced());
    assertEquals(List.of("pg3"), s.all(Action.Repoint.class).stream().map(r -> r.replica().name()).toList(),
        "the other replica follows the new primary");
    s.step(20).apply(FailoverMachine::onWriteAccepted);
    Incident i = s.all(Action.IncidentClosed.class).get(0).incident();
    assertEquals("completed", i.outcome());
    assertFalse(String.join(" ", i.notes()).contains("promoted outside Cutover"), i.notes().toString());
  }

  @Test
  void anAbortedSwitchoverRestoresRouting() {
    Sim s = new Sim(opts()).healthy(100, 100, 100);
    s.apply((m, now) -> m.requestSwitchover("pg2", now));
    s.apply((m, now) -> m.onSwitchoverResult(false, "pg2 did not replay 0/C8 within switchover_timeout", 200, -1, now));
    assertEquals("pg1", s.topo().primary());
    assertNull(s.topo().cutover());
    assertFalse(s.topo().target("pg1").orElseThrow().fenced());
    assertEquals("aborted", s.all(Action.IncidentClosed.class).get(0).incident().outcome());
  }

  @Test
  void switchoverRequestsAreValidated() {
    Sim s = new Sim(opts());
    assertThrows(IllegalStateException.class, () -> s.machine.requestSwitchover("pg2", 0), "no primary yet");
    s.healthy(100, 100, 100);
    assertThrows(IllegalArgumentException.class, () -> s.machine.requestSwitchover("pg9", 0));
    assertThrows(IllegalStateException.class, () -> s.machine.requestSwitchover("pg1", 0));
    s.down(PG3).down(PG3).down(PG3);
    assertThrows(IllegalStateException.class, () -> s.machine.requestSwitchover("pg3", 0), "pg3 is down");
  }

  @Test
  void autoFailbackSwitchesBackToThePreferredPrimaryAfterTheDelay() {
    Sim s = new Sim(opts().setAutoFailback(true).setPreferred("pg1").setFailbackDelay(Duration.ofSeconds(10)))
        .healthy(100, 100, 100);
    s.down(PG1).down(PG1).down(PG1).apply((m, now) -> m.onPromoted("pg2", true, null, now)).primary(PG2, 2, 100)
        .apply(FailoverMachine::onWriteAccepted);
    s.clear();
    s.replica(PG1, 2, 100).replica(PG1, 2, 100);
    s.step(9_000).primary(PG2, 2, 100).replica(PG1, 2, 100);
    assertTrue(s.all(Action.Switchover.class).isEmpty(), "held by the failback delay");
    s.step(1_000).primary(PG2, 2, 100).replica(PG1, 2, 100).step(10_000).primary(PG2, 2, 100).replica(PG1, 2, 100);
    assertEquals(List.of(new Action.Switchover(PG2, PG1)), s.all(Action.Switchover.class));
  }

  @Test
  void maintenanceModePausesAutomaticFailover() {
    Sim s = new Sim(opts()).healthy(100, 100, 100);
    s.apply((m, now) -> m.setMaintenance(true, "upgrade", now));
    s.down(PG1).down(PG1).down(PG1).replica(PG2, 100);
    assertTrue(s.all(Action.Promote.class).isEmpty());
    assertEquals(1, s.all(Action.Refused.class).size());
    assertTrue(s.all(Action.Refused.class).get(0).reason().contains("maintenance mode"));
    assertTrue(s.topo().maintenance());
    assertEquals("pg1 (last seen primary) is down; maintenance mode: no automatic failover (upgrade)", s.topo().writeReason());
    s.apply((m, now) -> m.setMaintenance(false, null, now)).replica(PG2, 100);
    assertFalse(s.topo().maintenance());
    assertEquals(1, s.all(Action.Promote.class).size(), "resumed: the failover goes ahead");
  }

  @Test
  void operatorFailoverFencesAHealthyPrimaryAndPromotesTheCandidate() {
    Sim s = new Sim(opts().setMaxLagOnFailoverBytes(50)).healthy(1000, 1000, 900);
    assertThrows(IllegalStateException.class, () -> s.machine.requestFailover("pg3", s.clock.millis()),
        "pg3 is 100 bytes behind, beyond max_lag_on_failover");
    assertThrows(IllegalArgumentException.class, () -> s.machine.requestFailover("pg9", s.clock.millis()));
    s.apply((m, now) -> m.requestFailover(null, now));
    assertEquals(List.of("pg2"), s.promoted());
    assertTrue(s.topo().target("pg1").orElseThrow().fenced());
    assertThrows(IllegalStateException.class, () -> s.machine.requestFailover("pg2", s.clock.millis()), "in flight");
    s.apply((m, now) -> m.onPromoted("pg2", true, null, now)).primary(PG2, 2, 1000).apply(FailoverMachine::onWriteAccepted);
    assertEquals("completed", s.all(Action.IncidentClosed.class).get(0).incident().outcome());
  }

  @Test
  void drainedTargetsGetNoNewSessionsUntilEnabled() {
    Sim s = new Sim(opts()).healthy(100, 100, 100);
    s.apply((m, now) -> m.drain("pg3", 5_000, now));
    TargetStatus pg3 = s.topo().target("pg3").orElseThrow();
    assertTrue(pg3.drained());
    assertFalse(pg3.readable());
    assertEquals(s.clock.millis() + 5_000, pg3.drainCloseAt());
    s.apply((m, now) -> m.drain("pg1", -1, now));
    assertNull(s.topo().primary(), "a drained primary takes no new write sessions");
    assertEquals("pg1 (primary) is drained", s.topo().writeReason());
    s.apply((m, now) -> m.enable("pg1", now)).apply((m, now) -> m.enable("pg3", now));
    assertEquals("pg1", s.topo().primary());
    assertTrue(s.topo().readable().contains("pg3"));
    assertThrows(IllegalArgumentException.class, () -> s.machine.drain("pg9", -1, 0));
  }

  @Test
  void aFollowerHoldsWritesButLeavesThePromotionToTheLeader() {
    Sim s = new Sim(opts()).healthy(100, 100, 90);
    s.machine.setAuthority(Authority.FOLLOW, "follower");
    s.down(PG1).down(PG1).down(PG1);
    assertTrue(s.all(Action.Promote.class).isEmpty(), "followers never promote");
    assertNull(s.topo().primary(), "no writes: the primary is DOWN");
    assertTrue(s.machine.phase() instanceof Phase.WaitingForAuthority, s.machine.phase().toString());
    assertFalse(s.topo().target("pg1").orElseThrow().fenced(), "fencing is the leader's decision");
    // the leader promoted pg3 (not this instance's own favourite)
    s.primary(PG3, 2, 100);
    assertEquals("pg3", s.topo().primary());
    assertEquals(1, s.all(Action.ProbeWrite.class).size());
    assertTrue(s.all(Action.Repoint.class).stream().allMatch(r -> r.primary().equals(PG3)));
    s.apply(FailoverMachine::onWriteAccepted);
    assertEquals("completed", s.all(Action.IncidentClosed.class).get(0).incident().outcome());
    s.primary(PG1, 1, 100).primary(PG1, 1, 100);
    assertTrue(s.topo().target("pg1").orElseThrow().fenced(), "the old primary coming back is fenced");
  }

  @Test
  void aFollowerCutOffFromThePrimaryAloneRecoversWhenItAnswersAgain() {
    Sim s = new Sim(opts()).healthy(100, 100, 100);
    s.machine.setAuthority(Authority.FOLLOW, "follower");
    s.down(PG1).down(PG1).down(PG1);
    assertNull(s.topo().primary());
    s.primary(PG1, 1, 100).primary(PG1, 1, 100);
    assertEquals("pg1", s.topo().primary());
    assertEquals("recovered", s.all(Action.IncidentClosed.class).get(0).incident().outcome());
  }

  @Test
  void aLeaderWithoutQuorumWaitsAndPromotesOnceAQuorumAgrees() {
    Sim s = new Sim(opts()).healthy(100, 100, 100);
    s.machine.setAuthority(Authority.WAIT, "1 of 3 instances see pg1 DOWN, quorum 2");
    s.down(PG1).down(PG1).down(PG1).replica(PG2, 100);
    assertTrue(s.all(Action.Promote.class).isEmpty());
    assertFalse(s.topo().target("pg1").orElseThrow().fenced());
    assertTrue(s.all(Action.Refused.class).get(0).reason().contains("no quorum for a failover: 1 of 3"));
    s.machine.setAuthority(Authority.PROMOTE, "2 of 3 instances see pg1 DOWN");
    s.replica(PG2, 100);
    assertEquals(1, s.all(Action.Promote.class).size());
  }

  @Test
  void aQuorumThatArrivesBetweenChecksPromotesAtTheNextTick() {
    Sim s = new Sim(opts()).healthy(100, 100, 100);
    s.machine.setAuthority(Authority.WAIT, "1 of 3 instances see pg1 DOWN, quorum 2");
    s.down(PG1).down(PG1).down(PG1);
    s.apply(FailoverMachine::onTick);
    assertTrue(s.all(Action.Promote.class).isEmpty(), "still no quorum: a tick decides nothing");
    s.machine.setAuthority(Authority.PROMOTE, "2 of 3 instances see pg1 DOWN");
    s.apply(FailoverMachine::onTick);
    assertEquals(1, s.all(Action.Promote.class).size(), "promoted without waiting for the next check");
    s.apply(FailoverMachine::onTick);
    assertEquals(1, s.all(Action.Promote.class).size(), "once");
  }

  @Test
  void aMinorityInstanceHoldsWritesAndTheAuthoritysFenceIsObeyed() {
    Sim s = new Sim(opts()).healthy(100, 100, 100);
    s.machine.setMinority("this instance sees 1 of cluster.size 3 members, quorum 2");
    s.step(100);
    assertNull(s.topo().primary(), "no writes without a quorum of members");
    assertTrue(s.topo().cutover().startsWith("no quorum: this instance sees 1 of"));
    assertEquals(List.of("pg2", "pg3"), s.topo().readable(), "reads go on");
    s.machine.setMinority(null);
    s.step(100);
    assertEquals("pg1", s.topo().primary());
    s.apply((m, now) -> m.fence("pg1", now));
    assertTrue(s.topo().target("pg1").orElseThrow().fenced());
    assertNull(s.topo().primary());
    s.primary(PG1, 1, 100);
    assertTrue(s.topo().target("pg1").orElseThrow().fenced(), "still reporting primary: the fence holds");
    // an aborted switchover: the authority lifts its fence and pg1 stays the primary
    s.apply((m, now) -> m.unfence("pg1", now));
    assertFalse(s.topo().target("pg1").orElseThrow().fenced());
    assertEquals("pg1", s.topo().primary());
    assertThrows(IllegalArgumentException.class, () -> s.machine.unfence("nope", 0));
  }

  @Test
  void keepsTheLastNIncidents() {
    FailoverOptions o = opts().setMode(FailoverOptions.Mode.MANUAL);
    Sim s = new Sim(o).healthy(100, 100, 100);
    for (int i = 0; i < 3; i++) {
      s.down(PG1).down(PG1).down(PG1).primary(PG1, 1, 100).primary(PG1, 1, 100).primary(PG1, 1, 100);
    }
    assertEquals(3, s.machine.closedIncidents().size());
    assertEquals(List.of(1L, 2L, 3L), s.machine.closedIncidents().stream().map(Incident::id).toList());
  }
}
