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
  final List<String> notes = new ArrayList<>();

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

  /** {@code open}, {@code completed}, {@code recovered} (the old primary came back first), {@code aborted}. */
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
        .put("notes", new JsonArray(new ArrayList<>(notes)));
  }

  private static Object ts(long millis) {
    return millis < 0 ? null : java.time.Instant.ofEpochMilli(millis).toString();
  }
}
