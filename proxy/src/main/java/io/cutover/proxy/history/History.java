package io.cutover.proxy.history;

import io.cutover.monitor.MonitorVerticle;
import io.cutover.proxy.config.CutoverConfig;
import io.cutover.config.Durations;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * This instance's incidents and audit entries on disk ({@code history.dir}), so that they survive a restart:
 * {@code incidents.jsonl} and {@code audit.jsonl}, JSON lines rotated by size ({@link JsonLinesFile}).
 *
 * <p>An incident is appended when it opens, when it closes, when its RPO figure changes after the fact (measured once
 * the old primary is back, also after it closed) and — still open — when Cutover stops; read back, the
 * last version of each id counts, and one still open then (Cutover stopped or crashed during it) is shown with
 * outcome {@code interrupted}. Only the newest {@code failover.incidents_kept} incidents and {@code admin.audit_kept}
 * audit entries are read back into memory.
 *
 * <p>Writes run on a worker of their own (one thread, in the order they were asked for), never on an event loop; at
 * most {@value #MAX_PENDING} may wait, later ones are dropped with a warning. A write that fails is logged and the
 * entry stays in memory and in the log. The directory is locked ({@code .lock}) for as long as this instance runs:
 * a second instance on the same directory does not start, except a successor taking over from this instance (a
 * zero-downtime restart), which waits for the lock.
 */
public final class History {

  private static final Logger LOG = LoggerFactory.getLogger(History.class);
  /** Writes that may wait for the disk; more are dropped (with a warning) rather than held in memory. */
  public static final int MAX_PENDING = 10_000;
  /** How often a takeover looks whether the predecessor released the directory's lock (ms). */
  static final long LOCK_POLL_MILLIS = 200;
  private static final String HELD = "another Cutover instance uses it";
  /** How long {@link #close()} waits for the monitor's open incident, in ms. */
  private static final long CLOSE_ASK_MILLIS = 2000;
  static final String INTERRUPTED_NOTE = "Cutover stopped while this incident was open: the state recorded last is "
      + "shown, and the incident was not followed further";

  private final Vertx vertx;
  private final Path dir;
  private final JsonLinesFile incidents;
  private final JsonLinesFile audit;
  /** The directory's lock; {@code null} until a takeover got it ({@link #open(Vertx, CutoverConfig.History, int, int, Duration)}). */
  private volatile FileChannel lockChannel;
  private final WorkerExecutor writer;
  private final List<JsonObject> restoredIncidents;
  private final List<JsonObject> restoredAudit;
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicInteger dropped = new AtomicInteger();
  private volatile boolean closed;
  /** Set when a takeover's wait for the lock ended without it: nothing is written from then on. */
  private volatile boolean lockLost;
  private Future<Void> closing;

  private History(Vertx vertx, Path dir, JsonLinesFile incidents, JsonLinesFile audit, FileChannel lockChannel,
                  List<JsonObject> restoredIncidents, List<JsonObject> restoredAudit) {
    this.vertx = vertx;
    this.dir = dir;
    this.incidents = incidents;
    this.audit = audit;
    this.lockChannel = lockChannel;
    this.writer = dir == null ? null : vertx.createSharedWorkerExecutor("cutover-history-" + System.identityHashCode(this), 1);
    this.restoredIncidents = List.copyOf(restoredIncidents);
    this.restoredAudit = List.copyOf(restoredAudit);
  }

  /**
   * Opens the history on a worker thread: creates the directory, locks it and reads both records back. With
   * {@code history.dir} unset (off), a history that keeps nothing.
   *
   * @param incidentsKept incidents read back at most ({@code failover.incidents_kept})
   * @param auditKept     audit entries read back at most ({@code admin.audit_kept})
   * @return failed with a message naming the directory when it cannot be created, read or locked (e.g. another
   *         instance uses it)
   */
  public static Future<History> open(Vertx vertx, CutoverConfig.History config, int incidentsKept, int auditKept) {
    return open(vertx, config, incidentsKept, auditKept, null);
  }

  /**
   * Like {@link #open(Vertx, CutoverConfig.History, int, int)}, for a successor taking over from the instance that
   * holds the lock ({@code --takeover}): when the directory is locked, both records are read back without the lock
   * and the lock is waited for on the writer's thread, at most {@code lockWait}; the writes asked for meanwhile wait
   * behind it (at most {@value #MAX_PENDING}). When the wait ends without the lock (the predecessor still holds it),
   * this run's entries are not written to disk, with an error logged naming the holder.
   *
   * @param lockWait how long to wait for the lock; {@code null} to fail at once when it is held
   */
  public static Future<History> open(Vertx vertx, CutoverConfig.History config, int incidentsKept, int auditKept,
                                     Duration lockWait) {
    if (config.dir() == null) {
      LOG.info("history: off (history.dir unset): incidents and audit entries are kept in memory only");
      return Future.succeededFuture(new History(vertx, null, null, null, null, List.of(), List.of()));
    }
    Path dir = config.dir().toAbsolutePath().normalize();
    return vertx.executeBlocking(() -> {
      Files.createDirectories(dir);
      FileChannel lock;
      try {
        lock = lock(dir);
      } catch (IOException e) {
        if (lockWait == null || !e.getMessage().startsWith(HELD)) {
          throw e;
        }
        lock = null;
        LOG.info("history: {} is locked by the instance this one takes over from: read back without the lock; "
            + "this run's entries are written once it exits (waiting at most {})", dir, Durations.format(lockWait));
      }
      try {
        JsonLinesFile inc = new JsonLinesFile(dir, "incidents", config.maxFileBytes(), config.maxFiles());
        JsonLinesFile aud = new JsonLinesFile(dir, "audit", config.maxFileBytes(), config.maxFiles());
        int[] skipped = {0};
        List<JsonObject> restoredIncidents = latestIncidents(inc, incidentsKept, skipped);
        List<JsonObject> restoredAudit = newest(aud, auditKept, skipped);
        LOG.info("history: {} incident(s) and {} audit entr{} read back from {}{}", restoredIncidents.size(),
            restoredAudit.size(), restoredAudit.size() == 1 ? "y" : "ies", dir,
            skipped[0] == 0 ? "" : " (" + skipped[0] + " line(s) skipped, see the warnings above)");
        History h = new History(vertx, dir, inc, aud, lock, restoredIncidents, restoredAudit);
        if (lock == null) {
          h.awaitLock(lockWait, incidentsKept);
        }
        return h;
      } catch (RuntimeException e) {
        if (lock != null) {
          lock.close();
        }
        throw e;
      }
    }, false).recover(err -> Future.failedFuture(new IllegalStateException("cannot use history.dir " + dir + ": "
        + (err instanceof UncheckedIOException u ? u.getCause().getMessage() : err.getMessage()), err)));
  }

  /**
   * Queues, as the writer's first task, the wait for the directory's lock (polled every {@value #LOCK_POLL_MILLIS} ms
   * until {@code wait} passes). With it, the incidents are read again (the predecessor's last ones, its open one now
   * shown as interrupted) and handed to the monitor ({@link MonitorVerticle#HISTORY_READ_ADDRESS}), which numbers the
   * next incident above them. Without it at the deadline, the history stops writing: a decision logged as an error.
   */
  private void awaitLock(Duration wait, int incidentsKept) {
    long deadline = System.nanoTime() + wait.toNanos();
    pending.incrementAndGet();
    writer.executeBlocking(() -> {
      try {
        while (lockChannel == null) {
          try {
            lockChannel = lock(dir);
            List<JsonObject> again = latestIncidents(incidents, incidentsKept, new int[1]);
            LOG.info("history: {} locked by this instance: its entries are written from now on; {} incident(s) read "
                + "again (the predecessor's last ones included)", dir, again.size());
            vertx.eventBus().publish(MonitorVerticle.HISTORY_READ_ADDRESS, new JsonArray(new ArrayList<>(again)),
                new io.vertx.core.eventbus.DeliveryOptions().setLocalOnly(true));
          } catch (IOException e) {
            if (closed || System.nanoTime() - deadline >= 0) {
              lockLost = true; // the entries waiting behind are not written without the lock
              if (closed) {
                LOG.warn("history: closed while {} was still locked ({}): this run's entries are not written", dir,
                    e.getMessage());
              } else {
                LOG.error("history: {} is still locked after {} ({}); this run's incidents and audit entries are kept "
                    + "in memory only", dir, Durations.format(wait), e.getMessage());
              }
              return null;
            }
            Thread.sleep(LOCK_POLL_MILLIS);
          }
        }
      } finally {
        pending.decrementAndGet();
      }
      return null;
    }, false);
  }

  /** Locks {@code dir/.lock} for this instance (and writes its PID there). */
  private static FileChannel lock(Path dir) throws IOException {
    Path file = dir.resolve(".lock");
    FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      ch.close();
      String holder;
      try {
        holder = Files.readString(file, StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        holder = "unknown pid";
      }
      throw new IOException(HELD + " (" + holder + " holds " + file + "); give each instance its own history.dir");
    }
    ch.truncate(0);
    ch.write(ByteBuffer.wrap(("pid " + ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)));
    return ch;
  }

  /**
   * The newest {@code kept} incidents of {@code file} by id, each in the version appended last, oldest first; one
   * still open then is marked {@code interrupted}. Entries without a numeric id are counted in {@code skipped}.
   */
  static List<JsonObject> latestIncidents(JsonLinesFile file, int kept, int[] skipped) {
    TreeMap<Long, JsonObject> byId = new TreeMap<>();
    int unreadable = file.read(e -> {
      if (!(e.getValue("id") instanceof Number id)) {
        skipped[0]++;
        LOG.warn("history: an incident without an id skipped: {}", e.encode().substring(0, Math.min(200, e.encode().length())));
        return;
      }
      byId.put(id.longValue(), e);
      if (byId.size() > kept) {
        byId.pollFirstEntry();
      }
    });
    skipped[0] += unreadable;
    List<JsonObject> out = new ArrayList<>(byId.size());
    for (JsonObject i : byId.values()) {
      if ("open".equals(i.getString("outcome"))) {
        JsonArray notes = i.getValue("notes") instanceof JsonArray n ? n : new JsonArray();
        i.put("outcome", "interrupted").put("notes", notes.add(INTERRUPTED_NOTE));
      }
      out.add(i);
    }
    return out;
  }

  /**
   * The newest {@code kept} entries of {@code file}, oldest first. Files are read from the newest on, and no older
   * one once {@code kept} entries are found (the audit can be large; start-up reads no more than it keeps).
   */
  static List<JsonObject> newest(JsonLinesFile file, int kept, int[] skipped) {
    Deque<JsonObject> out = new ArrayDeque<>();
    for (int i = 0; i < file.maxFiles() && out.size() < kept; i++) {
      int wanted = kept - out.size();
      Deque<JsonObject> part = new ArrayDeque<>();
      skipped[0] += file.read(i, e -> {
        part.addLast(e);
        if (part.size() > wanted) {
          part.removeFirst();
        }
      });
      while (!part.isEmpty()) {
        out.addFirst(part.removeLast());
      }
    }
    return new ArrayList<>(out);
  }

  /** Whether entries are kept on disk ({@code history.dir} set). */
  public boolean enabled() {
    return dir != null;
  }

  /** Incidents read back at start, oldest first (by id), each in its last recorded version. */
  public List<JsonObject> restoredIncidents() {
    return restoredIncidents;
  }

  /** Audit entries read back at start, oldest first. */
  public List<JsonObject> restoredAudit() {
    return restoredAudit;
  }

  /**
   * Appends every incident this instance's monitor opens, closes or updates after the fact
   * ({@link MonitorVerticle#INCIDENT_OPENED_ADDRESS}, {@link MonitorVerticle#INCIDENT_CLOSED_ADDRESS},
   * {@link MonitorVerticle#INCIDENT_UPDATED_ADDRESS}: its RPO measured once the old primary is back).
   */
  public Future<Void> listen() {
    if (!enabled()) {
      return Future.succeededFuture();
    }
    var bus = vertx.eventBus();
    return Future.all(bus.<JsonObject>localConsumer(MonitorVerticle.INCIDENT_OPENED_ADDRESS, m -> appendIncident(m.body()))
            .completion(),
        bus.<JsonObject>localConsumer(MonitorVerticle.INCIDENT_CLOSED_ADDRESS, m -> appendIncident(m.body())).completion(),
        bus.<JsonObject>localConsumer(MonitorVerticle.INCIDENT_UPDATED_ADDRESS, m -> appendIncident(m.body())).completion())
        .mapEmpty();
  }

  /** Appends one version of an incident ({@code Incident.toJson()}); never blocks. */
  public void appendIncident(JsonObject incident) {
    JsonObject copy = incident.copy();
    copy.remove("last_healthy_ms"); // added to the opening event for the metrics, not part of the record
    write(incidents, copy);
  }

  /** Appends one audit entry; never blocks. */
  public void appendAudit(JsonObject entry) {
    write(audit, entry.copy());
  }

  private void write(JsonLinesFile file, JsonObject entry) {
    if (!enabled() || closed) {
      return;
    }
    if (pending.incrementAndGet() > MAX_PENDING) {
      pending.decrementAndGet();
      if (dropped.incrementAndGet() == 1) {
        LOG.warn("history: {} writes wait for {}; further entries are not written until they drain", MAX_PENDING, dir);
      }
      return;
    }
    writer.executeBlocking(() -> {
      try {
        if (!lockLost) {
          file.append(entry);
        }
      } catch (IOException | RuntimeException e) {
        LOG.warn("history: cannot append to {}: {}; the entry is kept in memory and the log only", file.file(0),
            e.getMessage());
      } finally {
        pending.decrementAndGet();
      }
      int lost = dropped.getAndSet(0);
      if (lost > 0) {
        LOG.warn("history: {} entr{} not written to {} (too many writes waiting)", lost, lost == 1 ? "y was" : "ies were", dir);
      }
      return null;
    }, false);
  }

  /**
   * Appends the monitor's open incident, if any (asked for at most {@value #CLOSE_ASK_MILLIS} ms), waits for the
   * writes asked for before, closes the files and releases the directory's lock. Later entries are not written.
   * Calling it again returns the same future.
   */
  public synchronized Future<Void> close() {
    if (!enabled()) {
      return Future.succeededFuture();
    }
    if (closing == null) {
      closing = closeOnce();
    }
    return closing;
  }

  private Future<Void> closeOnce() {
    return vertx.eventBus().<JsonArray>request(MonitorVerticle.INCIDENTS_ADDRESS, "",
            new io.vertx.core.eventbus.DeliveryOptions(MonitorVerticle.LOCAL).setSendTimeout(CLOSE_ASK_MILLIS))
        .map(reply -> {
          JsonArray all = reply.body();
          JsonObject last = all.isEmpty() ? null : all.getJsonObject(all.size() - 1);
          if (last != null && "open".equals(last.getString("outcome"))) {
            appendIncident(last);
          }
          return null;
        })
        .otherwise(err -> {
          LOG.warn("history: the monitor did not name its open incident at stop ({})", err.getMessage());
          return null;
        })
        .compose(v -> {
          closed = true;
          // one worker thread runs writes in the order asked: this runs after every write asked for before
          return writer.executeBlocking(() -> {
            incidents.close();
            audit.close();
            if (lockChannel != null) {
              lockChannel.close();
            }
            return null;
          }, false);
        })
        .onComplete(ar -> writer.close())
        .onFailure(err -> LOG.warn("history: closing {} failed: {}", dir, err.getMessage()))
        .mapEmpty();
  }
}
