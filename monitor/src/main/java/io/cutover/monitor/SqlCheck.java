package io.cutover.monitor;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Row;

import java.time.Clock;

/**
 * The {@code sql} check ({@code checks.kind: sql}, the default), done the way a client would reach the server: open a new connection (TCP,
 * startup, authentication with the configured {@code checks.user}/{@code password}/{@code database},
 * {@code application_name=cutover-monitor}, no TLS), run one simple query, close. A server that accepts
 * TCP but cannot start a session or answer a query (starting up, shutting down, out of connection slots,
 * frozen) fails the check.
 *
 * <p>The query reads {@code pg_is_in_recovery()}, the WAL positions needed for lag (primary:
 * {@code pg_current_wal_lsn()}; replica: {@code pg_last_wal_receive_lsn()} and
 * {@code pg_last_wal_replay_lsn()}), a replica's WAL receiver status ({@code pg_stat_wal_receiver.status}: whether it
 * streams; {@code hidden} when a receiver runs but {@code checks.user} may not see its details — it needs
 * {@code pg_monitor} or {@code pg_read_all_stats}, see {@link Observation#streaming()}) and the timeline (primary: from the current WAL file name; replica:
 * {@code pg_stat_wal_receiver.received_tli}, else the last checkpoint's).
 *
 * <p>The whole check is bounded by {@code checks.timeout} through {@link BoundedSession}: a connection
 * that completes after the deadline is closed at once, and the session's {@code statement_timeout} is the
 * same limit.
 */
public final class SqlCheck implements Check {

  /** The check query; one round trip with the simple query protocol. */
  public static final String QUERY = """
      select pg_is_in_recovery() as in_recovery,
             case when pg_is_in_recovery() then null else pg_current_wal_lsn()::text end as current_lsn,
             pg_last_wal_receive_lsn()::text as receive_lsn,
             pg_last_wal_replay_lsn()::text as replay_lsn,
             (select coalesce(status, case when pid is not null then 'hidden' end) from pg_stat_wal_receiver)
               as receiver_status,
             case when pg_is_in_recovery()
                  then coalesce((select received_tli from pg_stat_wal_receiver),
                                (select timeline_id from pg_control_checkpoint()))
                  else ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int
             end as timeline""";

  private final Vertx vertx;
  private final CheckOptions options;
  private final Clock clock;

  public SqlCheck(Vertx vertx, CheckOptions options, Clock clock) {
    this.vertx = vertx;
    this.options = options;
    this.clock = clock;
  }

  /**
   * Checks one target. The returned future always succeeds: a failed check is an {@link Observation}
   * with a {@link FailureKind}, never a failed future.
   */
  @Override
  public Future<Observation> check(Target target) {
    long started = System.nanoTime();
    long timeoutMs = options.getTimeout().toMillis();
    PgConnectOptions connect = options.connectOptions(target.host(), target.port(), "cutover-monitor");
    Deadline deadline = Deadline.in(options.getTimeout(), "checks.timeout");
    return BoundedSession.run(vertx, connect, deadline, "check of " + target.name(),
            conn -> conn.query(QUERY).execute().map(rows -> observe(target, started, rows.iterator().next())))
        .otherwise(err -> OperationFailedException.isDeadline(err)
            ? failed(target, started, FailureKind.TIMEOUT, "no answer within " + timeoutMs + " ms")
            : failed(target, started, classify(err), Errors.describe(err.getCause() == null ? err : err.getCause())));
  }

  private Observation observe(Target target, long started, Row row) {
    long latency = millisSince(started);
    long timeline = row.getValue("timeline") == null ? -1 : row.getInteger("timeline");
    if (Boolean.TRUE.equals(row.getBoolean("in_recovery"))) {
      return Observation.replica(target.name(), clock.millis(), latency, timeline,
          Lsn.parse(row.getString("receive_lsn")), Lsn.parse(row.getString("replay_lsn")), row.getString("receiver_status"));
    }
    return Observation.primary(target.name(), clock.millis(), latency, timeline, Lsn.parse(row.getString("current_lsn")));
  }

  private Observation failed(Target target, long started, FailureKind kind, String error) {
    return Observation.failed(target.name(), clock.millis(), millisSince(started), kind, error);
  }

  private static long millisSince(long startedNanos) {
    return (System.nanoTime() - startedNanos) / 1_000_000;
  }

  static FailureKind classify(Throwable err) {
    return Errors.failureKind(err);
  }

}
