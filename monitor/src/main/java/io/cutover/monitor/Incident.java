package io.cutover.monitor;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * One cutover (or an attempt at one) with its timeline, measured against the RTO. Times are epoch
 * milliseconds of the injected clock, {@code -1} when the step did not happen. Mutable while open, owned
 * by the {@link FailoverMachine}; {@link #toJson()} is the structured log line and the API shape.
 */
public final class Incident {

  /** What kind of cutover. */
  public enum Kind { FAILOVER, SWITCHOVER }

  final long id;
  final Kind kind;
  final String oldPrimary;
  final long rtoMillis;
  long lastHealthyAt = -1;
  long firstFailedAt = -1;
  long downAt = -1;
  long decidedAt = -1;
  long promotedAt = -1;
  long firstWriteAt = -1;
  long closedAt = -1;
  String candidate;
  long oldPrimaryLsn = -1;
  long candidateLsn = -1;
  String outcome = "open";
  boolean warned;
  boolean breachLogged;
  /** The {@code on_fence} hook was asked for (it runs once per incident, not again for a retry). */
  boolean fenceHookRun;
  final List<String> notes = new ArrayList<>();
  final List<Attempt> attempts = new ArrayList<>();

  /**
   * One promotion attempt: which candidate, when it started and ended (epoch ms, {@code -1} while running) and
   * how it ended ({@code promoted}, {@code failed: ...}, {@code timed out: ...}).
   */
  static final class Attempt {
    final String candidate;
    final long startedAt;
    long endedAt = -1;
    String result;

    Attempt(String candidate, long startedAt) {
      this.candidate = candidate;
      this.startedAt = startedAt;
    }

    JsonObject toJson() {
      return new JsonObject().put("candidate", candidate).put("started", ts(startedAt)).put("ended", ts(endedAt))
          .put("result", result);
    }
  }

  void attemptStarted(String candidate, long now) {
    attempts.add(new Attempt(candidate, now));
  }

  /** Ends the running attempt of {@code candidate}, if any, with {@code result}. */
  void attemptEnded(String candidate, String result, long now) {
    for (Attempt a : attempts) {
      if (a.candidate.equals(candidate) && a.endedAt < 0) {
        a.endedAt = now;
        a.result = result;
      }
    }
  }

  /** Notes kept per incident; later ones are counted, not kept (an incident can stay open for hours). */
  static final int NOTES_KEPT = 100;
  private int notesDropped;

  /** Notes a line (what was decided or observed, and why); past {@value #NOTES_KEPT} lines only counts it. */
  void note(String line) {
    if (notes.size() < NOTES_KEPT) {
      notes.add(line);
    } else {
      notesDropped++;
    }
  }

  Incident(long id, Kind kind, String oldPrimary, long rtoMillis) {
    this.id = id;
    this.kind = kind;
    this.oldPrimary = oldPrimary;
    this.rtoMillis = rtoMillis;
  }

  public long id() {
    return id;
  }

  public Kind kind() {
    return kind;
  }

  public String oldPrimary() {
    return oldPrimary;
  }

  public String candidate() {
    return candidate;
  }

  /**
   * {@code open}, {@code completed}, {@code recovered} (the old primary came back before any promotion
   * succeeded: recovered without failover), {@code aborted} (a switchover that did not happen).
   */
  public String outcome() {
    return outcome;
  }

  public boolean open() {
    return closedAt < 0;
  }

  /** Cutover duration in milliseconds: last healthy check of the old primary → first write accepted; -1 if not done. */
  public long durationMillis() {
    return firstWriteAt < 0 || lastHealthyAt < 0 ? -1 : firstWriteAt - lastHealthyAt;
  }

  /** {@code met}, {@code breached}, or {@code null} while no write was accepted. */
  public String verdict() {
    long d = durationMillis();
    return d < 0 ? null : d <= rtoMillis ? "met" : "breached";
  }

  /** RPO exposure in bytes of WAL: old primary's last known LSN minus the promoted node's replayed LSN, -1 if unknown. */
  public long rpoBytes() {
    return oldPrimaryLsn < 0 || candidateLsn < 0 ? -1 : Math.max(0, oldPrimaryLsn - candidateLsn);
  }

  public long lastHealthyAt() {
    return lastHealthyAt;
  }

  public List<String> notes() {
    return List.copyOf(notes);
  }

  public JsonObject toJson() {
    JsonObject timeline = new JsonObject()
        .put("last_healthy", ts(lastHealthyAt))
        .put("first_failed_check", ts(firstFailedAt))
        .put("down_declared", ts(downAt))
        .put("candidate_chosen", ts(decidedAt))
        .put("promoted", ts(promotedAt))
        .put("first_write_accepted", ts(firstWriteAt))
        .put("closed", ts(closedAt));
    return new JsonObject()
        .put("id", id)
        .put("kind", kind.name().toLowerCase(java.util.Locale.ROOT))
        .put("outcome", outcome)
        .put("old_primary", oldPrimary)
        .put("new_primary", candidate)
        .put("timeline", timeline)
        .put("duration_ms", durationMillis() < 0 ? null : durationMillis())
        .put("rto_ms", rtoMillis)
        .put("rto_verdict", verdict())
        .put("rpo_bytes", rpoBytes() < 0 ? null : rpoBytes())
        .put("old_primary_lsn", Lsn.format(oldPrimaryLsn))
        .put("promoted_lsn", Lsn.format(candidateLsn))
        .put("attempts", new JsonArray(attempts.stream().map(Attempt::toJson).map(Object.class::cast).toList()))
        .put("notes", new JsonArray(new ArrayList<>(notes)))
        .put("notes_dropped", notesDropped);
  }

  private static Object ts(long millis) {
    return millis < 0 ? null : java.time.Instant.ofEpochMilli(millis).toString();
  }
}
