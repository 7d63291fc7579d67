package io.cutover.monitor;

import io.vertx.pgclient.PgException;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;

/** Short, human-readable descriptions of network and PostgreSQL errors, for logs and client messages. */
public final class Errors {

  private Errors() {
  }

  /**
   * E.g. {@code connection refused}, {@code 57P03 the database system is starting up}; the message of an
   * {@link OperationFailedException} as it is.
   */
  public static String describe(Throwable err) {
    for (Throwable t = err; t != null; t = t.getCause()) {
      if (t instanceof OperationFailedException) {
        return oneLine(t); // already complete: what, which target, why
      }
      if (t instanceof PgException pg) {
        return pg.getSqlState() + " " + pg.getErrorMessage();
      }
      if (t instanceof ConnectException) {
        String m = String.valueOf(t.getMessage()).toLowerCase(java.util.Locale.ROOT);
        return m.contains("refused") ? "connection refused" : m.contains("timed out") ? "connect timed out" : oneLine(t);
      }
      if (t instanceof NoRouteToHostException) {
        return "no route to host";
      }
      if (t instanceof UnknownHostException) {
        return "unknown host " + t.getMessage();
      }
    }
    return oneLine(err);
  }

  /**
   * The kind of a failure to get an answer: {@link FailureKind#REFUSED} for a refused connection,
   * {@link FailureKind#TIMEOUT} for a connect that timed out or a {@link java.util.concurrent.TimeoutException} (an HTTP
   * request's idle timeout), {@link FailureKind#ERROR} for anything else.
   */
  public static FailureKind failureKind(Throwable err) {
    for (Throwable t = err; t != null; t = t.getCause()) {
      if (t instanceof ConnectException) {
        String m = String.valueOf(t.getMessage()).toLowerCase(java.util.Locale.ROOT);
        return m.contains("timed out") ? FailureKind.TIMEOUT : FailureKind.REFUSED;
      }
      if (t instanceof java.util.concurrent.TimeoutException) {
        return FailureKind.TIMEOUT;
      }
    }
    return FailureKind.ERROR;
  }

  private static String oneLine(Throwable t) {
    String m = t.getMessage();
    return m == null ? t.getClass().getSimpleName() : m.replace('\n', ' ');
  }
}
