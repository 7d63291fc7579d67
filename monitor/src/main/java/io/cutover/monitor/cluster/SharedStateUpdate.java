package io.cutover.monitor.cluster;

import com.hazelcast.map.EntryProcessor;
import io.vertx.core.json.JsonObject;

import java.io.Serial;
import java.util.Map;

/**
 * One atomic update of an entry of the cluster's shared state map ({@value SharedState#STATE}), run by
 * Hazelcast on the entry's owner. Values are JSON objects encoded as strings; the processor returns the new
 * value. Like every operation on that map it needs a majority of {@code cluster.size} members (Hazelcast
 * split-brain protection), so the minority side of a partition cannot change the shared state.
 */
final class SharedStateUpdate implements EntryProcessor<String, String, String> {

  @Serial
  private static final long serialVersionUID = 1L;

  /** What the update does. */
  enum Mode {
    /** The value becomes {@code json}. */
    REPLACE,
    /** Each field of {@code json} is set in the value; a {@code null} field is removed. */
    MERGE,
    /**
     * The value becomes {@code json} with {@code "version"} = 1 + the larger of the stored version and
     * {@code floor}: the cluster's decisions are numbered strictly increasing (the fencing token).
     */
    ADVANCE
  }

  private final Mode mode;
  private final String json;
  private final long floor;

  SharedStateUpdate(Mode mode, JsonObject json, long floor) {
    this.mode = mode;
    this.json = json.encode();
    this.floor = floor;
  }

  @Override
  public String process(Map.Entry<String, String> entry) {
    JsonObject stored = entry.getValue() == null ? new JsonObject() : new JsonObject(entry.getValue());
    JsonObject update = new JsonObject(json);
    JsonObject next = switch (mode) {
      case REPLACE -> update;
      case MERGE -> {
        update.forEach(f -> {
          if (f.getValue() == null) {
            stored.remove(f.getKey());
          } else {
            stored.put(f.getKey(), f.getValue());
          }
        });
        yield stored;
      }
      case ADVANCE -> update.put("version", Math.max(stored.getLong("version", 0L), floor) + 1);
    };
    String encoded = next.encode();
    entry.setValue(encoded);
    return encoded;
  }
}
