package io.cutover.monitor;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The RPO figure of an incident: a bound at the cutover, measured once the old primary is back, never claimed exact before. */
class RpoFollowUpTest {

  static final Target PG1 = FailoverMachineTest.PG1;
  static final Target PG2 = FailoverMachineTest.PG2;

  private static FailoverOptions opts() {
    return new FailoverOptions().setFailbackDelay(Duration.ofSeconds(60)).setRto(Duration.ofSeconds(10));
  }

  /** pg1 primary at 5000 on timeline 1, fails; pg2 (4800) is promoted at fork 4900, reports primary at 5100 and takes a write. */
  private static FailoverMachineTest.Sim failedOver() {
    FailoverMachineTest.Sim s = new FailoverMachineTest.Sim(opts()).healthy(5000, 4800, 4000);
    s.down(PG1).down(PG1).down(PG1);
    assertEquals(List.of("pg2"), s.promoted());
    s.apply((m, now) -> m.rpo().forked("pg2", 4900, now))
        .apply((m, now) -> m.onPromoted("pg2", true, null, now))
        .primary(PG2, 2, 5100)
        .apply(FailoverMachine::onWriteAccepted);
    return s;
  }

  private static Incident closed(FailoverMachineTest.Sim s) {
    return s.machine.closedIncidents().get(s.machine.closedIncidents().size() - 1);
  }

  private static RpoMeasurement.Readings readings(long redo, boolean restarted, String history) {
    return new RpoMeasurement.Readings(new RpoMeasurement.OldEnd(false, redo, redo, 1, restarted, "replica", 8192,
        16L << 20), new RpoMeasurement.Fork(2, history));
  }

  @Test
  void aFailoverClosesWithALowerBoundFromTheForkPointNeverAnExactFigure() {
    FailoverMachineTest.Sim s = failedOver();
    Incident i = closed(s);
    Rpo rpo = i.rpo();
    assertFalse(rpo.exact());
    assertEquals(100, rpo.bytes(), "old primary's last check 5000 minus the fork point 4900");
    assertEquals("≥ 100 bytes", rpo.display());
    assertTrue(rpo.basis().contains("pg1 was at 0/1388 at its last healthy check"), rpo.basis());
    assertTrue(rpo.basis().contains("WAL it wrote after that is unknown"), rpo.basis());
    assertTrue(rpo.basis().contains("began at 0/1324 (read at its promotion)"), rpo.basis());
    JsonObject json = i.toJson();
    assertEquals(100L, json.getLong("rpo_bytes"), "rpo_bytes is rpo.bytes");
    assertEquals(100L, json.getJsonObject("rpo").getLong("bytes"));
    assertFalse(json.getJsonObject("rpo").getBoolean("exact"));
    assertEquals("≥ 100 bytes", json.getJsonObject("rpo").getString("display"));
    assertNull(json.getJsonObject("rpo").getString("measured"));
    assertEquals("0/1324", json.getString("fork_lsn"));
  }

  @Test
  void withoutAForkPointTheNewPrimarysFirstPositionBoundsIt() {
    FailoverMachineTest.Sim s = new FailoverMachineTest.Sim(opts()).healthy(5000, 4800, 4000);
    s.down(PG1).down(PG1).down(PG1);
    Incident open = s.machine.openIncident();
    assertEquals(0, open.rpo().bytes(), "no promotion yet: nothing more is certain");
    assertTrue(open.rpo().basis().contains("no promotion yet (pg2 had received 0/12C0"), open.rpo().basis());
    s.apply((m, now) -> m.onPromoted("pg2", true, null, now)).primary(PG2, 2, 4950);
    assertEquals(50, s.machine.openIncident().rpo().bytes(), "5000 - 4950, where pg2 was when first seen as primary");
    assertFalse(s.machine.openIncident().rpo().exact());
  }

  @Test
  void theOldPrimaryBackAsAFencedPrimaryIsMeasuredOnceAndTheClosedIncidentUpdated() {
    FailoverMachineTest.Sim s = failedOver();
    long lastHealthy = closed(s).lastHealthyAt();
    s.step(5000).clear();
    s.primary(PG1, 1, 9000).primary(PG1, 1, 9000);
    assertTrue(s.topo().target("pg1").orElseThrow().fenced(), "restarted, still primary on the old timeline: fenced");
    List<Action.MeasureRpo> asked = s.all(Action.MeasureRpo.class);
    assertEquals(1, asked.size(), "one measurement at a time: " + asked);
    Action.MeasureRpo m = asked.get(0);
    assertEquals(closed(s).id(), m.incident());
    assertEquals(PG1, m.oldPrimary());
    assertEquals(PG2, m.newPrimary());
    assertEquals(s.clock.millis() - lastHealthy, m.sinceMillis());
    s.step(100).step(100);
    assertEquals(1, s.all(Action.MeasureRpo.class).size(), "none while one is in flight");

    s.apply((mm, now) -> mm.rpo().onMeasured(m.incident(), "pg2", readings(5236, true, "1\t0/1324\tno recovery target specified\n"), now));
    Incident i = closed(s);
    Rpo rpo = i.rpo();
    assertTrue(rpo.exact());
    assertEquals(5236 - 4900, rpo.bytes());
    assertEquals("336 bytes", rpo.display());
    assertEquals(s.clock.millis(), rpo.measuredAt());
    assertTrue(rpo.basis().startsWith("measured after the fact"), rpo.basis());
    assertTrue(rpo.basis().contains("pg2's timeline 2 forked from timeline 1 at 0/1324 (00000002.history)"), rpo.basis());
    assertEquals(List.of(i), s.all(Action.IncidentUpdated.class).stream().map(Action.IncidentUpdated::incident).toList());
    assertTrue(i.notes().stream().anyMatch(n -> n.contains("RPO measured after the fact: 336 bytes")
        && n.contains("(the figure at the cutover was ≥ 100 bytes)")), i.notes().toString());
    assertEquals(336L, i.toJson().getLong("rpo_bytes"));
    assertNotNull(i.toJson().getJsonObject("rpo").getString("measured"));
    s.step(20_000).primary(PG1, 1, 9000);
    assertEquals(1, s.all(Action.MeasureRpo.class).size(), "measured: never again");
  }

  @Test
  void aMeasurementThatGivesNoFigureIsRecordedAndTriedAgainAfterThePause() {
    FailoverMachineTest.Sim s = failedOver();
    s.step(5000).primary(PG1, 1, 9000).primary(PG1, 1, 9000);
    long id = closed(s).id();
    s.apply((m, now) -> m.rpo().onMeasureFailed(id, "read the end of the WAL of pg1: connection refused", now));
    Incident i = closed(s);
    assertFalse(i.rpo().exact());
    assertEquals(100, i.rpo().bytes(), "the bound stays");
    assertTrue(i.rpo().basis().endsWith("not measured yet: the measurement failed: read the end of the WAL of pg1: "
        + "connection refused"), i.rpo().basis());
    assertEquals(1, s.all(Action.IncidentUpdated.class).size());
    s.step(RpoFollowUp.RETRY_MILLIS - 200).primary(PG1, 1, 9000);
    assertEquals(1, s.all(Action.MeasureRpo.class).size(), "not before the pause");
    s.step(200).primary(PG1, 1, 9000);
    assertEquals(2, s.all(Action.MeasureRpo.class).size(), "again after it");
    // not restarted: a frozen old primary has no final WAL end; the same reason is recorded once
    for (int k = 0; k < 2; k++) {
      s.apply((m, now) -> m.rpo().onMeasured(id, "pg2", readings(5236, false, "1\t0/1324\tx\n"), now))
          .step(RpoFollowUp.RETRY_MILLIS).primary(PG1, 1, 9000);
    }
    assertEquals(4, s.all(Action.MeasureRpo.class).size());
    assertEquals(1, i.notes().stream().filter(n -> n.contains("has not restarted since its last healthy check")).count());
    assertFalse(i.rpo().exact());
  }

  @Test
  void checksUserWithoutTheHistoryFileUsesTheForkPointReadAtPromotion() {
    FailoverMachineTest.Sim s = failedOver();
    s.step(5000).primary(PG1, 1, 9000).primary(PG1, 1, 9000);
    long id = closed(s).id();
    s.apply((m, now) -> m.rpo().onMeasured(id, "pg2", readings(5000, true, null), now));
    Rpo rpo = closed(s).rpo();
    assertTrue(rpo.exact());
    assertEquals(100, rpo.bytes());
    assertTrue(rpo.basis().contains("pg2's timeline began at 0/1324 (read at its promotion)"), rpo.basis());
  }

  @Test
  void anOldPrimaryBackAsAReplicaCanNoLongerBeMeasuredAndTheFigureStaysABound() {
    FailoverMachineTest.Sim s = failedOver();
    s.step(5000).clear();
    s.replica(PG1, 2, 6000).replica(PG1, 2, 6000);
    assertTrue(s.all(Action.MeasureRpo.class).isEmpty());
    Incident i = closed(s);
    assertFalse(i.rpo().exact());
    assertEquals("≥ 100 bytes", i.rpo().display());
    assertTrue(i.rpo().basis().contains("not measurable: pg1 came back as a replica (rewound or rebuilt)"), i.rpo().basis());
    assertEquals(1, s.all(Action.IncidentUpdated.class).size());
    // pg1 promoted again outside Cutover: a new incident of its own, but this one's figure is given up for good
    s.step(20_000).primary(PG1, 3, 9000).primary(PG1, 3, 9000);
    assertTrue(s.all(Action.MeasureRpo.class).stream().noneMatch(m -> m.incident() == i.id()), "given up for good");
  }

  @Test
  void aSwitchoverIsExactAtOnceAndARecoveryWithoutPromotionLosesNothing() {
    FailoverMachineTest.Sim s = new FailoverMachineTest.Sim(opts()).healthy(100, 100, 100);
    s.apply((m, now) -> m.requestSwitchover("pg2", now));
    assertFalse(s.machine.openIncident().rpo().exact(), "not before the switchover's result");
    s.step(300).apply((m, now) -> m.onSwitchoverResult(true, null, 200, 200, now));
    Rpo rpo = s.machine.openIncident().rpo();
    assertTrue(rpo.exact());
    assertEquals(0, rpo.bytes());
    assertTrue(rpo.basis().startsWith("switchover: pg1 was made read-only"), rpo.basis());

    FailoverMachineTest.Sim r = new FailoverMachineTest.Sim(opts().setMaxLagOnFailoverBytes(10)).healthy(1000, 100, 100);
    r.down(PG1).down(PG1).down(PG1).step(1000).primary(PG1, 1, 1000).primary(PG1, 1, 1000);
    Incident recovered = closed(r);
    assertEquals("recovered", recovered.outcome());
    assertTrue(recovered.rpo().exact());
    assertEquals(0, recovered.rpo().bytes());
    assertTrue(r.all(Action.MeasureRpo.class).isEmpty());
  }
}
