package io.cutover.monitor;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which replica may be promoted. Pure. A candidate is UP and passed its last check (a node UP only by
 * hysteresis while its checks already fail is never chosen), not fenced, not recently failed in this incident,
 * a replica with a known WAL position, and within {@code max_lag_on_failover} bytes of the old primary's last
 * known LSN (Patroni's {@code maximum_lag_on_failover}). Positions are the WAL each replica has
 * <i>received</i> (what it will have replayed once promoted, {@link TargetStatus#promotableLsn()}), like
 * Patroni; among candidates the most WAL received wins, then the most replayed, then the preferred target,
 * then configuration order.
 *
 * @param oldPrimary     the primary being replaced (never a candidate)
 * @param fenced         fenced targets (never candidates)
 * @param failed         targets whose promotion failed or timed out in this incident, with the reason, not chosen
 *                       again until their back-off passes
 * @param lastPrimaryLsn the old primary's last known WAL position in bytes, {@code -1} if unknown (then the
 *                       replica's own lag figure is used)
 * @param maxLagBytes    {@code max_lag_on_failover} in bytes ({@code 0}: none allowed), negative = no limit
 * @param preferred      {@code failover.preferred}, or {@code null}
 * @param order          target names in configuration order
 */
record CandidateRules(String oldPrimary, Set<String> fenced, Map<String, String> failed, long lastPrimaryLsn,
                      long maxLagBytes, String preferred, List<String> order) {

  /** The choice: {@code candidate} (or {@code null}) and the reason for it or for refusing. */
  record Choice(String candidate, String reason) {
  }

  /** Why {@code s} cannot be promoted, or {@code null} if it can. */
  String rejection(TargetStatus s) {
    if (s.state() != TargetState.UP) {
      return s.name() + " is " + s.state().label();
    }
    if (s.lastError() != null) {
      return s.name() + " failed its last check (" + s.lastError() + ")";
    }
    if (fenced.contains(s.name())) {
      return s.name() + " is fenced";
    }
    if (failed.containsKey(s.name())) {
      return s.name() + " " + failed.get(s.name());
    }
    if (s.name().equals(oldPrimary) || s.role() != Role.REPLICA || s.promotableLsn() < 0) {
      return s.name() + " is not a replica with a known WAL position";
    }
    long lag = lagBehind(s);
    if (maxLagBytes >= 0 && (lag < 0 || lag > maxLagBytes)) {
      return s.name() + " replay lag " + (lag < 0 ? "unknown" : lag + " bytes") + " exceeds max_lag_on_failover "
          + maxLagBytes + " bytes";
    }
    return null;
  }

  /** Bytes of WAL {@code s} will lack once promoted, compared with the old primary's last known position. */
  long lagBehind(TargetStatus s) {
    return lastPrimaryLsn < 0 ? s.lagBytes() : Math.max(0, lastPrimaryLsn - s.promotableLsn());
  }

  Choice choose(Topology t) {
    List<String> rejected = new ArrayList<>();
    List<TargetStatus> ok = new ArrayList<>();
    for (TargetStatus s : t.targets()) {
      if (s.name().equals(oldPrimary)) {
        continue;
      }
      String why = rejection(s);
      if (why == null) {
        ok.add(s);
      } else {
        rejected.add(why);
      }
    }
    if (ok.isEmpty()) {
      return new Choice(null, rejected.isEmpty() ? "no replicas" : String.join("; ", rejected));
    }
    ok.sort(Comparator.comparingLong(TargetStatus::promotableLsn).reversed()
        .thenComparing(Comparator.comparingLong(TargetStatus::positionLsn).reversed())
        .thenComparing(s -> s.name().equals(preferred) ? 0 : 1)
        .thenComparing(s -> order.indexOf(s.name())));
    TargetStatus best = ok.get(0);
    return new Choice(best.name(), "most WAL received " + Lsn.format(best.promotableLsn()) + " (replayed "
        + Lsn.format(best.positionLsn()) + "), " + lagBehind(best) + " bytes behind the old primary's last known LSN");
  }
}
