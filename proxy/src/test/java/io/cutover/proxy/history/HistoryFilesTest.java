package io.cutover.proxy.history;

import io.cutover.monitor.MonitorVerticle;
import io.cutover.monitor.Poll;
import io.cutover.proxy.config.CutoverConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The history's files: rotation, reading back (torn lines included), the last version per incident, the lock. */
class HistoryFilesTest {

  private static JsonObject entry(int n) {
    return new JsonObject().put("n", n).put("pad", "x".repeat(50));
  }

  private static List<Integer> readBack(JsonLinesFile f) {
    List<Integer> out = new ArrayList<>();
    f.read(e -> out.add(e.getInteger("n")));
    return out;
  }

  private static List<String> files(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void rotatesBySizeKeepsAtMostMaxFilesAndReadsBackOldestFirst(@TempDir Path dir) throws Exception {
    int line = entry(10).encode().length() + 1; // every entry 10..99 encodes to the same length
    try (JsonLinesFile f = new JsonLinesFile(dir, "audit", 3L * line, 3)) {
      for (int n = 10; n < 28; n++) {
        f.append(entry(n));
        assertTrue(Files.size(f.file(0)) <= 3L * line, "never past max_file_size");
      }
      assertEquals(List.of("audit.1.jsonl", "audit.2.jsonl", "audit.jsonl"), files(dir), "at most 3 files");
      // 18 entries, 3 per file: the current file holds 25..27 (after 19..21 and 22..24); older ones are gone
      assertEquals(List.of(19, 20, 21, 22, 23, 24, 25, 26, 27), readBack(f));
      assertEquals(3, Files.readAllLines(f.file(2)).size());
      int[] skipped = {0};
      assertEquals(List.of(24, 25, 26, 27), History.newest(f, 4, skipped).stream().map(e -> e.getInteger("n")).toList(),
          "the newest 4, across two files, oldest first");
      assertEquals(List.of(26, 27), History.newest(f, 2, skipped).stream().map(e -> e.getInteger("n")).toList());
      assertEquals(List.of(19, 20, 21, 22, 23, 24, 25, 26, 27),
          History.newest(f, 100, skipped).stream().map(e -> e.getInteger("n")).toList(), "all there are");
    }
    try (JsonLinesFile again = new JsonLinesFile(dir, "audit", 3L * line, 3)) {
      assertEquals(List.of(19, 20, 21, 22, 23, 24, 25, 26, 27), readBack(again), "read back by a new instance");
      again.append(entry(28));
      assertEquals(List.of(22, 23, 24, 25, 26, 27, 28), readBack(again), "rotated on the first append after a restart");
    }
  }

  @Test
  void oneFileOnlyStartsAfreshWhenFullAndAnOversizedEntryGetsAFileToItself(@TempDir Path dir) throws Exception {
    try (JsonLinesFile f = new JsonLinesFile(dir, "incidents", 100, 1)) {
      f.append(entry(1));
      f.append(new JsonObject().put("n", 2).put("pad", "y".repeat(300)));
      f.append(entry(3));
      assertEquals(List.of("incidents.jsonl"), files(dir));
      assertEquals(List.of(3), readBack(f));
    }
  }

  @Test
  void aTornLastLineIsSkippedAndTheNextAppendStartsOnANewLine(@TempDir Path dir) throws Exception {
    try (JsonLinesFile f = new JsonLinesFile(dir, "audit", 1 << 20, 2)) {
      f.append(entry(1));
      f.append(entry(2));
    }
    Path file = dir.resolve("audit.jsonl");
    // a crash in the middle of writing entry 3
    String whole = entry(3).encode();
    Files.writeString(file, whole.substring(0, whole.length() / 2), StandardOpenOption.APPEND);
    try (JsonLinesFile f = new JsonLinesFile(dir, "audit", 1 << 20, 2)) {
      assertEquals(List.of(1, 2), readBack(f), "the torn line is skipped, never fatal");
      f.append(entry(4));
      assertEquals(List.of(1, 2, 4), readBack(f), "entry 4 is not glued to the torn line");
    }
    List<String> lines = Files.readAllLines(file);
    assertEquals(4, lines.size(), lines.toString());
    assertFalse(lines.get(2).endsWith("}"), "the torn bytes are left as they were");
  }

  @Test
  void garbageAndOverlongLinesAreSkippedAnywhere(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("audit.jsonl");
    Files.writeString(file, entry(1).encode() + "\nnot json\n[1,2]\n\n" + "z".repeat(JsonLinesFile.MAX_LINE_BYTES + 10)
        + "\n" + entry(2).encode() + "\n", StandardCharsets.UTF_8);
    try (JsonLinesFile f = new JsonLinesFile(dir, "audit", 1 << 20, 2)) {
      List<Integer> seen = new ArrayList<>();
      int skipped = f.read(e -> seen.add(e.getInteger("n")));
      assertEquals(List.of(1, 2), seen);
      assertEquals(3, skipped, "not json, an array and the overlong line; the blank line is not counted");
    }
  }

  @Test
  void incidentsReadBackInTheirLastVersionNewestKeptAndOneLeftOpenIsInterrupted(@TempDir Path dir) throws Exception {
    try (JsonLinesFile f = new JsonLinesFile(dir, "incidents", 1 << 20, 2)) {
      for (long id = 1; id <= 4; id++) {
        f.append(new JsonObject().put("id", id).put("outcome", "open").put("notes", new io.vertx.core.json.JsonArray()));
        if (id < 4) {
          f.append(new JsonObject().put("id", id).put("outcome", "completed").put("notes",
              new io.vertx.core.json.JsonArray().add("closed " + id)));
        }
      }
      f.append(new JsonObject().put("kind", "no id"));
      int[] skipped = {0};
      List<JsonObject> three = History.latestIncidents(f, 3, skipped);
      assertEquals(1, skipped[0], "the entry without an id");
      assertEquals(List.of(2L, 3L, 4L), three.stream().map(i -> i.getLong("id")).toList(), "the newest 3, oldest first");
      assertEquals("completed", three.get(0).getString("outcome"), "the closing version replaced the opening one");
      assertEquals("closed 2", three.get(0).getJsonArray("notes").getString(0));
      assertEquals("interrupted", three.get(2).getString("outcome"), "open when Cutover stopped");
      assertEquals(History.INTERRUPTED_NOTE, three.get(2).getJsonArray("notes").getString(0));
      int[] none = {0};
      List<JsonObject> lastTwo = History.newest(f, 2, none);
      assertEquals(2, lastTwo.size());
      assertEquals(4L, lastTwo.get(0).getLong("id"), "the newest 2 lines, whatever they hold");
    }
  }

  @Test
  void aSecondInstanceCannotOpenTheSameDirectoryUntilTheFirstCloses(@TempDir Path dir) throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      CutoverConfig.History config = new CutoverConfig.History(dir.resolve("h"), 1 << 20, 2);
      History first = History.open(vertx, config, 10, 10).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      first.appendAudit(new JsonObject().put("action", "drain"));
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> History.open(vertx, config, 10, 10).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS));
      assertTrue(e.getCause().getMessage().contains("another Cutover instance uses it"), e.getCause().getMessage());
      first.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      History second = History.open(vertx, config, 10, 10).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertEquals("drain", second.restoredAudit().get(0).getString("action"), "written before close returned");
      second.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aTakeoverReadsBackWithoutTheLockAndWritesOnceThePredecessorReleasesIt(@TempDir Path dir) throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      CutoverConfig.History config = new CutoverConfig.History(dir.resolve("h"), 1 << 20, 2);
      History first = await(History.open(vertx, config, 10, 10));
      first.appendAudit(new JsonObject().put("action", "drain"));
      CompletableFuture<JsonArray> readAgain = new CompletableFuture<>();
      vertx.eventBus().<JsonArray>localConsumer(MonitorVerticle.HISTORY_READ_ADDRESS, m -> readAgain.complete(m.body()));
      History successor = await(History.open(vertx, config, 10, 10, Duration.ofSeconds(30)));
      assertEquals(List.of(), successor.restoredIncidents());
      successor.appendAudit(new JsonObject().put("action", "enable"));
      first.appendAudit(new JsonObject().put("action", "maintenance"));
      first.appendIncident(new JsonObject().put("id", 7).put("outcome", "open")); // the predecessor's, after the read
      Thread.sleep(3 * History.LOCK_POLL_MILLIS); // the successor's write must wait, however long the predecessor runs
      Path audit = dir.resolve("h").resolve("audit.jsonl");
      assertFalse(Files.readString(audit).contains("enable"), "written only once the predecessor released the lock");
      await(first.close());
      Poll.until(Duration.ofSeconds(30), "the successor's entry written", () -> read(audit).contains("enable"));
      JsonObject again = readAgain.get(30, TimeUnit.SECONDS).getJsonObject(0);
      assertEquals(7L, again.getLong("id"), "read again once locked: the monitor numbers above it");
      assertEquals("interrupted", again.getString("outcome"), "its process has exited by then");
      assertEquals(List.of("drain", "maintenance", "enable"), Files.readString(audit).lines()
          .map(l -> new JsonObject(l).getString("action")).toList(), "in order, nothing lost or torn");
      assertTrue(Files.readString(dir.resolve("h").resolve(".lock")).contains("pid " + ProcessHandle.current().pid()));
      await(successor.close());
      History third = await(History.open(vertx, config, 10, 10));
      assertEquals(3, third.restoredAudit().size(), "the successor released the lock at its close");
      await(third.close());
    } finally {
      await(vertx.close());
    }
  }

  @Test
  void aTakeoverWhosePredecessorKeepsTheLockPastTheWaitWritesNothing(@TempDir Path dir) throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      CutoverConfig.History config = new CutoverConfig.History(dir.resolve("h"), 1 << 20, 2);
      History first = await(History.open(vertx, config, 10, 10));
      first.appendAudit(new JsonObject().put("action", "drain"));
      Poll.until(Duration.ofSeconds(30), "the first's entry written",
          () -> read(dir.resolve("h").resolve("audit.jsonl")).contains("drain"));
      History successor = await(History.open(vertx, config, 10, 10, Duration.ofMillis(500)));
      assertEquals("drain", successor.restoredAudit().get(0).getString("action"), "read back without the lock");
      successor.appendAudit(new JsonObject().put("action", "enable"));
      await(successor.close()); // after the wait's deadline: the writer ran it first
      await(first.close());
      assertFalse(Files.readString(dir.resolve("h").resolve("audit.jsonl")).contains("enable"),
          "not written once the wait for the lock ended without it");
    } finally {
      await(vertx.close());
    }
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "";
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static <T> T await(io.vertx.core.Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
