package io.cutover.monitor;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OtherCutoversTest {

  static final Instant NOW = Instant.parse("2026-01-01T12:00:00Z");
  static final long BEAT = 10_000;

  static OtherCutovers.Instance row(String id, String cluster, Instant seenAt) {
    return row(id, cluster, seenAt, BEAT);
  }

  static OtherCutovers.Instance row(String id, String cluster, Instant seenAt, long heartbeatMillis) {
    return new OtherCutovers.Instance(id, cluster, "host-" + id, "127.0.0.1:9432", 4242, heartbeatMillis,
        NOW.minusSeconds(3600), seenAt);
  }

  static List<String> ids(List<OtherCutovers.Instance> instances) {
    return instances.stream().map(OtherCutovers.Instance::id).toList();
  }

  static Instant ago(long millis) {
    return NOW.minusMillis(millis);
  }

  // ---- who counts ----

  @Test
  void noRowsNoOthers() {
    assertEquals(List.of(), OtherCutovers.active(List.of(), "me", null, NOW));
  }

  @Test
  void myOwnRowNeverCounts() {
    assertEquals(List.of(), OtherCutovers.active(List.of(row("me", null, NOW)), "me", null, NOW));
    assertEquals(List.of(), OtherCutovers.active(List.of(row("me", "c1", NOW)), "me", "c1", NOW));
    assertEquals(List.of(), OtherCutovers.active(List.of(row("me", "c2", NOW)), "me", "c1", NOW),
        "my own id counts as me whatever cluster the row names");
  }

  @Test
  void unclusteredCountsEveryOtherFreshRow() {
    List<OtherCutovers.Instance> rows = List.of(row("a", null, NOW), row("b", "c1", NOW), row("me", null, NOW));
    assertEquals(List.of("a", "b"), ids(OtherCutovers.active(rows, "me", null, NOW)));
  }

  @Test
  void clusteredIgnoresMembersOfItsOwnClusterOnly() {
    List<OtherCutovers.Instance> rows = List.of(row("peer", "c1", NOW), row("foreign", "c2", NOW),
        row("loner", null, NOW), row("me", "c1", NOW));
    assertEquals(List.of("foreign", "loner"), ids(OtherCutovers.active(rows, "me", "c1", NOW)));
  }

  @Test
  void clusterNamesCompareExactly() {
    List<OtherCutovers.Instance> rows = List.of(row("a", "C1", NOW), row("b", "c1 ", NOW), row("c", "", NOW));
    assertEquals(List.of("a", "b", "c"), ids(OtherCutovers.active(rows, "me", "c1", NOW)));
  }

  @Test
  void aReaderThatIsNoCutoverCountsEveryFreshRow() {
    List<OtherCutovers.Instance> rows = List.of(row("a", null, NOW), row("b", "c1", NOW), row("old", null, ago(BEAT * 3)));
    assertEquals(List.of("a", "b"), ids(OtherCutovers.active(rows, null, null, NOW)));
  }

  @Test
  void aRowIsFreshForLessThanThreeOfItsHeartbeats() {
    long window = OtherCutovers.STALE_HEARTBEATS * BEAT;
    assertEquals(List.of("a"), ids(OtherCutovers.active(List.of(row("a", null, ago(window - 1))), "me", null, NOW)));
    assertEquals(List.of(), OtherCutovers.active(List.of(row("a", null, ago(window))), "me", null, NOW),
        "exactly three heartbeats old is stale");
    assertEquals(List.of(), OtherCutovers.active(List.of(row("a", null, ago(window + 1))), "me", null, NOW));
  }

  @Test
  void stalenessFollowsEachRowsOwnHeartbeat() {
    List<OtherCutovers.Instance> rows = List.of(row("fast", null, ago(4_000), 1_000), row("slow", null, ago(4_000), 10_000));
    assertEquals(List.of("slow"), ids(OtherCutovers.active(rows, "me", null, NOW)),
        "4 s is stale for a 1 s heartbeat, fresh for a 10 s one");
  }

  @Test
  void anUnknownHeartbeatMeansTheDefault() {
    long window = OtherCutovers.STALE_HEARTBEATS * Presence.DEFAULT_HEARTBEAT.toMillis();
    assertEquals(Duration.ofMillis(window), row("a", null, NOW, 0).staleAfter());
    assertEquals(Duration.ofMillis(window), row("a", null, NOW, -1).staleAfter());
    assertEquals(List.of("a"), ids(OtherCutovers.active(List.of(row("a", null, ago(window - 1), 0)), "me", null, NOW)));
    assertEquals(List.of(), OtherCutovers.active(List.of(row("a", null, ago(window), -1)), "me", null, NOW));
  }

  @Test
  void aRowSeenInTheFutureCounts() {
    assertEquals(List.of("a"), ids(OtherCutovers.active(List.of(row("a", null, NOW.plusSeconds(60))), "me", null, NOW)));
  }

  @Test
  void rowsWithoutIdOrSeenAtAreIgnored() {
    List<OtherCutovers.Instance> rows = List.of(row(null, null, NOW), row("", null, NOW), row("  ", null, NOW),
        row("a", null, null));
    assertEquals(List.of(), OtherCutovers.active(rows, "me", null, NOW));
    assertEquals(List.of(), OtherCutovers.active(rows, null, null, NOW));
  }

  @Test
  void theSameIdFromSeveralServersCountsOnceAsSeenLast() {
    List<OtherCutovers.Instance> rows = List.of(row("a", null, ago(2_000)), row("a", null, ago(500)), row("a", null, ago(1_000)));
    List<OtherCutovers.Instance> active = OtherCutovers.active(rows, "me", null, NOW);
    assertEquals(List.of("a"), ids(active));
    assertEquals(ago(500), active.get(0).seenAt());
  }

  @Test
  void aStaleCopyDoesNotHideAFreshOne() {
    List<OtherCutovers.Instance> rows = List.of(row("a", null, ago(BEAT * 10)), row("a", null, ago(100)));
    assertEquals(List.of("a"), ids(OtherCutovers.active(rows, "me", null, NOW)));
  }

  @Test
  void resultIsSortedById() {
    List<OtherCutovers.Instance> rows = List.of(row("c", null, NOW), row("a", null, NOW), row("b", null, NOW));
    assertEquals(List.of("a", "b", "c"), ids(OtherCutovers.active(rows, "me", null, NOW)));
  }

  // ---- warn once ----

  @Test
  void anInstanceAppearsOnceAndGoesOnce() {
    OtherCutovers others = new OtherCutovers();
    OtherCutovers.Changes first = others.update(List.of(row("a", null, ago(100))));
    assertEquals(List.of("a"), ids(first.appeared()));
    assertEquals(List.of(), first.gone());

    OtherCutovers.Changes again = others.update(List.of(row("a", null, NOW)));
    assertTrue(again.isEmpty(), "seen again: nothing new to say");
    assertEquals(NOW, others.current().get(0).seenAt(), "but the row is refreshed");

    OtherCutovers.Changes gone = others.update(List.of());
    assertEquals(List.of(), gone.appeared());
    assertEquals(List.of("a"), ids(gone.gone()));
    assertTrue(others.update(List.of()).isEmpty(), "gone is said once");
    assertEquals(List.of(), others.current());
  }

  @Test
  void anInstanceThatComesBackAppearsAgain() {
    OtherCutovers others = new OtherCutovers();
    others.update(List.of(row("a", null, NOW)));
    others.update(List.of());
    assertEquals(List.of("a"), ids(others.update(List.of(row("a", null, NOW))).appeared()));
  }

  @Test
  void severalInstancesComeAndGoIndependently() {
    OtherCutovers others = new OtherCutovers();
    assertEquals(List.of("a", "b"), ids(others.update(List.of(row("b", null, NOW), row("a", null, NOW))).appeared()));
    OtherCutovers.Changes c = others.update(List.of(row("b", null, NOW), row("c", null, NOW)));
    assertEquals(List.of("c"), ids(c.appeared()));
    assertEquals(List.of("a"), ids(c.gone()));
    assertEquals(List.of("b", "c"), ids(others.current()));
  }

  @Test
  void jsonNamesTheInstanceWithIsoTimes() {
    OtherCutovers others = new OtherCutovers();
    others.update(List.of(row("a", null, NOW)));
    var json = others.toJson().getJsonObject(0);
    assertEquals("a", json.getString("id"));
    assertNull(json.getString("cluster"));
    assertEquals("host-a", json.getString("host"));
    assertEquals("127.0.0.1:9432", json.getString("http"));
    assertEquals(4242L, json.getLong("pid"));
    assertEquals("2026-01-01T12:00:00Z", json.getString("seen_at"));
    assertEquals("2026-01-01T11:00:00Z", json.getString("started_at"));
    assertEquals(BEAT, json.getLong("heartbeat_ms"));
  }

  @Test
  void describeNamesWhatAHumanRecognises() {
    String d = row("a", null, NOW).describe();
    assertTrue(d.contains("cutover a") && d.contains("host host-a") && d.contains("pid 4242")
        && d.contains("HTTP 127.0.0.1:9432") && d.contains("unclustered"), d);
    assertTrue(row("a", "c1", NOW).describe().contains("cluster c1"));
    assertFalse(new OtherCutovers.Instance("a", null, "h", null, -1, BEAT, null, NOW).describe().contains("-1"));
  }
}
