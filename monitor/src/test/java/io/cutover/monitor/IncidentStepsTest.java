package io.cutover.monitor;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The open incident's steps reach the event bus as they happen ({@link IncidentSteps}, {@link Action.IncidentStep}):
 * after every input, the version last published of the open incident (opened, step, updated) is the incident as it is
 * now — nothing changes silently —, an input that changes nothing publishes nothing, and every refused failover comes
 * with the error decision that says so (the event stream shows refusals as those decisions).
 */
class IncidentStepsTest {

  static final Target PG1 = FailoverMachineTest.PG1;
  static final Target PG2 = FailoverMachineTest.PG2;
  static final Target PG3 = FailoverMachineTest.PG3;

  private static FailoverOptions opts() {
    return new FailoverOptions().setFailbackDelay(Duration.ofSeconds(60)).setRto(Duration.ofSeconds(10));
  }

  /** One published version: which action published it and the incident's JSON when the input's actions ran. */
  private record Version(String kind, JsonObject json) {
    String step(String name) {
      return json.getJsonObject("timeline").getString(name);
    }
  }

  /**
   * Drives a {@link FailoverMachineTest.Sim} and, after every input, takes what the monitor would publish (the JSON
   * is taken then, as {@code ActionRunner} does) and checks the invariant.
   */
  private static final class Bus {
    final FailoverMachineTest.Sim s;
    final List<Version> versions = new ArrayList<>();
    final Map<Long, JsonObject> lastById = new HashMap<>();
    int inputs;
    private int read;

    Bus(FailoverMachineTest.Sim s) {
      this.s = s;
      read = s.log.size();
    }

    Bus in(java.util.function.Consumer<FailoverMachineTest.Sim> input) {
      input.accept(s);
      inputs++;
      List<Action> produced = s.log.subList(read, s.log.size());
      for (Action a : produced) {
        Incident i = a instanceof Action.IncidentOpened o ? o.incident() : a instanceof Action.IncidentStep st ? st.incident()
            : a instanceof Action.IncidentUpdated u ? u.incident() : a instanceof Action.IncidentClosed c ? c.incident() : null;
        if (i != null) {
          JsonObject json = i.toJson();
          versions.add(new Version(a.getClass().getSimpleName(), json));
          lastById.put(i.id(), json);
        }
        if (a instanceof Action.Refused r) {
          assertTrue(produced.stream().anyMatch(x -> x instanceof Action.Alert al && al.level().equals("error")
              && al.message().contains(r.reason())), "a refusal comes with its error decision: " + produced);
        }
      }
      assertTrue(produced.stream().filter(a -> a instanceof Action.IncidentStep).count() <= 1, "one step per input");
      read = s.log.size();
      Incident open = s.machine.openIncident();
      if (open != null) {
        JsonObject published = lastById.get(open.id());
        assertNotNull(published, "the open incident was published (input " + inputs + ")");
        JsonObject now = open.toJson();
        now.remove("notes_dropped");
        JsonObject last = published.copy();
        last.remove("notes_dropped");
        assertEquals(now, last, "after input " + inputs + " the open incident is as last published");
      }
      return this;
    }

    List<String> kinds() {
      return versions.stream().map(Version::kind).toList();
    }
  }

  @Test
  void aFailoversTimelineIsPublishedStepByStepAndQuietInputsPublishNothing() {
    Bus bus = new Bus(new FailoverMachineTest.Sim(opts()).healthy(1000, 900, 1000));
    bus.in(s -> s.down(PG1)).in(s -> s.step(200)).in(s -> s.down(PG1)).in(s -> s.step(200));
    assertEquals(List.of(), bus.versions, "no incident before DOWN");
    bus.in(s -> s.down(PG1));
    assertEquals(List.of("IncidentOpened"), bus.kinds(), "opened and decided in one input: one version");
    Version opened = bus.versions.get(0);
    assertNotNull(opened.step("down_declared"));
    assertNotNull(opened.step("candidate_chosen"), "the decision is in the opening version");
    assertNull(opened.step("promoted"));
    for (int k = 0; k < 10; k++) {
      bus.in(s -> s.step(100)).in(s -> s.replica(PG2, 900)).in(s -> s.down(PG1));
    }
    assertEquals(1, bus.versions.size(), "ticks and checks that change nothing publish nothing: " + bus.kinds());

    bus.in(s -> s.apply((m, now) -> m.onPromoted("pg3", true, null, now)));
    assertEquals(List.of("IncidentOpened", "IncidentStep"), bus.kinds());
    Version promoted = bus.versions.get(1);
    assertNotNull(promoted.step("promoted"));
    assertNull(promoted.step("first_write_accepted"));

    bus.in(s -> s.primary(PG3, 2, 1000));
    assertEquals(3, bus.versions.size(), "pg3 seen as primary: a step (where it was, the probe): " + bus.kinds());
    assertEquals("IncidentStep", bus.versions.get(2).kind());
    bus.in(s -> s.step(100)).in(s -> s.step(100));
    assertEquals(3, bus.versions.size());

    bus.in(s -> s.apply(FailoverMachine::onWriteAccepted));
    assertEquals("IncidentClosed", bus.versions.get(3).kind(), "the close is its own version, no step besides");
    assertEquals(4, bus.versions.size());
    assertNotNull(bus.versions.get(3).step("first_write_accepted"));
    assertEquals("completed", bus.versions.get(3).json().getString("outcome"));
    bus.in(s -> s.step(100)).in(s -> s.replica(PG2, 1000));
    assertEquals(4, bus.versions.size(), "closed: nothing more from IncidentSteps");
  }

  @Test
  void aFailedPromotionTheRetryAndItsNotesArePublished() {
    Bus bus = new Bus(new FailoverMachineTest.Sim(opts()).healthy(100, 100, 90));
    bus.in(s -> s.down(PG1)).in(s -> s.down(PG1)).in(s -> s.down(PG1));
    bus.in(s -> s.apply((m, now) -> m.onPromoted("pg2", false, "57P01 terminating connection", now)));
    Version retried = bus.versions.get(bus.versions.size() - 1);
    assertEquals("IncidentStep", retried.kind());
    assertEquals(2, retried.json().getJsonArray("attempts").size(), "the failed attempt and the next: " + retried.json());
    assertEquals("failed: 57P01 terminating connection",
        retried.json().getJsonArray("attempts").getJsonObject(0).getString("result"));
    bus.in(s -> s.step(6_000)).in(s -> s.apply((m, now) -> m.onPromoted("pg3", true, null, now)))
        .in(s -> s.primary(PG3, 2, 90)).in(s -> s.apply(FailoverMachine::onWriteAccepted));
    assertEquals("IncidentClosed", bus.versions.get(bus.versions.size() - 1).kind());
  }

  @Test
  void aSwitchoverAndAnAbortedOneArePublishedAsTheyHappen() {
    Bus bus = new Bus(new FailoverMachineTest.Sim(opts()).healthy(100, 100, 100));
    bus.in(s -> s.apply((m, now) -> m.requestSwitchover("pg2", now)));
    assertEquals(List.of("IncidentOpened"), bus.kinds());
    bus.in(s -> s.step(300)).in(s -> s.apply((m, now) -> m.onSwitchoverResult(true, null, 200, 200, now)));
    assertEquals(List.of("IncidentOpened", "IncidentStep"), bus.kinds());
    assertNotNull(bus.versions.get(1).step("promoted"));
    assertTrue(bus.versions.get(1).json().getJsonObject("rpo").getBoolean("exact"), "a switchover's figure is exact at once");
    bus.in(s -> s.primary(PG2, 2, 200)).in(s -> s.step(20)).in(s -> s.apply(FailoverMachine::onWriteAccepted));
    assertEquals("IncidentClosed", bus.versions.get(bus.versions.size() - 1).kind());

    Bus aborted = new Bus(new FailoverMachineTest.Sim(opts()).healthy(100, 100, 100));
    aborted.in(s -> s.apply((m, now) -> m.requestSwitchover("pg2", now)))
        .in(s -> s.apply((m, now) -> m.onSwitchoverResult(false, "pg2 did not replay 0/C8", 200, -1, now)));
    assertEquals(List.of("IncidentOpened", "IncidentClosed"), aborted.kinds());
    assertEquals("aborted", aborted.versions.get(1).json().getString("outcome"));
  }

  /**
   * A refused failover: each new reason is a note (a step) and an error decision; past {@value Incident#NOTES_KEPT}
   * notes the incident only counts them and is not published again for each.
   */
  @Test
  void refusalsAreStepsWithTheirDecisionUntilNotesAreOnlyCounted() {
    Bus bus = new Bus(new FailoverMachineTest.Sim(opts().setMaxLagOnFailoverBytes(100)).healthy(10_000, 5_000, 9_000));
    bus.in(s -> s.down(PG1)).in(s -> s.down(PG1)).in(s -> s.down(PG1));
    assertEquals(List.of("IncidentOpened"), bus.kinds(), "opened with its first refusal");
    int refusals = 150;
    for (int k = 1; k <= refusals; k++) {
      long lsn = 5_000 - k;
      bus.in(s -> s.replica(PG2, lsn)).in(s -> s.step(100));
    }
    Incident open = bus.s.machine.openIncident();
    assertEquals(Incident.NOTES_KEPT, open.notes().size());
    assertTrue(open.toJson().getLong("notes_dropped") > 0, open.toJson().encode());
    long steps = bus.versions.stream().filter(v -> v.kind().equals("IncidentStep")).count();
    assertTrue(steps < Incident.NOTES_KEPT, "a step per kept note at most, none per dropped one: " + steps);
    assertTrue(steps >= Incident.NOTES_KEPT - 10, "a step per new kept note: " + steps);
    assertEquals(bus.s.all(Action.Refused.class).size(), bus.s.all(Action.Alert.class).stream()
        .filter(a -> a.level().equals("error") && a.message().contains(" refused: ")).count(), "one decision per refusal");
    assertTrue(bus.s.all(Action.Refused.class).size() > refusals, "each new reason is refused again");
  }

  @Test
  void maintenanceRefusalsAndARecoveryWithoutFailover() {
    Bus bus = new Bus(new FailoverMachineTest.Sim(opts()).healthy(100, 100, 100));
    bus.in(s -> s.apply((m, now) -> m.setMaintenance(true, "upgrade", now)));
    bus.in(s -> s.down(PG1)).in(s -> s.down(PG1)).in(s -> s.down(PG1)).in(s -> s.replica(PG2, 100));
    assertEquals(1, bus.s.all(Action.Refused.class).size());
    bus.in(s -> s.primary(PG1, 1, 100)).in(s -> s.primary(PG1, 1, 100));
    assertEquals("IncidentClosed", bus.versions.get(bus.versions.size() - 1).kind());
    assertEquals("recovered", bus.versions.get(bus.versions.size() - 1).json().getString("outcome"));
  }
}
