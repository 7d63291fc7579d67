package io.cutover.monitor;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * One cutover (or an attempt at one) with its timeline, measured against the RTO, and its RPO figure ({@link Rpo}:
 * a lower bound until measured after the fact by {@link RpoFollowUp}, which may update it after it closed). Times are
 * epoch milliseconds of the injected clock, {@code -1} when the step did not happen. Mutable while open (its RPO
 * figure also later), owned by the {@link FailoverMachine}; {@link #toJson()} is the structured log line and the API
 * shape.
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
  /** The old primary's timeline at its last healthy check, {@code -1} if unknown. */
  long oldTimeline = -1;
  long candidateLsn = -1;
  /** Where the promoted node's timeline began (its end of recovery, read at its promotion), {@code -1} if not read. */
  long forkLsn = -1;
  /** The new primary's WAL position when first seen as primary (at or past its fork point), {@code -1} if not yet. */
  long newPrimaryLsn = -1;
  /** The RPO measured after the fact ({@link RpoFollowUp}), {@code null} until then. */
  Rpo rpoMeasured;
  /** Why the last measurement did not give the figure (it is tried again), or {@code null}. */
  String rpoPending;
  /** Why the figure can no longer be measured (it stays a bound), or {@code null}. */
  String rpoUnmeasurable;
  /** A measurement is in flight. */
  boolean rpoMeasuring;
  /** No measurement before this time (epoch ms) after one that did not give the figure. */
  long rpoNextAttemptAt = -1;
  String outcome = "open";
  boolean warned;
  boolean breachLogged;
  /** The {@code on_fence} hook was asked for (it runs once per incident, not again for a retry). */
  boolean fenceHookRun;
  /**
   * Whether the promotion is the failover authority's outside Cutover ({@code failover.mode: follow}, e.g. Patroni, or
   * a node promoted by someone else), not a decision of Cutover's: Cutover only observed and timed it.
   */
  boolean external;
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

  /** The RPO figure as far as it is known now: measured, provably exact, or a lower bound ({@link Rpo}). */
  public Rpo rpo() {
    return Rpo.of(this);
  }

  /** {@link #rpo()}'s bytes of WAL not carried over (a lower bound unless exact), {@code -1} if unknown. */
  public long rpoBytes() {
    return rpo().bytes();
  }

  public long lastHealthyAt() {
    return lastHealthyAt;
  }

  public List<String> notes() {
    return List.copyOf(notes);
  }

  public JsonObject toJson() {
    Rpo rpo = rpo();
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
        .put("promoted_by", external ? "external" : "cutover")
        .put("outcome", outcome)
        .put("old_primary", oldPrimary)
        .put("new_primary", candidate)
        .put("timeline", timeline)
        .put("duration_ms", durationMillis() < 0 ? null : durationMillis())
        .put("rto_ms", rtoMillis)
        .put("rto_verdict", verdict())
        .put("rpo_bytes", rpo.bytes() < 0 ? null : rpo.bytes())
        .put("rpo", rpo.toJson())
        .put("old_primary_lsn", Lsn.format(oldPrimaryLsn))
        .put("promoted_lsn", Lsn.format(candidateLsn))
        .put("fork_lsn", Lsn.format(forkLsn))
        .put("attempts", new JsonArray(attempts.stream().map(Attempt::toJson).map(Object.class::cast).toList()))
        .put("notes", new JsonArray(new ArrayList<>(notes)))
        .put("notes_dropped", notesDropped);
  }

  private static Object ts(long millis) {
    return millis < 0 ? null : java.time.Instant.ofEpochMilli(millis).toString();
  }
}
