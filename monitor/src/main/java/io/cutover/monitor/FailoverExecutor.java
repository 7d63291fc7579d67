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
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The I/O behind the failover state machine's actions, each over a short-lived connection made with
 * the check credentials ({@code checks.user}/{@code password}/{@code database}). Non-blocking except the
 * hook commands, which run on a worker thread with a timeout.
 */
public final class FailoverExecutor {

  private static final Logger LOG = LoggerFactory.getLogger(FailoverExecutor.class);

  private final Vertx vertx;
  private final CheckOptions checks;
  private final FailoverOptions options;

  public FailoverExecutor(Vertx vertx, CheckOptions checks, FailoverOptions options) {
    this.vertx = vertx;
    this.checks = checks;
    this.options = options;
  }

  /** Runs {@code work} on a new connection to {@code target} and closes it. */
  <T> Future<T> withConnection(Target target, Function<PgConnection, Future<T>> work) {
    return withConnection(target.host(), target.port(), work);
  }

  <T> Future<T> withConnection(String host, int port, Function<PgConnection, Future<T>> work) {
    return PgConnection.connect(vertx, checks.connectOptions(host, port, "cutover-failover"))
        .timeout(Math.max(1000, checks.getTimeout().toMillis() * 3), TimeUnit.MILLISECONDS)
        .compose(conn -> work.apply(conn).eventually(conn::close));
  }

  private static Future<RowSet<Row>> sql(PgConnection conn, String sql) {
    return conn.query(sql).execute();
  }

  /**
   * Promotes {@code target} ({@code pg_promote(wait => true, wait_seconds => 30)}).
   *
   * @return a future of {@code true} once the server left recovery; failed with the server's error
   */
  public Future<Boolean> promote(Target target) {
    return withConnection(target, conn -> sql(conn, "select pg_promote(true, 30)")
        .map(rows -> rows.iterator().next().getBoolean(0)))
        .compose(done -> done ? Future.succeededFuture(true)
            : Future.failedFuture("pg_promote did not complete within 30 s"));
  }

  /**
   * Makes {@code replica} stream from {@code primary}: creates its replication slot on the new primary if it
   * uses one, rewrites host and port in its {@code primary_conninfo} ({@code ALTER SYSTEM}, reloadable since
   * PostgreSQL 13), reloads. The replica follows the new timeline ({@code recovery_target_timeline} is
   * {@code latest} by default).
   *
   * @return a future failed with the reason when the replica cannot be re-pointed
   */
  public Future<Void> repoint(Target replica, Target primary) {
    return withConnection(replica, conn -> sql(conn, "select current_setting('primary_conninfo'), "
        + "current_setting('primary_slot_name')").compose(rows -> {
          Row row = rows.iterator().next();
          String conninfo = rewriteConninfo(row.getString(0), primary);
          String slot = row.getString(1);
          Future<Void> slotReady = slot == null || slot.isBlank() ? Future.succeededFuture()
              : withConnection(primary, p -> p.preparedQuery("select pg_create_physical_replication_slot($1) "
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
   * A write probe through the write endpoint ({@code select txid_current()}), retried every 50 ms until it
   * succeeds or {@code deadlineMillis} (epoch) passes.
   */
  public Future<Void> probeWrite(String host, int port, long deadlineMillis) {
    Promise<Void> done = Promise.promise();
    attemptProbe(host, port, deadlineMillis, done);
    return done.future();
  }

  private void attemptProbe(String host, int port, long deadline, Promise<Void> done) {
    withConnection(host, port, conn -> sql(conn, "select txid_current()").mapEmpty()).onComplete(ar -> {
      if (ar.succeeded()) {
        done.complete();
      } else if (System.currentTimeMillis() > deadline) {
        done.fail(ar.cause());
      } else {
        vertx.setTimer(50, id -> attemptProbe(host, port, deadline, done));
      }
    });
  }

  /** Result of a switchover's database steps. */
  public record SwitchoverResult(boolean ok, String error, long oldLsn, long candidateLsn) {
  }

  /**
   * The database steps of a planned switchover: make {@code from} read-only ({@code ALTER SYSTEM SET
   * default_transaction_read_only = on}, reload, terminate its client backends), read its last LSN, wait
   * (bounded by {@code switchover_timeout}) until {@code to} has replayed it, promote {@code to}. On
   * timeout or error {@code from} is restored to read-write and the result says why.
   */
  public Future<SwitchoverResult> switchover(Target from, Target to) {
    long deadline = System.currentTimeMillis() + options.getSwitchoverTimeout().toMillis();
    Future<Long> oldLsn = withConnection(from, conn -> sql(conn, "alter system set default_transaction_read_only = on")
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

  private Future<Long> waitReplayed(Target to, long lsn, long deadline) {
    Promise<Long> done = Promise.promise();
    pollReplay(to, lsn, deadline, done);
    return done.future();
  }

  private void pollReplay(Target to, long lsn, long deadline, Promise<Long> done) {
    withConnection(to, conn -> sql(conn, "select pg_last_wal_replay_lsn()::text")
        .map(rows -> Lsn.parse(rows.iterator().next().getString(0)))).onComplete(ar -> {
          if (ar.succeeded() && ar.result() >= lsn) {
            done.complete(ar.result());
          } else if (System.currentTimeMillis() > deadline) {
            done.fail(to.name() + " did not replay " + Lsn.format(lsn) + " within switchover_timeout "
                + options.getSwitchoverTimeout().toMillis() + " ms"
                + (ar.succeeded() ? " (at " + Lsn.format(ar.result()) + ")" : ": " + Errors.describe(ar.cause())));
          } else {
            vertx.setTimer(20, id -> pollReplay(to, lsn, deadline, done));
          }
        });
  }

  private Future<Void> restoreReadWrite(Target from) {
    return withConnection(from, conn -> sql(conn, "alter system reset default_transaction_read_only")
        .compose(v -> sql(conn, "select pg_reload_conf()")).mapEmpty());
  }

  /**
   * Runs a hook command with {@code sh -c} on a worker thread, bounded by {@code hooks.timeout}. Placeholders
   * {@code {event} {old_name} {old_host} {old_port} {new_name} {new_host} {new_port}} are replaced, and the
   * same values are in the environment as {@code CUTOVER_EVENT}, {@code CUTOVER_OLD_NAME}, ... Output is
   * logged line by line.
   *
   * @return the exit code, or a failed future on timeout or when the command cannot start
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
        throw new IllegalStateException("hook " + event + " timed out after " + timeoutMs + " ms and was killed");
      }
      reader.join(1000);
      return p.exitValue();
    }, false);
  }
}
