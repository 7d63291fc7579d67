package io.cutover.proxy.history;

import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.function.Consumer;

/**
 * One record kept as JSON lines in a directory, with size-bounded rotation: entries are appended to
 * {@code NAME.jsonl}; before an append would take it past {@code maxFileBytes} it becomes {@code NAME.1.jsonl},
 * the older ones move up ({@code NAME.1.jsonl} → {@code NAME.2.jsonl} …) and the oldest beyond {@code maxFiles}
 * files in all is deleted. An entry larger than {@code maxFileBytes} gets a file to itself.
 *
 * <p>Blocking file I/O: call it from a worker thread, never an event loop. Methods are synchronized. A line torn by
 * a crash in the middle of a write is skipped (with a warning) when read back, and the next append starts on a
 * new line so that it is not torn as well.
 */
public final class JsonLinesFile implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(JsonLinesFile.class);
  /** Longest line read back or written, in bytes (an incident with 100 notes is a few tens of KiB). */
  public static final int MAX_LINE_BYTES = 1 << 20;
  /** Skipped lines warned about one by one per read-back; the rest are counted. */
  private static final int WARNINGS_PER_READ = 10;

  private final Path dir;
  private final String name;
  private final long maxFileBytes;
  private final int maxFiles;
  private FileChannel current;
  private long size;

  /**
   * @param dir          the directory (must exist)
   * @param name         the record's file name without extension, e.g. {@code incidents}
   * @param maxFileBytes rotate before a file would grow past this many bytes ({@code >= 1})
   * @param maxFiles     files kept in all, the current one included ({@code >= 1})
   */
  public JsonLinesFile(Path dir, String name, long maxFileBytes, int maxFiles) {
    if (maxFileBytes < 1 || maxFiles < 1) {
      throw new IllegalArgumentException("maxFileBytes and maxFiles must be at least 1");
    }
    this.dir = dir;
    this.name = name;
    this.maxFileBytes = maxFileBytes;
    this.maxFiles = maxFiles;
  }

  /** The file of index {@code i}: 0 is the current one ({@code NAME.jsonl}), {@code i > 0} {@code NAME.i.jsonl}. */
  public Path file(int i) {
    return dir.resolve(i == 0 ? name + ".jsonl" : name + "." + i + ".jsonl");
  }

  /**
   * Appends {@code entry} as one line, rotating first when needed.
   *
   * @throws IOException when the file cannot be written, or the entry is longer than {@link #MAX_LINE_BYTES}
   */
  public synchronized void append(JsonObject entry) throws IOException {
    byte[] line = (entry.encode() + "\n").getBytes(StandardCharsets.UTF_8);
    if (line.length > MAX_LINE_BYTES) {
      throw new IOException("entry of " + line.length + " bytes is longer than " + MAX_LINE_BYTES + " bytes");
    }
    open();
    if (size > 0 && size + line.length > maxFileBytes) {
      rotate();
      open();
    }
    ByteBuffer buf = ByteBuffer.wrap(line);
    while (buf.hasRemaining()) {
      size += current.write(buf);
    }
  }

  /** Opens the current file for appending; a last line torn by a crash is ended so the next entry starts afresh. */
  private void open() throws IOException {
    if (current != null) {
      return;
    }
    Path file = file(0);
    boolean torn = false;
    if (Files.exists(file) && Files.size(file) > 0) {
      try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
        ByteBuffer last = ByteBuffer.allocate(1);
        in.read(last, in.size() - 1);
        torn = last.get(0) != '\n';
      }
    }
    current = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    size = current.size();
    if (torn) {
      LOG.warn("{}: the last line is incomplete (a write cut short); it stays skipped, new entries start on the next line",
          file);
      size += current.write(ByteBuffer.wrap(new byte[] {'\n'}));
    }
  }

  private void rotate() throws IOException {
    current.close();
    current = null;
    Files.deleteIfExists(file(maxFiles - 1));
    for (int i = maxFiles; Files.exists(file(i)); i++) {
      Files.delete(file(i)); // left from a larger max_files
    }
    for (int i = maxFiles - 2; i >= 0; i--) {
      if (Files.exists(file(i))) {
        Files.move(file(i), file(i + 1), StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  /**
   * Reads every entry back, oldest first (the oldest kept file first, the current one last), handing each to
   * {@code sink}. Lines that are not a JSON object — a line torn by a crash, or longer than
   * {@link #MAX_LINE_BYTES} — are skipped with a warning; blank lines silently.
   *
   * @return the number of lines skipped
   * @throws UncheckedIOException when a file exists but cannot be read
   */
  public synchronized int read(Consumer<JsonObject> sink) {
    int skipped = 0;
    for (int i = maxFiles - 1; i >= 0; i--) {
      skipped += readFile(file(i), sink, skipped);
    }
    return skipped;
  }

  /**
   * Like {@link #read} for the file of index {@code i} only (0 the current one, {@code maxFiles - 1} the oldest);
   * nothing when it does not exist.
   */
  public synchronized int read(int i, Consumer<JsonObject> sink) {
    return readFile(file(i), sink, 0);
  }

  /** Files kept in all, the current one included. */
  public int maxFiles() {
    return maxFiles;
  }

  private static int readFile(Path file, Consumer<JsonObject> sink, int warnedBefore) {
    int skipped = 0;
    try (InputStream in = Files.newInputStream(file)) {
      byte[] chunk = new byte[64 * 1024];
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      boolean tooLong = false;
      long lineNo = 1;
      for (int n = in.read(chunk); ; n = in.read(chunk)) {
        int from = 0;
        for (int i = 0; i < Math.max(n, 0); i++) {
          if (chunk[i] == '\n') {
            tooLong |= !take(line, chunk, from, i);
            if (!lineDone(file, lineNo++, line, tooLong, false, sink, warnedBefore + skipped)) {
              skipped++;
            }
            line.reset();
            tooLong = false;
            from = i + 1;
          }
        }
        if (n < 0) {
          if (line.size() > 0 && !lineDone(file, lineNo, line, tooLong, true, sink, warnedBefore + skipped)) {
            skipped++;
          }
          break;
        }
        tooLong |= !take(line, chunk, from, n);
      }
    } catch (NoSuchFileException e) {
      return 0;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    if (warnedBefore + skipped > WARNINGS_PER_READ && skipped > 0) {
      LOG.warn("{}: {} line(s) skipped in all", file, skipped);
    }
    return skipped;
  }

  /** Adds {@code chunk[from, to)} to {@code line} unless that makes it longer than allowed; whether it fit. */
  private static boolean take(ByteArrayOutputStream line, byte[] chunk, int from, int to) {
    if (line.size() + (to - from) > MAX_LINE_BYTES) {
      return false;
    }
    line.write(chunk, from, to - from);
    return true;
  }

  /** Hands a complete line to {@code sink}; false (after a warning, the first few times) when it is skipped. */
  private static boolean lineDone(Path file, long lineNo, ByteArrayOutputStream line, boolean tooLong, boolean last,
                                  Consumer<JsonObject> sink, int warnedBefore) {
    String text = tooLong ? null : line.toString(StandardCharsets.UTF_8);
    if (text != null && text.isBlank()) {
      return true;
    }
    JsonObject entry = null;
    String problem;
    if (tooLong) {
      problem = "longer than " + MAX_LINE_BYTES + " bytes";
    } else {
      try {
        entry = new JsonObject(text);
        problem = null;
      } catch (RuntimeException e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        problem = "not a JSON object (" + m.lines().findFirst().orElse("") + ")";
      }
    }
    if (entry != null) {
      sink.accept(entry);
      return true;
    }
    if (warnedBefore < WARNINGS_PER_READ) {
      LOG.warn("{} line {} skipped: {}{}", file, lineNo, problem, last ? " (the last line, without its end: a write cut "
          + "short by a crash?)" : "");
    }
    return false;
  }

  /** Closes the current file (a later append opens it again). */
  @Override
  public synchronized void close() throws IOException {
    if (current != null) {
      current.close();
      current = null;
    }
  }
}
