package io.cutover.monitor;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The I/O-free part of {@link Presence}: which rows of the marker table {@value Presence#TABLE} are another
 * Cutover acting on the same servers right now ({@link #active}), and which of them appeared or disappeared
 * since the last read ({@link #update}), so that each is warned about once. Not thread-safe; one owner.
 */
public final class OtherCutovers {

  /** A row is fresh while its {@code seen_at} is less than this many of its own heartbeats old. */
  public static final int STALE_HEARTBEATS = 3;

  /**
   * One row of the marker table: one Cutover instance.
   *
   * @param id              random instance id (12 hex digits), unique per start
   * @param cluster         the Hazelcast cluster name when the instance runs clustered, else {@code null}
   * @param host            host name of the machine it runs on
   * @param http            its HTTP listener, {@code host:port}, or {@code null}
   * @param pid             its process id, or {@code -1} when unknown
   * @param heartbeatMillis how often it refreshes {@code seenAt}, milliseconds; {@code <= 0} when unknown
   *                        (then {@link Presence#DEFAULT_HEARTBEAT} is assumed)
   * @param startedAt       when it first wrote the row (server time), or {@code null}
   * @param seenAt          when it last refreshed the row (server time), or {@code null} (such a row is ignored)
   */
  public record Instance(String id, String cluster, String host, String http, long pid, long heartbeatMillis,
                         Instant startedAt, Instant seenAt) {

    /** How long after {@code seenAt} the row stops counting: {@value #STALE_HEARTBEATS} of its heartbeats. */
    public Duration staleAfter() {
      long beat = heartbeatMillis > 0 ? heartbeatMillis : Presence.DEFAULT_HEARTBEAT.toMillis();
      return Duration.ofMillis(STALE_HEARTBEATS * beat);
    }

    /** Fresh at {@code now}: {@code seenAt} is later than {@code now - staleAfter()} (a future one counts). */
    public boolean freshAt(Instant now) {
      return seenAt != null && seenAt.isAfter(now.minus(staleAfter()));
    }

    /**
     * For logs and messages, e.g. {@code cutover 1a2b3c4d5e6f (host db-proxy-1, pid 4242, HTTP
     * 127.0.0.1:9432, unclustered, last seen 2024-05-01T10:00:00Z)}.
     */
    public String describe() {
      return "cutover " + id + " (host " + host + ", pid " + (pid < 0 ? "?" : pid) + ", HTTP "
          + (http == null ? "?" : http) + ", " + (cluster == null ? "unclustered" : "cluster " + cluster)
          + ", last seen " + seenAt + ")";
    }

    /**
     * {@code {"id", "cluster", "host", "http", "pid", "heartbeat_ms", "started_at", "seen_at"}}; times as
     * ISO-8601 strings, {@code cluster} null when unclustered.
     */
    public JsonObject toJson() {
      return new JsonObject().put("id", id).put("cluster", cluster).put("host", host).put("http", http)
          .put("pid", pid).put("heartbeat_ms", heartbeatMillis)
          .put("started_at", startedAt == null ? null : startedAt.toString())
          .put("seen_at", seenAt == null ? null : seenAt.toString());
    }
  }

  /**
   * What changed between two reads.
   *
   * @param appeared instances active now that were not before (including one that disappeared and came back)
   * @param gone     instances active before that are not now (row deleted or stale)
   */
  public record Changes(List<Instance> appeared, List<Instance> gone) {
    public boolean isEmpty() {
      return appeared.isEmpty() && gone.isEmpty();
    }
  }

  private Map<String, Instance> current = new LinkedHashMap<>();

  /**
   * The other Cutovers acting on the same servers: rows that are fresh at {@code now} ({@link Instance#freshAt}),
   * have an id, are not {@code myId}, and — when I run clustered — belong to another cluster or to none
   * (members of my own cluster are not "another Cutover"). An unclustered instance counts every other row.
   * When several rows carry the same id (read from several servers), the one seen last wins.
   *
   * @param rows      the table's rows, in any order
   * @param myId      my instance id, or {@code null} when the reader is no Cutover (the drill's pre-flight)
   * @param myCluster my cluster name when clustered, else {@code null}
   * @param now       the reading server's {@code now()} (so no two machines' clocks are compared)
   * @return the active others, sorted by id
   */
  public static List<Instance> active(List<Instance> rows, String myId, String myCluster, Instant now) {
    Objects.requireNonNull(now, "now");
    Map<String, Instance> byId = new TreeMap<>();
    for (Instance row : rows) {
      if (row.id() == null || row.id().isBlank() || row.id().equals(myId) || !row.freshAt(now)
          || myCluster != null && myCluster.equals(row.cluster())) {
        continue;
      }
      byId.merge(row.id(), row, (a, b) -> b.seenAt().isAfter(a.seenAt()) ? b : a);
    }
    return new ArrayList<>(byId.values());
  }

  /**
   * Replaces the known active others with {@code active} (as computed by {@link #active}) and says who is new
   * and who is gone; an instance already known is neither, though its row (e.g. {@code seen_at}) is updated.
   */
  public Changes update(List<Instance> active) {
    Map<String, Instance> next = new LinkedHashMap<>();
    active.stream().sorted(Comparator.comparing(Instance::id)).forEach(i -> next.put(i.id(), i));
    List<Instance> appeared = next.values().stream().filter(i -> !current.containsKey(i.id())).toList();
    List<Instance> gone = current.values().stream().filter(i -> !next.containsKey(i.id())).toList();
    current = next;
    return new Changes(appeared, gone);
  }

  /** The active others as of the last {@link #update}, sorted by id. */
  public List<Instance> current() {
    return List.copyOf(current.values());
  }

  /** {@link #current()} as a JSON array of {@link Instance#toJson()}. */
  public JsonArray toJson() {
    JsonArray out = new JsonArray();
    current.values().forEach(i -> out.add(i.toJson()));
    return out;
  }
}
