package io.cutover.proxy.http;

import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * The event stream's numbered events and the rules of a reconnect ({@code GET /api/v1/events}): plain, I/O-free and
 * thread-safe (one lock; every method is short).
 *
 * <p><b>Ids.</b> An event's id is {@code <run>-<seq>}: {@code run} names this Cutover process (its random instance id,
 * letters and digits), {@code seq} counts its events from 1 without gaps. Id {@code <run>-0} means "before the first
 * event".
 *
 * <p><b>The ring.</b> The newest events are kept, at most {@code capacity} of them and at most {@code maxBytes} bytes
 * of their frames (the oldest go first; the newest is always kept, however large). A stream sends the events after
 * its cursor (the seq it sent last) straight from the ring ({@link #next}), so replaying after a reconnect and
 * following live are the same thing, and events wait here once for every stream, never in a stream's queue.
 *
 * <p><b>Resuming</b> ({@link #start}): a reconnect that names the id of the last event it received gets exactly the
 * events after it — none twice, none missing — when that id is this run's and no event after it has left the ring
 * yet. Otherwise (malformed, another run's, newer than the newest event, or older than the ring) it is told why and
 * starts afresh.
 */
public final class EventLog {

  /** Events kept by default. */
  public static final int DEFAULT_CAPACITY = 1024;
  /** Bytes of frames kept by default (4 MiB). */
  public static final long DEFAULT_MAX_BYTES = 4L * 1024 * 1024;
  /** Longest id part echoed back in a resync reason, in characters. */
  static final int ECHO_CHARS = 60;

  private static final Pattern RUN = Pattern.compile("[A-Za-z0-9]{1,64}");
  private static final Pattern SEQ = Pattern.compile("0|[1-9][0-9]{0,17}");

  /**
   * One event.
   *
   * @param seq   its number in this run, from 1
   * @param id    {@code <run>-<seq>}
   * @param frame the whole SSE frame: {@code id: <id>\ndata: <one-line JSON>\n\n}
   * @param bytes the frame's size in UTF-8, in bytes
   */
  public record Event(long seq, String id, String frame, int bytes) {
  }

  /**
   * Where a new stream starts.
   *
   * @param cursor the seq of the last event it has (it is sent the events after it)
   * @param resync why the id it named cannot be resumed, or {@code null}: fresh (no id) or resumed
   * @param resumed whether it resumes from the id it named (then nothing else is sent first)
   */
  public record Start(long cursor, String resync, boolean resumed) {
  }

  /** {@link #next}'s answer when the events after a cursor have left the ring: the stream cannot go on. */
  public static final Event GONE = new Event(-1, "", "", 0);

  private final String run;
  private final Event[] ring;
  private final long maxBytes;
  /** The newest event's seq, 0 before the first. */
  private long newest;
  /** The oldest kept event's seq ({@code newest + 1} while none is kept). */
  private long oldest = 1;
  private long bytes;

  /**
   * @param run      this process's run id: 1–64 letters or digits
   * @param capacity events kept, at least 1
   * @param maxBytes bytes of frames kept, at least 1 (the newest event is kept whatever its size)
   */
  public EventLog(String run, int capacity, long maxBytes) {
    if (run == null || !RUN.matcher(run).matches()) {
      throw new IllegalArgumentException("a run id is 1 to 64 letters or digits: " + run);
    }
    if (capacity < 1 || maxBytes < 1) {
      throw new IllegalArgumentException("capacity and maxBytes must be at least 1");
    }
    this.run = run;
    this.ring = new Event[capacity];
    this.maxBytes = maxBytes;
  }

  /** This process's run id. */
  public String run() {
    return run;
  }

  /** {@code <run>-<seq>}. */
  public String id(long seq) {
    return run + "-" + seq;
  }

  /**
   * Numbers {@code data} as the next event and keeps it, dropping the oldest as the ring's bounds require.
   *
   * @param data the event's JSON (encoded on one line)
   * @return the event
   */
  public synchronized Event append(JsonObject data) {
    long seq = newest + 1;
    String id = id(seq);
    String frame = frame(id, data);
    Event e = new Event(seq, id, frame, frame.getBytes(StandardCharsets.UTF_8).length);
    if (newest - oldest + 1 == ring.length) {
      evictOldest();
    }
    ring[slot(seq)] = e;
    newest = seq;
    bytes += e.bytes();
    while (bytes > maxBytes && oldest < newest) {
      evictOldest();
    }
    return e;
  }

  /** The SSE frame of an event: {@code id: <id>\ndata: <data on one line>\n\n}. */
  static String frame(String id, JsonObject data) {
    return "id: " + id + "\ndata: " + data.encode() + "\n\n";
  }

  private void evictOldest() {
    int s = slot(oldest);
    bytes -= ring[s].bytes();
    ring[s] = null;
    oldest++;
  }

  private int slot(long seq) {
    return (int) ((seq - 1) % ring.length);
  }

  /** The newest event's seq, 0 before the first. */
  public synchronized long newest() {
    return newest;
  }

  /** The oldest kept event's seq; {@code newest() + 1} while none is kept. */
  public synchronized long oldest() {
    return oldest;
  }

  /** Events kept now. */
  public synchronized int size() {
    return (int) (newest - oldest + 1);
  }

  /** Bytes of the kept events' frames. */
  public synchronized long bytes() {
    return bytes;
  }

  /**
   * The event after {@code cursor}: {@code null} when there is none yet (caught up), {@link #GONE} when it has left
   * the ring (the stream fell too far behind to go on).
   *
   * @param cursor the seq of the last event sent, {@code 0} to {@link #newest()}
   */
  public synchronized Event next(long cursor) {
    if (cursor >= newest) {
      return null;
    }
    if (cursor + 1 < oldest || cursor < 0) {
      return GONE;
    }
    return ring[slot(cursor + 1)];
  }

  /**
   * Where a stream that names {@code lastEventId} (the {@code Last-Event-ID} header or {@code ?last_event_id=}) starts.
   *
   * @param lastEventId the id of the last event the client received, or {@code null} / empty for none
   * @return resumed at its seq, or fresh at the newest event (with the reason when the id could not be resumed)
   */
  public synchronized Start start(String lastEventId) {
    if (lastEventId == null || lastEventId.isEmpty()) {
      return new Start(newest, null, false);
    }
    int dash = lastEventId.lastIndexOf('-');
    String idRun = dash < 0 ? "" : lastEventId.substring(0, dash);
    String idSeq = dash < 0 ? "" : lastEventId.substring(dash + 1);
    if (!RUN.matcher(idRun).matches() || !SEQ.matcher(idSeq).matches()) {
      return resync("the last event id '" + echo(lastEventId) + "' is not an id of this stream (<run>-<seq>)");
    }
    if (!idRun.equals(run)) {
      return resync("the last event id is from another run of Cutover (" + echo(idRun) + "; this run is " + run
          + "): it restarted, and the events before are gone");
    }
    long seq = Long.parseLong(idSeq);
    if (seq > newest) {
      return resync("the last event id " + id(seq) + " is unknown: the newest event is " + id(newest));
    }
    if (seq + 1 < oldest) {
      return resync("the events after " + id(seq) + " are no longer kept (the oldest kept is " + id(oldest)
          + "; the last " + ring.length + " events and at most " + maxBytes + " bytes are kept)");
    }
    return new Start(seq, null, true);
  }

  private Start resync(String reason) {
    return new Start(newest, reason, false);
  }

  /** {@code s} shortened to {@value #ECHO_CHARS} characters, control characters shown as {@code ?}. */
  private static String echo(String s) {
    String cut = s.length() > ECHO_CHARS ? s.substring(0, ECHO_CHARS - 3) + "..." : s;
    StringBuilder out = new StringBuilder(cut.length());
    cut.codePoints().forEach(c -> out.appendCodePoint(Character.isISOControl(c) ? '?' : c));
    return out.toString();
  }
}
