package io.cutover.monitor;

import io.vertx.core.json.JsonObject;

/**
 * One target as seen in a {@link Topology} snapshot.
 *
 * @param target      the configured server
 * @param state       hysteresis verdict
 * @param health      the fall/rise counter, {@code 0 .. rise+fall-1} ({@code -1} if not tracked): UP while it is
 *                    at least {@code rise}; below its maximum while the target is changing state
 * @param role        role at the last successful check ({@link Role#UNKNOWN} before any)
 * @param timeline    timeline id at the last successful check, {@code -1} if unknown
 * @param positionLsn WAL position at the last successful check in bytes (primary: current LSN,
 *                    replica: replay LSN), {@code -1} if unknown
 * @param receiveLsn  replica only: WAL received at the last successful check ({@code pg_last_wal_receive_lsn()}) in
 *                    bytes, what it will have replayed once promoted; {@code -1} if unknown or not a replica
 * @param lagBytes    replay lag in bytes of WAL (replica only: primary's current LSN minus this replica's
 *                    replay LSN, or receive minus replay LSN when no primary is known), {@code 0} for the
 *                    primary, {@code -1} if unknown
 * @param readable    whether the read endpoint may route new sessions here
 * @param lastError   the last failed check's message while the last check failed, else {@code null}
 * @param fenced      never routed: an old primary after a cutover, or a second node claiming primary
 * @param hold        why this UP replica is kept out of the read pool (failback delay), else {@code null}
 * @param drained     an operator drained it: no new sessions are routed here
 * @param drainCloseAt when the proxies close its remaining sessions (epoch milliseconds), {@code -1} for never
 * @param receiver    replica only: its WAL receiver's status at the last successful check
 *                    ({@code pg_stat_wal_receiver.status}, e.g. {@code streaming}), {@code null} when none runs
 * @param following   replica only: it follows the current primary — on the primary's timeline and streaming (or its
 *                    received WAL advancing); without a routed primary, on the newest timeline seen. A replica that
 *                    does not follow is never readable ({@link TopologyRules})
 * @param readReason  why this target is not in the read pool ({@code null} when it is, and for a primary)
 * @param patroni     what Patroni reported about its cluster at the last check that reached Patroni
 *                    ({@code checks.kind: patroni}); {@code null} for other kinds, and while Patroni does not answer
 */
public record TargetStatus(Target target, TargetState state, int health, Role role, long timeline, long positionLsn,
                           long receiveLsn, long lagBytes, boolean readable, String lastError, boolean fenced, String hold,
                           boolean drained, long drainCloseAt, String receiver, boolean following, String readReason,
                           PatroniFlags patroni) {

  public String name() {
    return target.name();
  }

  /**
   * The WAL this node will have once promoted, in bytes: a replica's received LSN when known (it replays all
   * of it before leaving recovery), else its replay LSN; a primary's current LSN.
   */
  public long promotableLsn() {
    return Math.max(positionLsn, receiveLsn);
  }

  /** UP and its last check succeeded (a target UP by hysteresis may already be failing its checks). */
  public boolean healthyNow() {
    return state == TargetState.UP && lastError == null;
  }

  /**
   * JSON for the admin API and the event bus: unknown numbers are {@code null} (never {@code -1}), LSNs are
   * {@code X/Y} strings, {@code drain_close_at} is ISO-8601; {@code patroni} ({@link PatroniFlags#toJson()}) only
   * when known.
   */
  public JsonObject toJson() {
    JsonObject json = target.toJson()
        .put("state", state.label())
        .put("health", health < 0 ? null : health)
        .put("role", role.label())
        .put("timeline", timeline < 0 ? null : timeline)
        .put("lsn", Lsn.format(positionLsn))
        .put("receive_lsn", Lsn.format(receiveLsn))
        .put("lag_bytes", lagBytes < 0 ? null : lagBytes)
        .put("readable", readable);
    if (readReason != null) {
      json.put("read_reason", readReason);
    }
    if (role == Role.REPLICA) {
      json.put("replication", receiver).put("following", following);
    }
    if (lastError != null) {
      json.put("last_error", lastError);
    }
    json.put("fenced", fenced).put("drained", drained);
    if (drainCloseAt >= 0) {
      json.put("drain_close_at", java.time.Instant.ofEpochMilli(drainCloseAt).toString());
    }
    if (hold != null) {
      json.put("hold", hold);
    }
    if (patroni != null) {
      json.put("patroni", patroni.toJson());
    }
    return json;
  }

  public static TargetStatus fromJson(JsonObject json) {
    String lsn = json.getString("lsn");
    return new TargetStatus(Target.fromJson(json),
        TargetState.valueOf(json.getString("state").toUpperCase(java.util.Locale.ROOT)),
        orMinusOne(json.getInteger("health")),
        Role.fromLabel(json.getString("role")),
        orMinusOne(json.getLong("timeline")),
        lsn == null ? -1 : Lsn.parse(lsn),
        json.getString("receive_lsn") == null ? -1 : Lsn.parse(json.getString("receive_lsn")),
        orMinusOne(json.getLong("lag_bytes")),
        json.getBoolean("readable", false),
        json.getString("last_error"),
        json.getBoolean("fenced", false),
        json.getString("hold"),
        json.getBoolean("drained", false),
        json.getString("drain_close_at") == null ? -1 : java.time.Instant.parse(json.getString("drain_close_at")).toEpochMilli(),
        json.getString("replication"),
        json.getBoolean("following", false),
        json.getString("read_reason"),
        PatroniFlags.fromJson(json.getJsonObject("patroni")));
  }

  private static int orMinusOne(Integer v) {
    return v == null ? -1 : v;
  }

  private static long orMinusOne(Long v) {
    return v == null ? -1 : v;
  }
}
