package io.cutover.monitor;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The I/O behind the failover state machine's actions, each over a short-lived connection made with
 * the check credentials ({@code checks.user}/{@code password}/{@code database}). Non-blocking except the
 * hook commands, which run on a worker thread with a timeout.
 *
 * <p><b>Bounded I/O.</b> Every session goes through {@link BoundedSession}: the whole operation has a
 * deadline, each session carries {@code statement_timeout} (a little less than the time left to that
 * deadline, sent in the startup packet) so the server cancels a statement before its caller gives up, and a connection
 * that completes after the deadline is closed at once. Every failure is a failed future (or, for
 * {@link #switchover}, a result with {@code ok = false}) whose message says what was attempted, against
 * which target and, when a deadline passed, which one in milliseconds
 * ({@link OperationFailedException}, returned as it is by {@link Errors#describe(Throwable)}). The limits:
 *
 * <ul>
 *   <li>{@link #promote}: {@code failover.promote_timeout} (default 10 s);
 *   {@code pg_promote(wait_seconds => n)} with {@code n} a whole second or more below it.</li>
 *   <li>{@link #repoint}, restoring read-write after a failed switchover, and each write-probe attempt and
 *   replay poll: the step limit {@link #stepTimeout()}, {@value #STEP_TIMEOUT_CHECKS} × {@code checks.timeout}
 *   but at least {@link #MIN_STEP_TIMEOUT} (5 s with the defaults): enough for two connections and four
 *   statements, each of which a healthy server answers within one check's time.</li>
 *   <li>{@link #probeWrite}: the caller's deadline overall.</li>
 *   <li>{@link #readRpo}: the step limit, for both of its sessions together.</li>
 *   <li>{@link #switchover}: making the old primary read-only and waiting for the candidate's replay share
 *   {@code failover.switchover_timeout}; the promotion then has its own {@code promote_timeout}.</li>
 * </ul>
 */
public final class FailoverExecutor {

  private static final Logger LOG = LoggerFactory.getLogger(FailoverExecutor.class);

  /** The step limit is this many {@code checks.timeout}. */
  public static final int STEP_TIMEOUT_CHECKS = 5;
  /** The step limit is never below 1 s (an {@code ALTER SYSTEM} writes and syncs a file). */
  public static final Duration MIN_STEP_TIMEOUT = Duration.ofSeconds(1);
  /** Pause between two write-probe attempts or replay polls, in milliseconds. */
  static final long RETRY_MS = 50;

  private final Vertx vertx;
  private final CheckOptions checks;
  private final FailoverOptions options;

  public FailoverExecutor(Vertx vertx, CheckOptions checks, FailoverOptions options) {
    this.vertx = vertx;
    this.checks = checks;
    this.options = options;
  }

  /**
   * The limit of one step that is not a promotion (a repoint, restoring read-write, a write-probe attempt,
   * a replay poll): {@value #STEP_TIMEOUT_CHECKS} × {@code checks.timeout}, at least {@link #MIN_STEP_TIMEOUT}.
   */
  public Duration stepTimeout() {
    Duration d = checks.getTimeout().multipliedBy(STEP_TIMEOUT_CHECKS);
    return d.compareTo(MIN_STEP_TIMEOUT) < 0 ? MIN_STEP_TIMEOUT : d;
  }

  private Deadline stepDeadline() {
    return Deadline.in(stepTimeout(), "the step limit (" + STEP_TIMEOUT_CHECKS + " × checks.timeout, at least "
        + MIN_STEP_TIMEOUT.toMillis() + " ms)");
  }

  /**
   * Runs {@code work} on a new connection to {@code target} and closes it, all within {@code deadline}
   * (see {@link BoundedSession#run}); {@code what} names the operation in errors, the target is appended.
   */
  <T> Future<T> withConnection(Target target, Deadline deadline, String what, Function<PgConnection, Future<T>> work) {
    return withConnection(target.host(), target.port(), deadline, what + " " + label(target), work);
  }

  /** As above, to {@code host:port}; {@code what} is the whole label used in errors. */
  private <T> Future<T> withConnection(String host, int port, Deadline deadline, String what,
                                       Function<PgConnection, Future<T>> work) {
    return BoundedSession.run(vertx, checks.connectOptions(host, port, "cutover-failover"), deadline, what, work);
  }

  /** {@code pg2 (127.0.0.1:5433)}. */
  static String label(Target t) {
    return t.name() + " (" + t.host() + ":" + t.port() + ")";
  }

  private static Future<RowSet<Row>> sql(PgConnection conn, String sql) {
    return conn.query(sql).execute();
  }

  /**
   * Promotes {@code target} within {@code failover.promote_timeout}.
   *
   * @return a future of {@code true} once the server left recovery; failed with an
   *     {@link OperationFailedException} naming the target and the server's error or the deadline
   */
  public Future<Boolean> promote(Target target) {
    return promote(target, Deadline.in(options.getPromoteTimeout(), "failover.promote_timeout"));
  }

  /**
   * Promotes {@code target} ({@code pg_promote(wait => true, wait_seconds => n)}) by {@code deadline}: {@code n}
   * is the session's {@code statement_timeout} ({@link BoundedSession#statementTimeoutMillis}) in whole seconds
   * less one, at least 1, so {@code pg_promote} normally answers (true, or false for "not yet") before the
   * server cancels it and well before the deadline (7 or 8 s with the default 10 s).
   *
   * @return a future of {@code true} once the server left recovery; failed with an
   *     {@link OperationFailedException}: the server's error, {@code pg_promote} giving up after {@code n}
   *     s, or the deadline passing
   */
  public Future<Boolean> promote(Target target, Deadline deadline) {
    return promoteReadingFork(target, deadline).map(fork -> true);
  }

  /**
   * {@link #promote(Target)}, then in the same session {@code pg_last_wal_replay_lsn()}: the end of the WAL it
   * replayed, where its new timeline began (the switch point its timeline history file records), within
   * {@code failover.promote_timeout}.
   *
   * @return a future of that fork point in bytes of WAL ({@code -1} if the server has none), failed as
   *     {@link #promote(Target)}
   */
  public Future<Long> promoteReadingFork(Target target) {
    return promoteReadingFork(target, Deadline.in(options.getPromoteTimeout(), "failover.promote_timeout"));
  }

  private Future<Long> promoteReadingFork(Target target, Deadline deadline) {
    long waitSeconds = Math.max(1, BoundedSession.statementTimeoutMillis(deadline.remainingMillis()) / 1000 - 1);
    String what = "promote";
    return withConnection(target, deadline, what, conn -> sql(conn,
            "select pg_promote(wait => true, wait_seconds => " + waitSeconds + ")")
        .compose(rows -> rows.iterator().next().getBoolean(0)
            ? sql(conn, "select pg_last_wal_replay_lsn()::text").map(r -> Lsn.parse(r.iterator().next().getString(0)))
            : Future.failedFuture(new OperationFailedException("pg_promote did not complete within its wait_seconds "
                + waitSeconds + " s (" + deadline.limit() + ")", null, true))));
  }

  /**
   * The readings of an RPO measurement ({@link RpoMeasurement}): on {@code oldPrimary} its last checkpoint
   * ({@code pg_control_checkpoint()}) and whether it started within the last {@code sinceMillis} ms; on
   * {@code newPrimary} its timeline and that timeline's history file, if {@code checks.user} may read it. One statement
   * on each, both sessions together bounded by {@link #stepTimeout()}.
   *
   * @return a future failed with an {@link OperationFailedException} naming the server when one does not answer in
   *     time or a statement fails
   */
  public Future<RpoMeasurement.Readings> readRpo(Target oldPrimary, Target newPrimary, long sinceMillis) {
    Deadline deadline = stepDeadline();
    Future<RpoMeasurement.OldEnd> oldEnd = withConnection(oldPrimary, deadline, "read the end of the WAL of",
        conn -> sql(conn, RpoMeasurement.oldEndQuery(sinceMillis)).map(rows -> {
          Row r = rows.iterator().next();
          return new RpoMeasurement.OldEnd(r.getBoolean("in_recovery"), Lsn.parse(r.getString("checkpoint_lsn")),
              Lsn.parse(r.getString("redo_lsn")), r.getInteger("timeline"), r.getBoolean("restarted"),
              r.getString("wal_level"), r.getLong("block_size"), r.getLong("segment_size"));
        }));
    Future<RpoMeasurement.Fork> fork = withConnection(newPrimary, deadline, "read the timeline history of",
        conn -> sql(conn, RpoMeasurement.FORK_QUERY).map(rows -> {
          Row r = rows.iterator().next();
          return new RpoMeasurement.Fork(r.getInteger("timeline"), r.getString("history"));
        }));
    return Future.all(oldEnd, fork).map(v -> new RpoMeasurement.Readings(oldEnd.result(), fork.result()));
  }

  /**
   * Makes {@code replica} stream from {@code primary} within {@link #stepTimeout()}: creates its replication
   * slot on the new primary if it uses one, rewrites host and port in its {@code primary_conninfo}
   * ({@code ALTER SYSTEM}, reloadable since PostgreSQL 13), reloads. The replica follows the new timeline
   * ({@code recovery_target_timeline} is {@code latest} by default).
   *
   * @return a future failed with an {@link OperationFailedException} when the replica cannot be re-pointed
   */
  public Future<Void> repoint(Target replica, Target primary) {
    Deadline deadline = stepDeadline();
    return withConnection(replica.host(), replica.port(), deadline, "repoint " + label(replica) + " to follow "
        + primary.name(), conn -> sql(conn,
        "select current_setting('primary_conninfo'), current_setting('primary_slot_name')").compose(rows -> {
          Row row = rows.iterator().next();
          String conninfo = rewriteConninfo(row.getString(0), primary);
          String slot = row.getString(1);
          Future<Void> slotReady = slot == null || slot.isBlank() ? Future.succeededFuture()
              : withConnection(primary, deadline, "create replication slot " + slot + " on", p -> p.preparedQuery(
                  "select pg_create_physical_replication_slot($1) "
                  + "where not exists (select 1 from pg_replication_slots where slot_name = $1)")
                  .execute(Tuple.of(slot)).mapEmpty());
          return slotReady
              .compose(v -> sql(conn, "alter system set primary_conninfo = " + literal(conninfo)))
              .compose(v -> sql(conn, "select pg_reload_conf()"))
              .mapEmpty();
        }));
  }

  /** Replaces (or adds) {@code host=} and {@code port=} in a libpq key/value connection string. */
  static String rewriteConninfo(String conninfo, Target primary) {
    String base = conninfo == null ? "" : conninfo;
    base = base.replaceAll("(^|\\s)host=('[^']*'|\\S+)", "").replaceAll("(^|\\s)port=('[^']*'|\\S+)", "").trim();
    return ("host=" + primary.host() + " port=" + primary.port() + " " + base).trim();
  }

  static String literal(String s) {
    return "'" + s.replace("'", "''") + "'";
  }

  /**
   * A write probe through the write endpoint ({@code select txid_current()}), retried every
   * {@value #RETRY_MS} ms until it succeeds or {@code deadlineMillis} passes. Each attempt (connect and
   * statement) is bounded by the earlier of that deadline and {@link #stepTimeout()}, so a hanging attempt
   * cannot outlive the deadline.
   *
   * @param deadlineMillis wall-clock deadline, milliseconds since the epoch
   * @return a future failed with an {@link OperationFailedException} naming the endpoint, the deadline in ms,
   *     the number of attempts and the last attempt's error, once the deadline passed without a write
   */
  public Future<Void> probeWrite(String host, int port, long deadlineMillis) {
    Promise<Void> done = Promise.promise();
    Deadline overall = Deadline.atEpochMillis(deadlineMillis, "the write probe deadline");
    attemptProbe(host, port, overall, 1, done);
    return done.future();
  }

  private void attemptProbe(String host, int port, Deadline overall, int attempt, Promise<Void> done) {
    Deadline deadline = overall.capped(stepTimeout(), "the step limit");
    withConnection(host, port, deadline, "write probe attempt " + attempt + " through " + host + ":" + port,
        conn -> sql(conn, "select txid_current()").mapEmpty()).onComplete(ar -> {
          if (ar.succeeded()) {
            done.complete();
          } else if (overall.passed() || overall.remainingMillis() < RETRY_MS) {
            done.fail(new OperationFailedException("write probe through " + host + ":" + port
                + ": no write accepted within " + overall.limit() + " (" + attempt + " attempts); last: "
                + Errors.describe(ar.cause()), ar.cause(), true));
          } else {
            vertx.setTimer(RETRY_MS, id -> attemptProbe(host, port, overall, attempt + 1, done));
          }
        });
  }

  /** Result of a switchover's database steps. */
  public record SwitchoverResult(boolean ok, String error, long oldLsn, long candidateLsn) {
  }

  /**
   * The database steps of a planned switchover: make {@code from} read-only ({@code ALTER SYSTEM SET
   * default_transaction_read_only = on}, reload, terminate its client backends) and read its last LSN
   * (bounded by the earlier of {@code switchover_timeout} and {@link #stepTimeout()}), wait until {@code to}
   * has replayed it (bounded by {@code switchover_timeout} from the start), promote {@code to} (bounded by
   * {@code promote_timeout}). On timeout or error {@code from} is restored to read-write (bounded by
   * {@link #stepTimeout()}) and the result says why. So it ends within {@code switchover_timeout +
   * promote_timeout} plus, on failure, one step limit.
   *
   * @return a future that always succeeds: the result's {@code error} names the failed step, target and
   *     deadline, and whether restoring read-write worked
   */
  public Future<SwitchoverResult> switchover(Target from, Target to) {
    Deadline deadline = Deadline.in(options.getSwitchoverTimeout(), "failover.switchover_timeout");
    Future<Long> oldLsn = withConnection(from, deadline.capped(stepTimeout(), "the step limit"), "make read-only",
        conn -> sql(conn, "alter system set default_transaction_read_only = on")
            .compose(v -> sql(conn, "select pg_reload_conf()"))
            .compose(v -> sql(conn, "select pg_terminate_backend(pid) from pg_stat_activity "
                + "where backend_type = 'client backend' and pid <> pg_backend_pid()"))
            .compose(v -> sql(conn, "select pg_current_wal_lsn()::text"))
            .map(rows -> Lsn.parse(rows.iterator().next().getString(0))));
    return oldLsn.compose(lsn -> waitReplayed(to, lsn, deadline)
            .compose(replayed -> promote(to).map(ok -> new SwitchoverResult(true, null, lsn, replayed))))
        .recover(err -> restoreReadWrite(from).map(v -> new SwitchoverResult(false,
            Errors.describe(err) + "; " + from.name() + " restored to read-write", oldLsn.result() == null ? -1 : oldLsn.result(), -1))
            .otherwise(e2 -> new SwitchoverResult(false, Errors.describe(err) + "; restoring " + from.name()
                + " to read-write failed too: " + Errors.describe(e2), -1, -1)));
  }

  private Future<Long> waitReplayed(Target to, long lsn, Deadline deadline) {
    Promise<Long> done = Promise.promise();
    pollReplay(to, lsn, deadline, done);
    return done.future();
  }

  private void pollReplay(Target to, long lsn, Deadline deadline, Promise<Long> done) {
    withConnection(to, deadline.capped(stepTimeout(), "the step limit"), "replay poll of",
        conn -> sql(conn, "select pg_last_wal_replay_lsn()::text")
            .map(rows -> Lsn.parse(rows.iterator().next().getString(0)))).onComplete(ar -> {
              if (ar.succeeded() && ar.result() >= lsn) {
                done.complete(ar.result());
              } else if (deadline.passed() || deadline.remainingMillis() < RETRY_MS) {
                done.fail(new OperationFailedException(label(to) + " did not replay " + Lsn.format(lsn) + " within "
                    + deadline.limit() + (ar.succeeded() ? " (at " + Lsn.format(ar.result()) + ")"
                    : ": " + Errors.describe(ar.cause())), ar.failed() ? ar.cause() : null, true));
              } else {
                vertx.setTimer(RETRY_MS, id -> pollReplay(to, lsn, deadline, done));
              }
            });
  }

  private Future<Void> restoreReadWrite(Target from) {
    return withConnection(from, stepDeadline(), "restore read-write on",
        conn -> sql(conn, "alter system reset default_transaction_read_only")
            .compose(v -> sql(conn, "select pg_reload_conf()")).mapEmpty());
  }

  /**
   * Runs a hook command with {@code sh -c} on a worker thread, bounded by {@code hooks.timeout}. Placeholders
   * {@code {event} {old_name} {old_host} {old_port} {new_name} {new_host} {new_port}} are replaced, and the
   * same values are in the environment as {@code CUTOVER_EVENT}, {@code CUTOVER_OLD_NAME}, ... Output is
   * logged line by line.
   *
   * @return the exit code, or a future failed with an {@link OperationFailedException} naming the hook:
   *     killed after {@code failover.hooks.timeout} (in ms), or the command could not start
   */
  public Future<Integer> runHook(String event, String command, Target oldPrimary, Target newPrimary) {
    Map<String, String> values = new java.util.LinkedHashMap<>();
    values.put("event", event);
    values.put("old_name", oldPrimary == null ? "" : oldPrimary.name());
    values.put("old_host", oldPrimary == null ? "" : oldPrimary.host());
    values.put("old_port", oldPrimary == null ? "" : String.valueOf(oldPrimary.port()));
    values.put("new_name", newPrimary == null ? "" : newPrimary.name());
    values.put("new_host", newPrimary == null ? "" : newPrimary.host());
    values.put("new_port", newPrimary == null ? "" : String.valueOf(newPrimary.port()));
    String cmd = command;
    for (Map.Entry<String, String> e : values.entrySet()) {
      cmd = cmd.replace("{" + e.getKey() + "}", e.getValue());
    }
    String finalCmd = cmd;
    long timeoutMs = options.getHookTimeout().toMillis();
    return vertx.executeBlocking(() -> {
      ProcessBuilder pb = new ProcessBuilder("sh", "-c", finalCmd).redirectErrorStream(true);
      values.forEach((k, v) -> pb.environment().put("CUTOVER_" + k.toUpperCase(java.util.Locale.ROOT), v));
      Process p = pb.start();
      p.getOutputStream().close();
      Thread reader = new Thread(() -> {
        try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = in.readLine()) != null) {
            LOG.info("hook {}: {}", event, line);
          }
        } catch (java.io.IOException ignored) {
          // the process ended
        }
      }, "cutover-hook-output");
      reader.setDaemon(true);
      reader.start();
      if (!p.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new OperationFailedException("hook " + event + " did not finish within failover.hooks.timeout "
            + timeoutMs + " ms and was killed", null, true);
      }
      reader.join(1000);
      return p.exitValue();
    }, false).recover(err -> Future.failedFuture(err instanceof OperationFailedException ? err
        : new OperationFailedException("hook " + event + " could not run: " + Errors.describe(err), err, false)));
  }
}
