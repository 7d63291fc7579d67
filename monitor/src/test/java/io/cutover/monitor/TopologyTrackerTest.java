package io.cutover.monitor;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TopologyTrackerTest {

  private final MutableClock clock = new MutableClock(1_000_000);
  private final List<Target> targets = List.of(TopologyRulesTest.PG1, TopologyRulesTest.PG2, TopologyRulesTest.PG3);

  private Observation primary(long lsn) {
    return Observation.primary("pg1", clock.millis(), 1, 1, lsn);
  }

  private Observation replica(String name, long lsn) {
    return Observation.replica(name, clock.millis(), 1, 1, lsn, lsn);
  }

  private Observation refused(String name) {
    return Observation.failed(name, clock.millis(), 1, FailureKind.REFUSED, "Connection refused");
  }

  @Test
  void versionsIncreaseOnlyWhenContentChanges() {
    TopologyTracker tr = new TopologyTracker(targets, 3, 2, -1, clock);
    assertEquals(0, tr.current().version());
    assertTrue(tr.record(refused("pg3")).isPresent());
    Topology v = tr.current();
    assertEquals(1, v.version(), "pg3 unknown -> down is a change");
    clock.advance(Duration.ofSeconds(1));
    assertTrue(tr.record(refused("pg3")).isEmpty(), "the same content is not a new version");
    assertEquals(1, tr.current().version());
    assertEquals(1_000_000, tr.current().atMillis(), "timestamp of the snapshot comes from the injected clock");
    Topology v2 = tr.record(primary(100)).orElseThrow();
    assertEquals(2, v2.version());
    assertEquals(1_001_000, v2.atMillis());
    assertEquals("pg1", v2.primary());
  }

  @Test
  void aWitnessedVersionRenumbersTheSnapshotAndEveryLaterOneIsAboveIt() {
    TopologyTracker tr = new TopologyTracker(targets, 3, 2, -1, clock);
    assertTrue(tr.witness(30).isEmpty(), "no check completed yet: version 0 keeps meaning no topology");
    assertEquals(0, tr.current().version());
    Topology first = tr.record(primary(100)).orElseThrow();
    assertEquals(31, first.version(), "numbered above the version witnessed before");
    Topology renumbered = tr.witness(41).orElseThrow();
    assertEquals(41, renumbered.version(), "re-numbered to exactly the witnessed version");
    assertTrue(renumbered.sameContent(first), "same content");
    assertTrue(tr.witness(41).isEmpty(), "the same version again: nothing");
    assertTrue(tr.witness(7).isEmpty(), "a lower version: nothing");
    assertEquals(42, tr.record(replica("pg2", 100)).orElseThrow().version(), "the next change is above it");
  }

  @Test
  void aStoppedReplicaLeavesAfterFallFailuresAndReturnsAfterRiseSuccesses() {
    TopologyTracker tr = new TopologyTracker(targets, 3, 2, -1, clock);
    tr.record(primary(100));
    tr.record(replica("pg2", 100));
    tr.record(replica("pg3", 100));
    tr.record(replica("pg3", 100));
    tr.record(replica("pg3", 100)); // pg3 at full health
    assertEquals(List.of("pg2", "pg3"), tr.current().readable());
    assertEquals(Duration.ofSeconds(1), tr.nextDelay("pg3", Duration.ofSeconds(1), Duration.ofMillis(200)));

    tr.record(refused("pg3"));
    assertEquals(Duration.ofMillis(200), tr.nextDelay("pg3", Duration.ofSeconds(1), Duration.ofMillis(200)));
    tr.record(refused("pg3"));
    assertEquals(List.of("pg2", "pg3"), tr.current().readable(), "two failures: still UP");
    tr.record(refused("pg3"));
    assertEquals(List.of("pg2"), tr.current().readable(), "third failure: DOWN, out of the pool");

    tr.record(replica("pg3", 100));
    assertEquals(List.of("pg2"), tr.current().readable(), "one success: still DOWN");
    tr.record(replica("pg3", 100));
    assertEquals(List.of("pg2", "pg3"), tr.current().readable(), "rise successes: back");
  }

  @Test
  void rejectsBadInput() {
    assertThrows(IllegalArgumentException.class, () -> new TopologyTracker(List.of(), 3, 2, -1, clock));
    assertThrows(IllegalArgumentException.class,
        () -> new TopologyTracker(List.of(TopologyRulesTest.PG1, TopologyRulesTest.PG1), 3, 2, -1, clock));
    TopologyTracker tr = new TopologyTracker(targets, 3, 2, -1, clock);
    assertThrows(IllegalArgumentException.class, () -> tr.record(refused("nope")));
  }
}
