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
 */
public record TargetStatus(Target target, TargetState state, int health, Role role, long timeline, long positionLsn,
                           long receiveLsn, long lagBytes, boolean readable, String lastError, boolean fenced, String hold,
                           boolean drained, long drainCloseAt) {

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

  public JsonObject toJson() {
    JsonObject json = target.toJson()
        .put("state", state.label())
        .put("health", health)
        .put("role", role.label())
        .put("timeline", timeline)
        .put("lsn", Lsn.format(positionLsn))
        .put("receive_lsn", Lsn.format(receiveLsn))
        .put("lag_bytes", lagBytes)
        .put("readable", readable);
    if (lastError != null) {
      json.put("last_error", lastError);
    }
    json.put("fenced", fenced).put("drained", drained);
    if (drainCloseAt >= 0) {
      json.put("drain_close_at", drainCloseAt);
    }
    if (hold != null) {
      json.put("hold", hold);
    }
    return json;
  }

  public static TargetStatus fromJson(JsonObject json) {
    String lsn = json.getString("lsn");
    return new TargetStatus(Target.fromJson(json),
        TargetState.valueOf(json.getString("state").toUpperCase(java.util.Locale.ROOT)),
        json.getInteger("health", -1),
        Role.fromLabel(json.getString("role")),
        json.getLong("timeline", -1L),
        lsn == null ? -1 : Lsn.parse(lsn),
        json.getString("receive_lsn") == null ? -1 : Lsn.parse(json.getString("receive_lsn")),
        json.getLong("lag_bytes", -1L),
        json.getBoolean("readable", false),
        json.getString("last_error"),
        json.getBoolean("fenced", false),
        json.getString("hold"),
        json.getBoolean("drained", false),
        json.getLong("drain_close_at", -1L));
  }
}
