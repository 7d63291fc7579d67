package io.cutover.monitor;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.pgclient.PgException;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * Every short-lived PostgreSQL session the monitor opens (role checks, the failover executor's statements)
 * goes through {@link #run}: connect, do the work, close, all bounded by one {@link Deadline}.
 *
 * <ul>
 *   <li><b>Client side:</b> one timer for the whole session. When it fires the returned future fails at
 *   once; a connection that is open then is closed, and a connection that completes later (the connect was
 *   still in flight when the caller gave up) is closed the moment it arrives, so no session outlives its
 *   caller's deadline on our side.</li>
 *   <li><b>Server side:</b> {@code statement_timeout} is sent in the startup packet (a run-time parameter
 *   of the StartupMessage, as libpq's {@code options=-c ...} would set it): the milliseconds left to the
 *   deadline when the session starts, less a fifth (at most 1 s) left for connecting and for the error to
 *   travel back ({@link #statementTimeoutMillis}). It applies from the first statement without an extra
 *   round trip. So when the connect was quick, a statement that runs too long is cancelled by the server
 *   (SQLSTATE {@code 57014}) before the caller's deadline and the caller learns exactly that; in any case
 *   no statement keeps running on the server past the deadline by more than the connect took beyond that
 *   margin, after which the backend, finding its client gone, exits.</li>
 * </ul>
 *
 * <p>A connect that the server never answers (a frozen postmaster accepts TCP in the kernel but never
 * replies) cannot be aborted through the Vert.x API; the caller is answered at the deadline, and the socket
 * is closed as soon as that connect completes either way.
 */
public final class BoundedSession {

  /** SQLSTATE {@code query_canceled}: raised by {@code statement_timeout} (and by cancel requests). */
  public static final String QUERY_CANCELED = "57014";

  private BoundedSession() {
  }

  /**
   * The {@code statement_timeout} for a session that starts with {@code budgetMillis} left: the budget less
   * a fifth of it, the margin being at most 1000 ms; at least 1 ms (0 would mean no limit).
   */
  public static long statementTimeoutMillis(long budgetMillis) {
    return Math.max(1, budgetMillis - Math.min(budgetMillis / 5, 1000));
  }

  /**
   * Opens a session with {@code options} plus {@code statement_timeout}, runs {@code work} on it and closes
   * it; everything ends by {@code deadline}.
   *
   * @param vertx    the Vert.x instance (timers, connections)
   * @param options  where and how to connect; not modified (a copy gets {@code statement_timeout})
   * @param deadline when the caller gives up; already passed means failing without connecting
   * @param what     the operation and its target for error messages, e.g. {@code promote pg2 (127.0.0.1:5433)}
   * @param work     what to do on the open connection; it must not close it
   * @return the work's result, or a future failed with an {@link OperationFailedException} whose message
   *     starts with {@code what}: {@code no answer within <limit> <n> ms} (the deadline passed; also when it
   *     passed during a statement), {@code statement cancelled by statement_timeout <n> ms (<limit>)},
   *     or the connection's or server's error ({@link Errors#describe(Throwable)})
   */
  public static <T> Future<T> run(Vertx vertx, PgConnectOptions options, Deadline deadline, String what,
                                  Function<PgConnection, Future<T>> work) {
    long budgetMs = deadline.remainingMillis();
    if (budgetMs < 1) {
      return Future.failedFuture(timedOut(what, deadline));
    }
    Promise<T> result = Promise.promise();
    AtomicReference<PgConnection> open = new AtomicReference<>();
    long timer = vertx.setTimer(budgetMs, id -> {
      if (result.tryFail(timedOut(what, deadline))) {
        closeIfOpen(open, null);
      }
    });
    long statementMs = statementTimeoutMillis(budgetMs);
    PgConnection.connect(vertx, withStatementTimeout(options, statementMs)).onComplete(ar -> {
      if (ar.failed()) {
        vertx.cancelTimer(timer);
        result.tryFail(wrap(what, deadline, statementMs, ar.cause()));
        return;
      }
      PgConnection conn = ar.result();
      open.set(conn);
      if (result.future().isComplete()) {
        closeIfOpen(open, conn); // the caller gave up while the connect was in flight
        return;
      }
      Future<T> done;
      try {
        done = work.apply(conn);
      } catch (RuntimeException e) {
        done = Future.failedFuture(e);
      }
      done.onComplete(wr -> {
        vertx.cancelTimer(timer);
        if (wr.succeeded()) {
          result.tryComplete(wr.result());
        } else {
          result.tryFail(wrap(what, deadline, statementMs, wr.cause()));
        }
        closeIfOpen(open, null);
      });
    });
    return result.future();
  }

  /** Closes the open connection exactly once, whichever of the timer and the connect callback comes second. */
  private static void closeIfOpen(AtomicReference<PgConnection> open, PgConnection expected) {
    PgConnection conn = expected == null ? open.getAndSet(null) : open.compareAndSet(expected, null) ? expected : null;
    if (conn != null) {
      conn.close();
    }
  }

  /** A copy of {@code options} whose startup packet also sets {@code statement_timeout} (milliseconds). */
  static PgConnectOptions withStatementTimeout(PgConnectOptions options, long millis) {
    Map<String, String> props = new HashMap<>(options.getProperties());
    props.put("statement_timeout", String.valueOf(millis));
    return new PgConnectOptions(options).setProperties(props);
  }

  private static OperationFailedException timedOut(String what, Deadline deadline) {
    return new OperationFailedException(what + ": no answer within " + deadline.limit(), null, true);
  }

  private static OperationFailedException wrap(String what, Deadline deadline, long statementTimeoutMs, Throwable err) {
    if (err instanceof OperationFailedException o) {
      return new OperationFailedException(what + ": " + o.getMessage(), o, o.deadlinePassed());
    }
    if (err instanceof PgException pg && QUERY_CANCELED.equals(pg.getSqlState())
        && String.valueOf(pg.getErrorMessage()).contains("statement timeout")) {
      return new OperationFailedException(what + ": statement cancelled by statement_timeout " + statementTimeoutMs
          + " ms (" + deadline.limit() + ")", err, true);
    }
    return new OperationFailedException(what + ": " + Errors.describe(err), err, false);
  }
}
