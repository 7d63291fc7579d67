package io.cutover.monitor;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.WriteStream;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.codec.BodyCodec;
import io.vertx.ext.web.codec.spi.BodyStream;

import java.time.Duration;

/**
 * The bounded {@code GET} of the {@code patroni} and {@code http} checks, over one {@link WebClient} (settings from
 * {@link HttpCheckOptions#clientOptions}: TLS, a new connection per request, no redirects followed), with the
 * configured basic authentication.
 *
 * <p>Bounds: the answer comes by the {@link Deadline} ({@code checks.timeout}): a timer completes it with
 * {@link FailureKind#TIMEOUT} then, and the request's connect and idle timeouts are the time left, so a silent peer's
 * connection is closed by then too. A body larger than {@value #MAX_BODY_BYTES} bytes is not kept: the answer is
 * {@link FailureKind#ERROR} ({@code answer larger than 65536 bytes}). A certificate or key file that cannot be used
 * (not PEM) is an {@link FailureKind#ERROR} of every request, naming why. Never a failed future.
 */
final class HttpGet {

  /** The largest body kept: 64 KiB (Patroni's {@code GET /patroni} is well under 2 KiB). */
  static final int MAX_BODY_BYTES = 64 * 1024;

  private final Vertx vertx;
  private final WebClient client;
  private final HttpCheckOptions options;
  private final long timeoutMillis;

  /**
   * @param options how the endpoint is reached
   * @param timeout {@code checks.timeout}: the connect timeout, and the limit named in timeout messages
   */
  HttpGet(Vertx vertx, HttpCheckOptions options, Duration timeout) {
    this.vertx = vertx;
    this.options = options;
    this.timeoutMillis = timeout.toMillis();
    this.client = WebClient.create(vertx, options.clientOptions(timeout));
  }

  /**
   * {@code GET path} on {@code host:port}.
   *
   * @param path     the path and query, e.g. {@code /replica?lag=16MB}
   * @param deadline when to give up
   * @return the status and body, or the failure; completed by the deadline
   */
  Future<HttpAnswer> get(String host, int port, String path, Deadline deadline) {
    long budget = deadline.remainingMillis();
    HttpAnswer timedOut = HttpAnswer.failed(FailureKind.TIMEOUT, "no answer within " + timeoutMillis + " ms");
    if (budget <= 0) {
      return Future.succeededFuture(timedOut);
    }
    Promise<HttpAnswer> result = Promise.promise();
    long timer = vertx.setTimer(budget, id -> result.tryComplete(timedOut));
    HttpRequest<Buffer> request = client.get(port, host, path).connectTimeout(budget).idleTimeout(budget)
        .as(bounded());
    if (options.user() != null) {
      request.basicAuthentication(options.user(), options.password());
    }
    request.send().onComplete(ar -> {
      vertx.cancelTimer(timer);
      if (ar.succeeded()) {
        Buffer body = ar.result().body();
        result.tryComplete(HttpAnswer.of(ar.result().statusCode(), body == null ? null : body.toString()));
      } else {
        FailureKind kind = Errors.failureKind(ar.cause());
        result.tryComplete(kind == FailureKind.TIMEOUT ? timedOut : HttpAnswer.failed(kind, Errors.describe(ar.cause())));
      }
    });
    return result.future();
  }

  Future<Void> close() {
    client.close();
    return Future.succeededFuture();
  }

  /** The body as a buffer, failed once it grows past {@value #MAX_BODY_BYTES} bytes. */
  private static BodyCodec<Buffer> bounded() {
    return () -> new BodyStream<>() {
      private final Buffer buffer = Buffer.buffer();
      private final Promise<Buffer> state = Promise.promise();

      @Override
      public Future<Buffer> result() {
        return state.future();
      }

      @Override
      public void handle(Throwable err) {
        state.tryFail(err);
      }

      @Override
      public Future<Void> write(Buffer data) {
        if (state.future().isComplete()) {
          return Future.failedFuture("answer already complete or rejected");
        }
        if (buffer.length() + data.length() > MAX_BODY_BYTES) {
          IllegalStateException tooLarge = new IllegalStateException("answer larger than " + MAX_BODY_BYTES + " bytes");
          state.tryFail(tooLarge);
          return Future.failedFuture(tooLarge);
        }
        buffer.appendBuffer(data);
        return Future.succeededFuture();
      }

      @Override
      public Future<Void> end() {
        state.tryComplete(buffer);
        return state.future().mapEmpty();
      }

      @Override
      public WriteStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
        return this;
      }

      @Override
      public WriteStream<Buffer> setWriteQueueMaxSize(int maxSize) {
        return this;
      }

      @Override
      public boolean writeQueueFull() {
        return false;
      }

      @Override
      public WriteStream<Buffer> drainHandler(Handler<Void> handler) {
        return this;
      }
    };
  }
}
