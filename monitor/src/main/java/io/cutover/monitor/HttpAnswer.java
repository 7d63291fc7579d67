package io.cutover.monitor;

import java.util.Objects;

/**
 * What one bounded HTTP GET of a check got ({@link HttpGet}): a status and body, or why there is none.
 *
 * @param status  the HTTP status code, {@code -1} when the request failed
 * @param body    the body as text ({@code null} for none or when the request failed)
 * @param failure {@code null} when an answer arrived, else why not: {@link FailureKind#REFUSED} (nothing listens),
 *                {@link FailureKind#TIMEOUT} (no complete answer within the deadline), {@link FailureKind#ERROR}
 *                (anything else: TLS, an unknown host, a broken or oversized answer)
 * @param error   {@code null} when an answer arrived, else a one-line message
 */
public record HttpAnswer(int status, String body, FailureKind failure, String error) {

  /** An answer that arrived. */
  public static HttpAnswer of(int status, String body) {
    return new HttpAnswer(status, body, null, null);
  }

  /** A request that got no answer. */
  public static HttpAnswer failed(FailureKind failure, String error) {
    return new HttpAnswer(-1, null, Objects.requireNonNull(failure, "failure"), error);
  }

  public boolean answered() {
    return failure == null;
  }

  /** {@code 503}, or the failure's message, for error texts. */
  public String describe() {
    return answered() ? String.valueOf(status) : error;
  }
}
