package io.cutover.monitor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HealthTest {

  private static final Duration INTER = Duration.ofSeconds(1);
  private static final Duration FAST = Duration.ofMillis(200);

  @Test
  void startsUnknownAndFirstCheckDecides() {
    Health up = new Health(3, 2);
    assertEquals(TargetState.UNKNOWN, up.state());
    assertEquals(FAST, up.nextDelay(INTER, FAST), "unknown targets are re-checked quickly");
    assertTrue(up.record(true));
    assertEquals(TargetState.UP, up.state());
    assertEquals(2, up.health(), "starts at minimum health, like HAProxy");

    Health down = new Health(3, 2);
    assertTrue(down.record(false));
    assertEquals(TargetState.DOWN, down.state());
    assertEquals(0, down.health());
    assertEquals(INTER, down.nextDelay(INTER, FAST));
  }

  @Test
  void defaultsGoDownAfterThreeFailuresAndUpAfterTwoSuccesses() {
    Health h = new Health(3, 2);
    h.record(true);
    h.record(true);
    h.record(true); // full health 4
    assertEquals(4, h.health());
    assertEquals(INTER, h.nextDelay(INTER, FAST));
    assertFalse(h.record(false));
    assertEquals(FAST, h.nextDelay(INTER, FAST), "changing state: fastinter");
    assertFalse(h.record(false));
    assertEquals(TargetState.UP, h.state());
    assertTrue(h.record(false));
    assertEquals(TargetState.DOWN, h.state());
    assertEquals(INTER, h.nextDelay(INTER, FAST));
    assertFalse(h.record(true));
    assertEquals(FAST, h.nextDelay(INTER, FAST));
    assertTrue(h.record(true));
    assertEquals(TargetState.UP, h.state());
    assertEquals(4, h.health(), "going up restores full health");
  }

  @Test
  void aFailureWhileDownRestartsTheRiseCount() {
    Health h = new Health(1, 3);
    h.record(false);
    h.record(true);
    h.record(true);
    h.record(false);
    h.record(true);
    h.record(true);
    assertEquals(TargetState.DOWN, h.state());
    assertTrue(h.record(true));
    assertEquals(TargetState.UP, h.state());
  }

  @Test
  void scatteredFailuresWhileUpDoNotTakeItDown() {
    Health h = new Health(2, 1);
    h.record(true); // up at health 1; full health is 2
    h.record(true);
    for (int i = 0; i < 50; i++) {
      h.record(false);
      h.record(true);
      assertEquals(TargetState.UP, h.state());
    }
  }

  @Test
  void rejectsFallOrRiseBelowOne() {
    assertThrows(IllegalArgumentException.class, () -> new Health(0, 2));
    assertThrows(IllegalArgumentException.class, () -> new Health(3, 0));
  }

  /**
   * Every sequence of up to 12 results for fall, rise in 1..4, checked against the rules stated in
   * {@link Health}'s contract, with an independent count of consecutive results.
   */
  @ParameterizedTest(name = "fall={0} rise={1}")
  @CsvSource({"1,1", "1,2", "1,4", "2,1", "2,2", "2,3", "3,2", "3,3", "4,1", "4,4", "3,4", "4,2"})
  void exhaustiveSequences(int fall, int rise) {
    int len = 12;
    for (int bits = 0; bits < (1 << len); bits++) {
      Health h = new Health(fall, rise);
      int okRun = 0;
      int failRun = 0;
      int upAt = -1; // step of the last DOWN->UP transition while still UP
      for (int i = 0; i < len; i++) {
        boolean ok = (bits & (1 << i)) != 0;
        TargetState before = h.state();
        boolean changed = h.record(ok);
        okRun = ok ? okRun + 1 : 0;
        failRun = ok ? 0 : failRun + 1;
        TargetState after = h.state();
        String where = "fall=" + fall + " rise=" + rise + " seq=" + Integer.toBinaryString(bits) + " step " + i;
        assertEquals(before != after, changed, where);
        assertTrue(h.health() >= 0 && h.health() <= rise + fall - 1, where);
        assertEquals(after == TargetState.UP, h.health() >= rise, where);
        if (ok) {
          assertTrue(after != TargetState.DOWN || before == TargetState.DOWN, "a success never takes a target down: " + where);
        } else {
          assertTrue(after != TargetState.UP || before == TargetState.UP, "a failure never brings a target up: " + where);
        }
        if (failRun >= fall) {
          assertEquals(TargetState.DOWN, after, "fall consecutive failures -> DOWN: " + where);
        }
        if (okRun >= rise) {
          assertEquals(TargetState.UP, after, "rise consecutive successes -> UP: " + where);
        }
        if (before == TargetState.DOWN && ok) {
          assertEquals(okRun >= rise, after == TargetState.UP, "DOWN -> UP exactly at rise successes: " + where);
        }
        if (upAt >= 0 && !ok && failRun == i - upAt && failRun < fall) {
          assertEquals(TargetState.UP, after, "fewer than fall failures right after going UP stay UP: " + where);
        }
        if (before == TargetState.DOWN && after == TargetState.UP) {
          upAt = i;
        } else if (after != TargetState.UP) {
          upAt = -1;
        }
        boolean extreme = h.health() == 0 || h.health() == rise + fall - 1;
        assertEquals(!extreme, h.transitioning(), where);
      }
    }
  }


  @Test
  void reconfiguredKeepsTheStateAndTheProgressTowardsTheNextChange() {
    Health up = new Health(3, 2);
    up.record(true);
    up.record(true);
    up.record(true); // full health 4
    up.record(false); // one failure taken: 3
    Health wider = up.reconfigured(5, 2);
    assertEquals(TargetState.UP, wider.state());
    assertEquals(5, wider.health(), "new full health 6 less the one failure taken");
    assertEquals(3, up.health(), "the original is not changed");
    Health narrower = up.reconfigured(1, 3);
    assertEquals(TargetState.UP, narrower.state());
    assertEquals(3, narrower.health(), "never below rise while UP");
    assertFalse(narrower.record(true), "a success keeps it UP");
    assertTrue(narrower.record(false), "with fall 1 one failure takes it DOWN");

    Health down = new Health(3, 3);
    down.record(false);
    down.record(true); // one success in a row while DOWN
    Health keeps = down.reconfigured(3, 4);
    assertEquals(TargetState.DOWN, keeps.state());
    assertEquals(1, keeps.health(), "its success in a row counts");
    Health lower = down.reconfigured(3, 1);
    assertEquals(0, lower.health(), "at most rise - 1: still DOWN");
    assertEquals(TargetState.DOWN, lower.state());
    assertTrue(lower.record(true), "UP at its next success");

    Health unknown = new Health(3, 2).reconfigured(2, 1);
    assertEquals(TargetState.UNKNOWN, unknown.state());
    assertThrows(IllegalArgumentException.class, () -> unknown.reconfigured(0, 1));
  }
}
