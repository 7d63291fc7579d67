package io.cutover.proxy.history;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The operator's standing commands derived from the audit log: the newest accepted entry of each counts. */
class OperatorStateTest {

  private static final Set<String> TARGETS = Set.of("pg1", "pg2", "pg3");

  private static JsonObject entry(String action, int status, JsonObject args) {
    return new JsonObject().put("at", "2026-12-03T10:00:00Z").put("action", action).put("arguments", args)
        .put("status", status).put("outcome", status == 200 ? "accepted" : "refused").put("remote", "127.0.0.1:5000");
  }

  private static JsonObject maintenance(boolean on, int status) {
    return entry("maintenance", status, new JsonObject().put("enabled", on).put("reason", "upgrade"));
  }

  private static JsonObject target(String action, String name, int status) {
    return entry(action, status, new JsonObject().put("target", name));
  }

  @Test
  void theNewestAcceptedEntryOfEachCommandCounts() {
    OperatorState s = OperatorState.from(List.of(maintenance(true, 200), target("drain", "pg3", 200),
        target("drain", "pg2", 200), target("enable", "pg2", 200), maintenance(false, 400), target("enable", "pg3", 409),
        entry("switchover", 200, new JsonObject().put("candidate", "pg2"))), TARGETS);
    assertTrue(s.any());
    assertEquals("upgrade", s.maintenance().getJsonObject("arguments").getString("reason"), "the refused off changes nothing");
    assertEquals(List.of("pg3"), s.drainedTargets(), "pg2 enabled again; pg3's refused enable changes nothing");
  }

  @Test
  void offAndEnabledLeaveNothingAndUnknownTargetsOrShapesAreSkipped() {
    OperatorState s = OperatorState.from(List.of(maintenance(true, 200), maintenance(false, 200), target("drain", "pg9", 200),
        target("drain", "pg1", 200), target("enable", "pg1", 200), new JsonObject().put("action", "drain").put("status", 200),
        entry("drain", 200, new JsonObject().put("target", 7)), new JsonObject()), TARGETS);
    assertNull(s.maintenance());
    assertEquals(List.of(), s.drainedTargets());
    assertFalse(s.any());
  }

  /** Any sequence: the result equals replaying the accepted commands one by one, and nothing throws on bad shapes. */
  @Test
  void seededSequencesAgreeWithAReplay() {
    Random random = new Random(42);
    String[] names = {"pg1", "pg2", "pg3", "pgX"};
    for (int round = 0; round < 500; round++) {
      List<JsonObject> audit = new ArrayList<>();
      boolean maintenance = false;
      java.util.LinkedHashSet<String> drained = new java.util.LinkedHashSet<>();
      for (int i = random.nextInt(30); i > 0; i--) {
        int status = random.nextInt(4) == 0 ? 400 : 200;
        String name = names[random.nextInt(names.length)];
        switch (random.nextInt(5)) {
          case 0 -> {
            boolean on = random.nextBoolean();
            audit.add(maintenance(on, status));
            maintenance = status == 200 ? on : maintenance;
          }
          case 1 -> {
            audit.add(target("drain", name, status));
            if (status == 200 && TARGETS.contains(name)) {
              drained.remove(name);
              drained.add(name);
            }
          }
          case 2 -> {
            audit.add(target("enable", name, status));
            if (status == 200) {
              drained.remove(name);
            }
          }
          case 3 -> audit.add(new JsonObject().put("action", random.nextBoolean() ? "drain" : "maintenance")
              .put("status", 200).put("arguments", random.nextBoolean() ? "x" : null));
          default -> audit.add(entry("reload", status, new JsonObject()));
        }
      }
      OperatorState s = OperatorState.from(audit, TARGETS);
      assertEquals(maintenance, s.maintenance() != null, "round " + round);
      assertEquals(List.copyOf(drained), s.drainedTargets(), "round " + round);
    }
  }
}
