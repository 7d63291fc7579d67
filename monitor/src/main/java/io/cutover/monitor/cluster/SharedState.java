package io.cutover.monitor.cluster;

import com.hazelcast.config.Config;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.SplitBrainProtectionConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Clustered Cutover's shared state: Hazelcast maps of JSON strings, all under Hazelcast split-brain
 * protection ({@link #configure}), so that on a side of a partition with fewer than a majority of
 * {@code cluster.size} members every read and write fails with {@code SplitBrainProtectionException}.
 * <ul>
 *   <li>{@value #STATE}: the latest cutover decision ({@code decision}, its {@code version} the fencing
 *       token), maintenance mode ({@code maintenance}) and drained targets ({@code drained});</li>
 *   <li>{@value #INCIDENTS}: the leaders' incident records; {@value #AUDIT}: every instance's audit entries —
 *       both keyed so that keys sort by time, the newest N kept.</li>
 * </ul>
 * Every call completes on the caller's Vert.x context; a call with no answer within
 * {@value #ANSWER_MILLIS} ms fails.
 */
public final class SharedState {

  private static final Logger LOG = LoggerFactory.getLogger(SharedState.class);

  /** Hazelcast map of the shared state: keys {@code decision}, {@code maintenance}, {@code drained}. */
  public static final String STATE = "cutover.state";
  /** Hazelcast map of the leaders' incident records (JSON), keyed so that keys sort by opening time. */
  public static final String INCIDENTS = "cutover.incidents";
  /** Hazelcast map of every instance's audit entries (JSON), keyed so that keys sort by time. */
  public static final String AUDIT = "cutover.audit";
  /** Name of the split-brain protection rule Cutover attaches to its maps ({@code cutover.*}). */
  public static final String SPLIT_BRAIN_PROTECTION = "cutover-majority";
  /**
   * How long a call may take, in milliseconds: longer than {@code hazelcast.max.no.heartbeat.seconds} (5 s),
   * so that a write begun just before a partition fails with the split-brain protection's answer once the
   * other side is removed, rather than with this timeout.
   */
  static final long ANSWER_MILLIS = 8000;

  private final Vertx vertx;
  private final HazelcastInstance hz;
  private final IMap<String, String> state;
  /**
   * Keys in {@value #INCIDENTS} of this member's newest incidents, by incident id (open ones, and closed ones whose RPO
   * may still be measured), at most the records kept.
   */
  private final java.util.concurrent.ConcurrentSkipListMap<Long, String> incidentKeys =
      new java.util.concurrent.ConcurrentSkipListMap<>();
  private final AtomicLong auditSeq = new AtomicLong();

  SharedState(Vertx vertx, HazelcastInstance hz) {
    this.vertx = vertx;
    this.hz = hz;
    this.state = hz.getMap(STATE);
  }

  /**
   * Attaches Hazelcast split-brain protection to Cutover's maps ({@code cutover.*}): every operation on them
   * needs {@code size / 2 + 1} members in the cluster as this member sees it, else it fails with
   * {@code SplitBrainProtectionException}. Backups: {@code size - 1} (at most 6), so the state survives the
   * loss of any minority.
   *
   * @param size {@code cluster.size}
   */
  public static void configure(Config hz, int size) {
    hz.addSplitBrainProtectionConfig(new SplitBrainProtectionConfig(SPLIT_BRAIN_PROTECTION, true, size / 2 + 1));
    hz.addMapConfig(new MapConfig("cutover.*").setSplitBrainProtectionName(SPLIT_BRAIN_PROTECTION)
        .setBackupCount(Math.max(0, Math.min(6, size - 1))));
  }

  /** The values of {@code keys} in {@value #STATE} that exist. */
  Future<Map<String, JsonObject>> read(List<String> keys) {
    Map<String, JsonObject> out = new ConcurrentHashMap<>();
    List<Future<?>> reads = new ArrayList<>();
    for (String k : keys) {
      reads.add(bounded(Future.fromCompletionStage(state.getAsync(k), vertx.getOrCreateContext()))
          .onSuccess(v -> {
            if (v != null) {
              out.put(k, new JsonObject(v));
            }
          }));
    }
    return Future.all(reads).map(out);
  }

  /** One atomic update of {@code key} in {@value #STATE} (see {@link SharedStateUpdate}); the new value. */
  Future<JsonObject> update(String key, SharedStateUpdate.Mode mode, JsonObject json, long floor) {
    return bounded(Future.fromCompletionStage(state.submitToKey(key, new SharedStateUpdate(mode, json, floor)),
        vertx.getOrCreateContext())).map(JsonObject::new);
  }

  /**
   * Keeps an incident record in {@value #INCIDENTS} under one key per incident, from the time it was first recorded,
   * so that the closing record, and an update after the fact (its RPO measured), replace the earlier ones.
   *
   * @param member  this member's UUID; {@code address} its address, added as {@code recorded_by}
   */
  void keepIncident(JsonObject incident, String member, String address, int kept) {
    long id = incident.getLong("id", 0L);
    String key = incidentKeys.computeIfAbsent(id, i -> key(Instant.now().toString(), member, i));
    while (incidentKeys.size() > Math.max(1, kept)) {
      incidentKeys.pollFirstEntry();
    }
    append(INCIDENTS, key, incident.copy().put("recorded_by", address), kept);
  }

  /** Keeps an audit entry in {@value #AUDIT}, naming the member ({@code address}) that recorded it. */
  void keepAudit(JsonObject entry, String member, String address, int kept) {
    append(AUDIT, key(entry.getString("at"), member, auditSeq.incrementAndGet()), entry.copy().put("member", address), kept);
  }

  /** Record keys sort by time (ISO-8601 instants), then member and sequence. */
  private static String key(String at, String member, long seq) {
    return String.format(Locale.ROOT, "%s/%s/%06d", at, member, seq);
  }

  /**
   * Keeps {@code value} under {@code key} in {@code map} ({@value #INCIDENTS} or {@value #AUDIT}) and trims
   * the map to its newest {@code kept} entries; a failure is logged (the entry stays in this instance's log).
   */
  private void append(String map, String key, JsonObject value, int kept) {
    IMap<String, String> records = hz.getMap(map);
    bounded(Future.fromCompletionStage(records.setAsync(key, value.encode()), vertx.getOrCreateContext()))
        .compose(v -> vertx.executeBlocking(() -> {
          List<String> keys = new ArrayList<>(records.keySet());
          if (keys.size() > kept) {
            keys.sort(null);
            keys.subList(0, keys.size() - kept).forEach(records::delete);
          }
          return null;
        }, false))
        .onFailure(err -> LOG.warn("cannot keep {} in the shared {} ({}); it stays in this instance's log", key, map,
            err.getMessage()));
  }

  /**
   * The records of {@code map} ({@value #INCIDENTS} or {@value #AUDIT}), oldest first; a failed future when
   * they cannot be read (e.g. on the minority side of a partition).
   */
  public Future<JsonArray> records(String map) {
    IMap<String, String> records = hz.getMap(map);
    return bounded(vertx.executeBlocking(() -> {
      List<Map.Entry<String, String>> all = new ArrayList<>(records.entrySet());
      all.sort(Map.Entry.comparingByKey());
      JsonArray out = new JsonArray();
      all.forEach(e -> out.add(new JsonObject(e.getValue())));
      return out;
    }, false));
  }

  /** {@code f}, failed after {@value #ANSWER_MILLIS} ms without an answer; failures name their root cause. */
  private <T> Future<T> bounded(Future<T> f) {
    Promise<T> p = Promise.promise();
    long timer = vertx.setTimer(ANSWER_MILLIS, id -> p.tryFail("no answer from the cluster within " + ANSWER_MILLIS + " ms"));
    f.onComplete(ar -> {
      vertx.cancelTimer(timer);
      if (ar.succeeded()) {
        p.tryComplete(ar.result());
      } else {
        p.tryFail(rootCause(ar.cause()));
      }
    });
    return p.future();
  }

  private static String rootCause(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getClass().getSimpleName() + ": " + root.getMessage();
  }
}
