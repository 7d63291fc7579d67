package io.cutover.monitor;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * The incidents {@link MonitorVerticle#INCIDENTS_ADDRESS} answers with, oldest first: earlier runs' (read back from
 * {@code history.dir}) as many as {@code incidents_kept} leaves room for, this run's closed ones, the open one.
 * Earlier runs' incidents pushed out by newer ones are dropped for good. Not thread-safe: the monitor's context.
 */
final class IncidentListing {

  private final List<JsonObject> restored;
  private final int kept;

  /**
   * @param restored earlier runs' incidents as JSON, oldest first
   * @param kept     {@code incidents_kept}
   */
  IncidentListing(List<JsonObject> restored, int kept) {
    this.restored = new ArrayList<>(restored);
    this.kept = kept;
  }

  /** Replaces the earlier runs' incidents with {@code again}, read once more (oldest first). */
  void restore(List<JsonObject> again) {
    restored.clear();
    restored.addAll(again);
  }

  /** The id this run's first incident gets: above every restored one, or {@code -1} when none was restored. */
  long firstId() {
    return restored.stream().mapToLong(i -> i.getLong("id", 0L)).max().orElse(-2) + 1;
  }

  JsonArray list(List<Incident> closed, Incident open) {
    JsonArray out = new JsonArray();
    int room = Math.max(0, kept - closed.size());
    if (restored.size() > room) {
      restored.subList(0, restored.size() - room).clear(); // pushed out by newer ones: never shown again
    }
    restored.forEach(out::add);
    closed.forEach(i -> out.add(i.toJson()));
    if (open != null) {
      out.add(open.toJson());
    }
    return out;
  }
}
