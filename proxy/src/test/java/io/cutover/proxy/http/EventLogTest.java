package io.cutover.proxy.http;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The event stream's ring and its reconnect rules ({@link EventLog}): every resume position against every fill of
 * the ring (wrap-around included), both bounds (count and bytes), other runs, and seeded fuzzing of ids.
 */
class EventLogTest {

  private static final String RUN = "0a1b2c3d4e5f";

  private static JsonObject data(long n) {
    return new JsonObject().put("type", "audit").put("n", n);
  }

  /** What a stream starting at {@code start} is sent from the ring: the seqs, in order, until it is caught up. */
  private static List<Long> replay(EventLog log, long cursor) {
    List<Long> out = new ArrayList<>();
    for (EventLog.Event e; (e = log.next(cursor)) != null; cursor = e.seq()) {
      assertFalse(e == EventLog.GONE, "gone after " + cursor);
      out.add(e.seq());
    }
    return out;
  }

  private static List<Long> range(long fromInclusive, long toInclusive) {
    List<Long> out = new ArrayList<>();
    for (long s = fromInclusive; s <= toInclusive; s++) {
      out.add(s);
    }
    return out;
  }

  @Test
  void idsAndFramesAreNumberedFromOneWithoutGaps() {
    EventLog log = new EventLog(RUN, 4, EventLog.DEFAULT_MAX_BYTES);
    assertEquals(0, log.newest());
    assertEquals(1, log.oldest());
    assertNull(log.next(0), "nothing yet");
    EventLog.Event e = log.append(new JsonObject().put("type", "decision").put("reason", "line one\nline two\r\u2028"));
    assertEquals(1, e.seq());
    assertEquals(RUN + "-1", e.id());
    assertTrue(e.frame().startsWith("id: " + RUN + "-1\ndata: {"), e.frame());
    assertTrue(e.frame().endsWith("}\n\n"), e.frame());
    String[] lines = e.frame().split("\n", -1);
    assertEquals(4, lines.length, "id, data, the empty line: " + e.frame());
    assertFalse(lines[1].contains("\r"), "a line break inside a value is escaped");
    assertEquals("line one\nline two\r\u2028", new JsonObject(lines[1].substring("data: ".length())).getString("reason"));
    assertEquals(e.frame().getBytes(StandardCharsets.UTF_8).length, e.bytes());
    assertEquals(e.bytes(), log.bytes());
    assertEquals(2, log.append(data(2)).seq());
    assertEquals(RUN + "-7", log.id(7));
  }

  @Test
  void aStreamWithoutIdStartsAtTheNewestEvent() {
    EventLog log = new EventLog(RUN, 4, EventLog.DEFAULT_MAX_BYTES);
    assertEquals(new EventLog.Start(0, null, false), log.start(null));
    for (int i = 1; i <= 10; i++) {
      log.append(data(i));
      assertEquals(new EventLog.Start(i, null, false), log.start(null));
      assertEquals(new EventLog.Start(i, null, false), log.start(""));
    }
  }

  /**
   * For every fill of a small ring (empty, partly full, full, wrapped around several times) and every id from before
   * the first event to past the newest: a resume gets exactly the events after the id, or a resync when they are not
   * all kept or the id is unknown.
   */
  @Test
  void everyResumePositionAgainstEveryFillOfTheRing() {
    for (int capacity : new int[] {1, 2, 3, 8}) {
      EventLog log = new EventLog(RUN, capacity, EventLog.DEFAULT_MAX_BYTES);
      for (long n = 0; n <= 5L * capacity + 1; n++) {
        if (n > 0) {
          log.append(data(n));
        }
        long oldest = Math.max(1, n - capacity + 1);
        assertEquals(n, log.newest());
        assertEquals(oldest, log.oldest());
        assertEquals(n - oldest + 1, log.size());
        for (long seq = 0; seq <= n + 3; seq++) {
          String what = "capacity " + capacity + ", " + n + " events, resume after " + seq;
          EventLog.Start s = log.start(RUN + "-" + seq);
          if (seq > n) {
            assertEquals(n, s.cursor(), what);
            assertFalse(s.resumed(), what);
            assertTrue(s.resync().contains("is unknown: the newest event is " + RUN + "-" + n), what + ": " + s.resync());
          } else if (seq + 1 < oldest) {
            assertEquals(n, s.cursor(), what);
            assertFalse(s.resumed(), what);
            assertTrue(s.resync().contains("no longer kept (the oldest kept is " + RUN + "-" + oldest), what + ": " + s.resync());
            assertSame(EventLog.GONE, log.next(seq), what);
          } else {
            assertEquals(new EventLog.Start(seq, null, true), s, what);
            assertEquals(range(seq + 1, n), replay(log, s.cursor()), what);
          }
        }
      }
    }
  }

  /** The default ring (1024 events) after 2,500: every position, the edges of what is kept included. */
  @Test
  void theDefaultRingKeepsTheLast1024Events() {
    EventLog log = new EventLog(RUN, EventLog.DEFAULT_CAPACITY, EventLog.DEFAULT_MAX_BYTES);
    for (long i = 1; i <= 2500; i++) {
      log.append(data(i));
    }
    assertEquals(1024, log.size());
    assertEquals(2500 - 1024 + 1, log.oldest());
    for (long seq = 0; seq <= 2501; seq++) {
      EventLog.Start s = log.start(RUN + "-" + seq);
      boolean kept = seq >= 2500 - 1024 && seq <= 2500;
      assertEquals(kept, s.resumed(), "after " + seq + ": " + s);
      if (kept) {
        List<Long> got = replay(log, s.cursor());
        assertEquals(2500 - seq, got.size());
        if (!got.isEmpty()) {
          assertEquals(seq + 1, got.get(0));
          assertEquals(2500L, got.get(got.size() - 1));
        }
      }
    }
  }

  /** The byte bound drops the oldest events first, never the newest, and a resume behind it resyncs. */
  @Test
  void theByteBoundDropsTheOldestButNeverTheNewest() {
    EventLog log = new EventLog(RUN, 100, 1000);
    Random rnd = new Random(7);
    List<EventLog.Event> all = new ArrayList<>();
    for (int i = 1; i <= 300; i++) {
      all.add(log.append(new JsonObject().put("pad", "x".repeat(rnd.nextInt(i % 50 == 0 ? 3000 : 200)))));
      long expected = 0;
      for (long s = log.oldest(); s <= log.newest(); s++) {
        expected += all.get((int) s - 1).bytes();
      }
      assertEquals(expected, log.bytes(), "bytes counted after " + i);
      assertTrue(log.bytes() <= 1000 || log.size() == 1, "over the bound only with the newest alone: " + log.bytes());
      long kept = 0;
      long s = log.newest();
      for (; s >= 1 && kept + all.get((int) s - 1).bytes() <= 1000; s--) {
        kept += all.get((int) s - 1).bytes();
      }
      assertEquals(Math.min(log.newest(), Math.max(s + 1, log.newest() - 99 < 1 ? 1 : log.newest() - 99)) , log.oldest(),
          "as many of the newest as fit, at least the newest: after " + i);
      assertTrue(log.start(RUN + "-" + (log.oldest() - 1)).resumed());
      if (log.oldest() > 1) {
        assertNotNull(log.start(RUN + "-" + (log.oldest() - 2)).resync());
      }
    }
  }

  @Test
  void anIdOfAnotherRunResyncsSayingCutoverRestarted() {
    EventLog log = new EventLog(RUN, 8, EventLog.DEFAULT_MAX_BYTES);
    log.append(data(1));
    log.append(data(2));
    EventLog.Start s = log.start("ffffffffffff-1");
    assertEquals(new EventLog.Start(2, s.resync(), false), s);
    assertEquals("the last event id is from another run of Cutover (ffffffffffff; this run is " + RUN
        + "): it restarted, and the events before are gone", s.resync());
    assertNotNull(log.start(RUN.toUpperCase() + "-1").resync(), "run ids are compared exactly");
    assertNotNull(log.start(RUN + "x-1").resync());
  }

  @Test
  void garbageIdsResyncWithAShortOneLineReason() {
    EventLog log = new EventLog(RUN, 8, EventLog.DEFAULT_MAX_BYTES);
    for (int i = 1; i <= 5; i++) {
      log.append(data(i));
    }
    List<String> garbage = List.of(" ", "-", "--", "abc", "5", RUN, RUN + "-", "-1", RUN + "--1", RUN + "-+1",
        RUN + "-1.0", RUN + "-01", RUN + "-1 ", " " + RUN + "-1", RUN + "-0x1", RUN + "-1e2", RUN + "-٣",
        RUN + "-99999999999999999999", RUN + "-9223372036854775807", RUN + "-9223372036854775808",
        "a-b-1", "ü-1", "\u0000-1", RUN + "-1\u0000", "x".repeat(100_000), RUN + "-1\n" + RUN + "-2",
        "null", "undefined", RUN.substring(1) + "-3", "id: " + RUN + "-1");
    for (String id : garbage) {
      EventLog.Start s = log.start(id);
      String what = "[" + (id.length() > 40 ? id.substring(0, 40) + "..." : id) + "]";
      assertFalse(s.resumed(), what);
      assertEquals(5, s.cursor(), what);
      assertNotNull(s.resync(), what);
      assertFalse(s.resync().contains("\n") || s.resync().contains("\r") || s.resync().contains("\u0000"), what + " " + s.resync());
      assertTrue(s.resync().length() < 300, what + " " + s.resync().length());
    }
  }

  /**
   * Seeded fuzzing: ids made of the characters that matter (digits, dashes, the run's letters, signs, spaces, others)
   * and mutations of valid ids. A start never throws; it resumes exactly when the id is {@code <run>-<seq>} written
   * canonically for a seq whose following events are all kept, and then replays exactly those.
   */
  @Test
  void seededFuzzOfIds() {
    Random rnd = new Random(20261203L);
    EventLog log = new EventLog(RUN, 16, EventLog.DEFAULT_MAX_BYTES);
    String alphabet = "0123456789-" + RUN + "+ .xyzé\t\u0000";
    int resumed = 0;
    for (int i = 0; i < 50_000; i++) {
      if (rnd.nextInt(10) == 0) {
        log.append(data(i));
      }
      String id;
      switch (rnd.nextInt(4)) {
        case 0 -> {
          StringBuilder b = new StringBuilder();
          for (int k = rnd.nextInt(30); k > 0; k--) {
            b.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
          }
          id = b.toString();
        }
        case 1 -> id = RUN + "-" + (log.newest() - 20 + rnd.nextInt(25));
        case 2 -> {
          StringBuilder b = new StringBuilder(RUN + "-" + Math.max(0, log.newest() - rnd.nextInt(20)));
          b.setCharAt(rnd.nextInt(b.length()), alphabet.charAt(rnd.nextInt(alphabet.length())));
          id = b.toString();
        }
        default -> id = Long.toHexString(rnd.nextLong()) + "-" + rnd.nextInt(100);
      }
      EventLog.Start s = log.start(id);
      long seq = -1;
      if (id.startsWith(RUN + "-") && id.substring(RUN.length() + 1).matches("0|[1-9][0-9]{0,17}")) {
        seq = Long.parseLong(id.substring(RUN.length() + 1));
      }
      boolean resumable = seq >= log.oldest() - 1 && seq <= log.newest();
      if (id.isEmpty()) {
        assertEquals(new EventLog.Start(log.newest(), null, false), s, "no id: a fresh start");
        continue;
      }
      assertEquals(resumable, s.resumed(), "[" + id + "] " + s + " oldest " + log.oldest() + " seq " + seq);
      if (resumable) {
        resumed++;
        assertNull(s.resync());
        assertEquals(range(seq + 1, log.newest()), replay(log, s.cursor()), id);
      } else {
        assertEquals(log.newest(), s.cursor());
        assertTrue(s.resync() != null && !s.resync().contains("\n") && s.resync().length() < 300, "[" + id + "] " + s);
      }
    }
    assertTrue(resumed > 5_000, "the fuzz resumes often enough to mean something: " + resumed);
  }

  @Test
  void aBadRunOrBoundIsRefused() {
    for (String run : new String[] {null, "", "a-b", "a b", "x".repeat(65), "é"}) {
      assertThrows(IllegalArgumentException.class, () -> new EventLog(run, 1, 1), String.valueOf(run));
    }
    assertThrows(IllegalArgumentException.class, () -> new EventLog(RUN, 0, 1));
    assertThrows(IllegalArgumentException.class, () -> new EventLog(RUN, 1, 0));
    EventLog log = new EventLog(RUN, 2, 1);
    log.append(data(1));
    log.append(data(2));
    assertEquals(1, log.size(), "a byte bound below one event keeps the newest alone");
    assertSame(EventLog.GONE, log.next(-1));
  }
}
