package io.cutover.monitor;

import io.vertx.core.json.JsonObject;

import java.time.Instant;

/**
 * An incident's RPO figure: the bytes of WAL the old primary had that the new primary's timeline does not carry
 * (written on the old timeline after the point where the new timeline forked from it), with what the figure rests
 * on. While {@link #exact()} is false, {@link #bytes()} is a lower bound: the old primary's position at its last
 * healthy check is known, what it wrote after that check is not — until it is back and the end of its WAL is read
 * ({@link RpoFollowUp}). Exact at once only where it is provably so: a switchover (the old primary was made
 * read-only and the candidate replayed its last LSN before being promoted) and an incident without a promotion.
 *
 * @param bytes      bytes of WAL not carried over (a lower bound unless {@code exact}), {@code -1} when not even a
 *                   bound is known (no healthy check of the old primary recorded its position)
 * @param exact      whether {@code bytes} is the figure itself rather than a lower bound
 * @param basis      what the figure rests on, for operators (positions, times, why it is not measured yet)
 * @param measuredAt when it was measured after the fact, epoch ms of the monitor's clock; {@code -1} if it was not
 */
public record Rpo(long bytes, boolean exact, String basis, long measuredAt) {

  /** {@code "336 bytes"} when exact, {@code "≥ 0 bytes"} for a lower bound, {@code "unknown"}. */
  public String display() {
    return bytes < 0 ? "unknown" : (exact ? "" : "≥ ") + bytes + " bytes";
  }

  /** {@code {"bytes", "exact", "display", "basis", "measured"}} ({@code bytes} and {@code measured} may be null). */
  public JsonObject toJson() {
    return new JsonObject().put("bytes", bytes < 0 ? null : bytes).put("exact", exact).put("display", display())
        .put("basis", basis).put("measured", measuredAt < 0 ? null : Instant.ofEpochMilli(measuredAt).toString());
  }

  /** The figure of {@code i} as far as it is known now: measured, provably exact, or a lower bound. */
  static Rpo of(Incident i) {
    if (i.rpoMeasured != null) {
      return i.rpoMeasured;
    }
    String old = i.oldPrimary;
    if (i.kind == Incident.Kind.SWITCHOVER && !i.external && i.promotedAt >= 0 && i.oldPrimaryLsn >= 0 && i.candidateLsn >= 0) {
      return new Rpo(Math.max(0, i.oldPrimaryLsn - i.candidateLsn), true, "switchover: " + old + " was made read-only "
          + "and its client sessions ended at " + Lsn.format(i.oldPrimaryLsn) + "; " + i.candidate + " had replayed "
          + Lsn.format(i.candidateLsn) + " when it was promoted", -1);
    }
    if ("recovered".equals(i.outcome) || "aborted".equals(i.outcome)) {
      return new Rpo(0, true, "no promotion: " + old + ("recovered".equals(i.outcome)
          ? " leads again with all of its WAL" : " stayed the primary (the switchover was aborted)"), -1);
    }
    if (old == null || i.oldPrimaryLsn < 0) {
      return new Rpo(-1, false, "unknown: no healthy check of " + (old == null ? "a primary" : old)
          + " recorded its WAL position" + pending(i), -1);
    }
    String last = old + " was at " + Lsn.format(i.oldPrimaryLsn) + " at its last healthy check ("
        + (i.lastHealthyAt < 0 ? "time unknown" : Instant.ofEpochMilli(i.lastHealthyAt).toString())
        + "); WAL it wrote after that is unknown";
    if (i.forkLsn >= 0) {
      return new Rpo(Math.max(0, i.oldPrimaryLsn - i.forkLsn), false, "lower bound: " + last + "; " + i.candidate
          + "'s timeline began at " + Lsn.format(i.forkLsn) + " (read at its promotion)" + pending(i), -1);
    }
    if (i.newPrimaryLsn >= 0) {
      return new Rpo(Math.max(0, i.oldPrimaryLsn - i.newPrimaryLsn), false, "lower bound: " + last + "; "
          + i.candidate + " was at " + Lsn.format(i.newPrimaryLsn) + " when first seen as primary (its timeline "
          + "began there or before)" + pending(i), -1);
    }
    return new Rpo(0, false, "lower bound: " + last + "; no promotion yet" + (i.candidate == null ? ""
        : " (" + i.candidate + " had received " + Lsn.format(i.candidateLsn) + " at its last check before it was "
        + "chosen, and may receive more)") + pending(i), -1);
  }

  /** Why the figure is not measured (yet), or when it will be. */
  private static String pending(Incident i) {
    if (i.rpoUnmeasurable != null) {
      return "; not measurable: " + i.rpoUnmeasurable;
    }
    if (i.rpoPending != null) {
      return "; not measured yet: " + i.rpoPending;
    }
    return i.kind == Incident.Kind.FAILOVER && i.promotedAt >= 0
        ? "; measured once " + i.oldPrimary + " is back (restarted, before any rejoin)" : "";
  }
}
