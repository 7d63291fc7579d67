package io.cutover.monitor;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * An immutable snapshot of the PostgreSQL cluster as the monitor sees it. The data plane routes
 * every new session from the newest snapshot it has; a newer {@link #version()} always wins.
 *
 * <p>JSON shape (event bus address {@value #ADDRESS}):
 * <pre>{@code
 * {"version": 7, "at": "2026-12-03T07:31:05.123Z", "primary": "pg1", "readable": ["pg2","pg3"],
 *  "write_reason": null, "read_reason": null,
 *  "targets": [{"name":"pg1","host":"127.0.0.1","port":15432,"state":"up","role":"primary",
 *               "health":4,"timeline":1,"lsn":"0/3000060","lag_bytes":0,"readable":false}, ...]}
 * }</pre>
 * {@code at} is ISO-8601 (UTC); per target see {@link TargetStatus#toJson()}.
 *
 * @param version     monotonically increasing snapshot number (the fencing token in later rules)
 * @param atMillis    when the snapshot was built, epoch milliseconds
 * @param targets     every configured target, in configuration order
 * @param primary     the name of the routable primary, or {@code null} when writes cannot be routed
 * @param readable    names of replicas the read endpoint may use, in configuration order
 * @param writeReason why there is no routable primary ({@code null} when there is one)
 * @param readReason  why no replica is readable ({@code null} when one is)
 * @param cutover     non-null while a failover or switchover is in flight (new write sessions wait for the
 *                    new primary); says what is happening
 * @param failoverPaused why no automatic failover can come now (maintenance mode, {@code mode: manual}), else
 *                    {@code null}; new write sessions are then refused at once rather than held
 * @param maintenance whether maintenance mode is on
 * @param promoting   the node a failover or switchover in flight is promoting (out of the read pool, its read
 *                    sessions end), or {@code null}
 */
public record Topology(long version, long atMillis, List<TargetStatus> targets, String primary,
                       List<String> readable, String writeReason, String readReason, String cutover,
                       String failoverPaused, boolean maintenance, String promoting) {

  /** Event bus address on which every new snapshot is published as JSON. */
  public static final String ADDRESS = "cutover.topology";
  /** Event bus address answering a request (any body) with the current snapshot as JSON. */
  public static final String CURRENT_ADDRESS = "cutover.topology.current";

  public Topology {
    targets = List.copyOf(targets);
    readable = List.copyOf(readable);
  }

  /** The snapshot before any check completed: nothing routable. */
  public static Topology initial(List<Target> targets, long atMillis) {
    List<TargetStatus> statuses = targets.stream()
        .map(t -> new TargetStatus(t, TargetState.UNKNOWN, -1, Role.UNKNOWN, -1, -1, -1, -1, false, null, false, null, false, -1,
            null, false, "no check has completed yet", null))
        .toList();
    return new Topology(0, atMillis, statuses, null, List.of(), "no check has completed yet",
        "no check has completed yet", null, null, false, null);
  }

  public Optional<TargetStatus> target(String name) {
    return targets.stream().filter(t -> t.name().equals(name)).findFirst();
  }

  /** The primary's status, if one is routable. */
  public Optional<TargetStatus> primaryStatus() {
    return primary == null ? Optional.empty() : target(primary);
  }

  /** Same content apart from {@link #version()} and {@link #atMillis()}. */
  public boolean sameContent(Topology other) {
    return other != null && targets.equals(other.targets) && Objects.equals(primary, other.primary)
        && readable.equals(other.readable) && Objects.equals(writeReason, other.writeReason)
        && Objects.equals(readReason, other.readReason) && Objects.equals(cutover, other.cutover)
        && Objects.equals(failoverPaused, other.failoverPaused) && maintenance == other.maintenance
        && Objects.equals(promoting, other.promoting);
  }

  /** Same routing (states, roles, primary, readable set) — what is worth a log line. */
  public boolean sameRouting(Topology other) {
    if (other == null || !Objects.equals(primary, other.primary) || !readable.equals(other.readable)
        || !Objects.equals(cutover, other.cutover) || targets.size() != other.targets.size()) {
      return false;
    }
    for (int i = 0; i < targets.size(); i++) {
      TargetStatus a = targets.get(i);
      TargetStatus b = other.targets.get(i);
      if (!a.target().equals(b.target()) || a.state() != b.state() || a.role() != b.role() || a.fenced() != b.fenced()
          || a.drained() != b.drained()) {
        return false;
      }
    }
    return true;
  }

  public JsonObject toJson() {
    JsonArray list = new JsonArray();
    targets.forEach(t -> list.add(t.toJson()));
    return new JsonObject()
        .put("version", version)
        .put("at", java.time.Instant.ofEpochMilli(atMillis).toString())
        .put("primary", primary)
        .put("readable", new JsonArray(readable))
        .put("write_reason", writeReason)
        .put("read_reason", readReason)
        .put("cutover", cutover)
        .put("failover_paused", failoverPaused)
        .put("maintenance", maintenance)
        .put("promoting", promoting)
        .put("targets", list);
  }

  public static Topology fromJson(JsonObject json) {
    List<TargetStatus> statuses = json.getJsonArray("targets").stream()
        .map(o -> TargetStatus.fromJson((JsonObject) o)).toList();
    List<String> readable = json.getJsonArray("readable").stream().map(String.class::cast).toList();
    return new Topology(json.getLong("version"),
        java.time.Instant.parse(json.getString("at")).toEpochMilli(), statuses, json.getString("primary"),
        readable, json.getString("write_reason"), json.getString("read_reason"), json.getString("cutover"),
        json.getString("failover_paused"), json.getBoolean("maintenance", false), json.getString("promoting"));
  }

  /** One-line summary for logs: {@code v7 primary=pg1 readable=[pg2, pg3] pg1=up/primary ...}. */
  public String summary() {
    StringBuilder sb = new StringBuilder("v").append(version)
        .append(" primary=").append(primary == null ? "none" : primary)
        .append(" readable=").append(readable);
    for (TargetStatus t : targets) {
      sb.append(' ').append(t.name()).append('=').append(t.state().label()).append('/').append(t.role().label());
      if (t.fenced()) {
        sb.append("/fenced");
      }
      if (t.drained()) {
        sb.append("/drained");
      }
    }
    if (cutover != null) {
      sb.append(" cutover=\"").append(cutover).append('"');
    }
    if (writeReason != null) {
      sb.append(" write_reason=\"").append(writeReason).append('"');
    }
    if (readReason != null) {
      sb.append(" read_reason=\"").append(readReason).append('"');
    }
    return sb.toString();
  }
}
