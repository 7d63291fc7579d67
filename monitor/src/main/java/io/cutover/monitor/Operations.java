package io.cutover.monitor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What operators set by hand: maintenance mode (automatic failover paused; checks and routing go on) and
 * drained targets (no new sessions; optionally their remaining sessions closed after a grace period).
 */
final class Operations {

  private Set<String> targets;
  private boolean maintenance;
  private String maintenanceReason;
  private final Map<String, Long> drained = new LinkedHashMap<>();

  Operations(Set<String> targets) {
    this.targets = Set.copyOf(targets);
  }

  boolean maintenance() {
    return maintenance;
  }

  String maintenanceReason() {
    return maintenanceReason;
  }

  /** Drained targets and when their remaining sessions are closed (epoch ms, {@code -1} for never). */
  Map<String, Long> drained() {
    return drained;
  }

  List<Action> setMaintenance(boolean enabled, String reason) {
    maintenance = enabled;
    maintenanceReason = enabled ? reason : null;
    return List.of(new Action.Alert("warn", enabled ? "maintenance mode on: automatic failover paused"
        + (reason == null || reason.isBlank() ? "" : " (" + reason + ")") : "maintenance mode off: automatic failover resumed"));
  }

  /** @throws IllegalArgumentException for an unknown target */
  List<Action> drain(String target, long closeAfterMillis, long now) {
    require(target);
    drained.put(target, closeAfterMillis < 0 ? -1L : now + closeAfterMillis);
    return List.of(new Action.Alert("warn", target + " drained: no new sessions"
        + (closeAfterMillis < 0 ? "" : "; remaining sessions closed in " + closeAfterMillis + " ms")));
  }

  /** @throws IllegalArgumentException for an unknown target */
  List<Action> enable(String target) {
    require(target);
    return drained.remove(target) == null ? List.of() : List.of(new Action.Alert("info", target + " enabled: routed again"));
  }

  /** A reload: {@code names} are the targets now; drains of targets no longer configured are forgotten. */
  void retain(Set<String> names) {
    targets = Set.copyOf(names);
    drained.keySet().retainAll(targets);
  }

  /** @throws IllegalArgumentException for an unknown (or null) target */
  void require(String target) {
    if (target == null || !targets.contains(target)) {
      throw new IllegalArgumentException("unknown target " + target);
    }
  }
}
