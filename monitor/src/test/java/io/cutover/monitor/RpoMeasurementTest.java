package io.cutover.monitor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the two servers' readings give: the figure, or why there is none and whether to try again. */
class RpoMeasurementTest {

  static final long SEGMENT = 16L << 20;
  static final String HISTORY = "1\t0/4021850\tno recovery target specified\n\n2\t0/5000000\tbefore 2026\n";

  private static Incident incident() {
    Incident i = new Incident(7, Incident.Kind.FAILOVER, "pg1", 10_000);
    i.candidate = "pg2";
    i.oldTimeline = 1;
    i.oldPrimaryLsn = Lsn.parse("0/4021800");
    i.lastHealthyAt = 1_000;
    i.promotedAt = 2_000;
    return i;
  }

  private static RpoMeasurement.OldEnd old(String checkpoint, String redo, boolean restarted) {
    return new RpoMeasurement.OldEnd(false, Lsn.parse(checkpoint), Lsn.parse(redo), 1, restarted, "replica", 8192, SEGMENT);
  }

  private static RpoMeasurement.Result compute(Incident i, RpoMeasurement.OldEnd o, String history) {
    return RpoMeasurement.compute(i, "pg2", new RpoMeasurement.Readings(o, new RpoMeasurement.Fork(3, history)), 5_000);
  }

  @Test
  void theRedoPointOfTheRestartsCheckpointMinusTheForkPointFromTheHistory() {
    // as read on PostgreSQL 15 after two inserts that never reached a replica: redo 0/40219A0, fork 0/4021850
    RpoMeasurement.Result r = compute(incident(), old("0/40219A0", "0/40219A0", true), HISTORY);
    assertNull(r.reason());
    assertTrue(r.rpo().exact());
    assertEquals(0x150, r.rpo().bytes());
    assertEquals(5_000, r.rpo().measuredAt());
    assertEquals("measured after the fact (1970-01-01T00:00:05Z): pg1's WAL ended at 0/40219A0 on timeline 1 (the redo "
        + "point of the checkpoint of its restart); pg2's timeline 3 forked from timeline 1 at 0/4021850 "
        + "(00000003.history); 336 bytes of WAL not carried over", r.rpo().basis());
  }

  @Test
  void nothingLostIsZeroAndARedoPointJustPastAPageHeaderIsThePageBoundary() {
    assertEquals(0, compute(incident(), old("0/4021850", "0/4021850", true), HISTORY).rpo().bytes());
    assertEquals(0, compute(incident(), old("0/4021800", "0/4021800", true), HISTORY).rpo().bytes(),
        "a clean stop's checkpoint may sit before the fork (the replica got the checkpoint record): never negative");
    assertEquals(0, compute(incident(), old("0/4022018", "0/4022018", true), "1\t0/4022000\tx\n").rpo().bytes(),
        "24 bytes past a page boundary: the WAL ended at the boundary");
    assertEquals(0, compute(incident(), old("0/5000028", "0/5000028", true), "1\t0/5000000\tx\n").rpo().bytes(),
        "40 bytes past a segment boundary: the WAL ended at the boundary");
    assertEquals(8192, RpoMeasurement.dataEnd(8192 + 24, 8192, SEGMENT));
    assertEquals(8192 + 32, RpoMeasurement.dataEnd(8192 + 32, 8192, SEGMENT));
    assertEquals(SEGMENT, RpoMeasurement.dataEnd(SEGMENT + 40, 8192, SEGMENT));
  }

  @Test
  void withoutTheHistoryFileTheForkPointReadAtPromotionServesElseItWaits() {
    Incident i = incident();
    RpoMeasurement.Result r = compute(i, old("0/40219A0", "0/40219A0", true), null);
    assertTrue(r.retry());
    assertNull(r.rpo());
    assertEquals("the fork point: pg2 was not promoted by this instance (none read at its promotion), and checks.user "
        + "may not read 00000003.history on pg2 (pg_read_file needs superuser or EXECUTE on pg_read_file(text))", r.reason());
    i.forkLsn = Lsn.parse("0/4021850");
    r = compute(i, old("0/40219A0", "0/40219A0", true), null);
    assertEquals(336, r.rpo().bytes());
    assertTrue(r.rpo().basis().contains("pg2's timeline began at 0/4021850 (read at its promotion)"), r.rpo().basis());
  }

  @Test
  void whatCannotBeMeasuredSaysWhyAndWhetherALaterTryMayGiveIt() {
    Incident i = incident();
    RpoMeasurement.Result notRestarted = compute(i, old("0/40219A0", "0/40219A0", false), HISTORY);
    assertTrue(notRestarted.retry());
    assertTrue(notRestarted.reason().startsWith("pg1 has not restarted since its last healthy check"), notRestarted.reason());

    RpoMeasurement.Result online = compute(i, old("0/4030100", "0/4030000", true), HISTORY);
    assertFalse(online.retry());
    assertTrue(online.reason().contains("is an online one"), online.reason());

    RpoMeasurement.Result replica = RpoMeasurement.compute(i, "pg2", new RpoMeasurement.Readings(
        new RpoMeasurement.OldEnd(true, 1, 1, 1, true, "replica", 8192, SEGMENT), new RpoMeasurement.Fork(3, HISTORY)), 5_000);
    assertFalse(replica.retry());
    assertTrue(replica.reason().contains("came back as a replica"), replica.reason());

    i.oldTimeline = 2;
    RpoMeasurement.Result otherTimeline = compute(i, old("0/40219A0", "0/40219A0", true), HISTORY);
    assertFalse(otherTimeline.retry());
    assertEquals("pg1 is on timeline 1, not 2 where it was primary", otherTimeline.reason());

    i.oldTimeline = 1;
    RpoMeasurement.Result unrelated = compute(i, old("0/40219A0", "0/40219A0", true), "4\t0/1000\tx\n");
    assertFalse(unrelated.retry());
    assertEquals("pg2's timeline 3 does not descend from timeline 1 (00000003.history)", unrelated.reason());
  }

  @Test
  void timelineHistoryLines() {
    assertEquals(Lsn.parse("0/5000000"), RpoMeasurement.switchPoint("# comment\n" + HISTORY, 2));
    assertEquals(-1, RpoMeasurement.switchPoint(HISTORY, 9));
    assertEquals(-1, RpoMeasurement.switchPoint("", 1));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RpoMeasurement.switchPoint("1 zz\n", 1));
    assertEquals("not a timeline history line: '1 zz'", e.getMessage());
  }

  @Test
  void displayAndJson() {
    assertEquals("≥ 0 bytes", new Rpo(0, false, "b", -1).display());
    assertEquals("12 bytes", new Rpo(12, true, "b", 1).display());
    assertEquals("unknown", new Rpo(-1, false, "b", -1).display());
    assertNull(new Rpo(-1, false, "b", -1).toJson().getLong("bytes"));
    assertEquals("1970-01-01T00:00:00.001Z", new Rpo(12, true, "b", 1).toJson().getString("measured"));
  }
}
