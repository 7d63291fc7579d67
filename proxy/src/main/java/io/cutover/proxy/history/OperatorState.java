package io.cutover.proxy.history;

import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An operator's standing commands, as the audit log read back from {@code history.dir} left them: maintenance mode
 * and drained targets. A restart or a takeover restores them, so that a Cutover restarted (or upgraded) during a
 * maintenance window does not fail over on its own, and a drained replica gets no new session — as HAProxy keeps
 * its servers' administrative states across a reload ({@code server-state-file}). Pure: the newest accepted entry
 * (status 200) of each command counts; refused ones are ignored.
 *
 * @param maintenance the entry that turned maintenance mode on, or {@code null} when it is off
 * @param drained     per drained target, the entry that drained it (configuration's targets only), oldest first
 */
public record OperatorState(JsonObject maintenance, Map<String, JsonObject> drained) {

  /** From {@code audit} (oldest first, as {@link History#restoredAudit()}); targets not in {@code targets} are skipped. */
  public static OperatorState from(List<JsonObject> audit, Set<String> targets) {
    JsonObject maintenance = null;
    Map<String, JsonObject> drained = new LinkedHashMap<>();
    for (JsonObject e : audit) {
      if (e.getInteger("status", 0) != 200 || !(e.getValue("arguments") instanceof JsonObject args)) {
        continue;
      }
      String target = args.getValue("target") instanceof String s && targets.contains(s) ? s : null;
      switch (String.valueOf(e.getValue("action"))) {
        case "maintenance" -> maintenance = Boolean.TRUE.equals(args.getValue("enabled")) ? e : null;
        case "drain" -> {
          if (target != null) {
            drained.remove(target);
            drained.put(target, e);
          }
        }
        case "enable" -> {
          if (target != null) {
            drained.remove(target);
          }
        }
        default -> { }
      }
    }
    return new OperatorState(maintenance, drained);
  }

  /** Whether there is anything to restore. */
  public boolean any() {
    return maintenance != null || !drained.isEmpty();
  }

  /** The drained targets, oldest first. */
  public List<String> drainedTargets() {
    return new ArrayList<>(drained.keySet());
  }
}
