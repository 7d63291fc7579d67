package io.cutover.monitor;

import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * What Patroni's {@code GET /patroni} says about the Patroni cluster as a whole, as seen from one member: shown per
 * target in the topology and logged in the decision log when it changes. Informational: Cutover's routing does not
 * depend on it (the role, state and WAL positions do).
 *
 * @param pause           {@code pause: true}: the cluster is in maintenance mode, Patroni does not fail over
 * @param clusterUnlocked {@code cluster_unlocked: true}: no member holds the leader lock (a leader race is under way,
 *                        or the DCS is unreachable from this member)
 */
public record PatroniFlags(boolean pause, boolean clusterUnlocked) {

  /** JSON for the topology: {@code {"pause": false, "cluster_unlocked": false}}. */
  public JsonObject toJson() {
    return new JsonObject().put("pause", pause).put("cluster_unlocked", clusterUnlocked);
  }

  /** From {@link #toJson()}; {@code null} stays {@code null} (not checked through Patroni, or unknown). */
  public static PatroniFlags fromJson(JsonObject json) {
    return json == null ? null
        : new PatroniFlags(json.getBoolean("pause", false), json.getBoolean("cluster_unlocked", false));
  }

  /**
   * One line per flag that changed between two observations of {@code target}, for the decision log, e.g.
   * {@code pg1: Patroni reports pause (maintenance mode: Patroni does not fail over)} ({@code warn}; a flag cleared is
   * {@code info}). Nothing when {@code after} is {@code null} (Patroni did not answer: nothing is known); from
   * {@code null} (not known before, e.g. at start or after the REST API was unreachable), a flag that is set is
   * reported.
   */
  public static List<Action.Alert> changes(String target, PatroniFlags before, PatroniFlags after) {
    List<Action.Alert> out = new ArrayList<>();
    if (after == null) {
      return out;
    }
    boolean pauseBefore = before != null && before.pause;
    boolean unlockedBefore = before != null && before.clusterUnlocked;
    if (after.pause != pauseBefore) {
      out.add(after.pause
          ? new Action.Alert("warn", target + ": Patroni reports pause (maintenance mode: Patroni does not fail over)")
          : new Action.Alert("info", target + ": Patroni reports pause ended (Patroni fails over again)"));
    }
    if (after.clusterUnlocked != unlockedBefore) {
      out.add(after.clusterUnlocked
          ? new Action.Alert("warn", target + ": Patroni reports cluster_unlocked (no member holds the leader lock)")
          : new Action.Alert("info", target + ": Patroni reports the leader lock held again"));
    }
    return out;
  }

  /** {@link #changes} of every target between two snapshots ({@code before} may be {@code null}). */
  static List<Action> changes(Topology before, Topology next) {
    List<Action> out = new ArrayList<>();
    for (TargetStatus t : next.targets()) {
      PatroniFlags old = before == null ? null : before.target(t.name()).map(TargetStatus::patroni).orElse(null);
      out.addAll(changes(t.name(), old, t.patroni()));
    }
    return out;
  }
}
