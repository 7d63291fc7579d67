package io.cutover.monitor;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP server on 127.0.0.1 for the {@code patroni} and {@code http} checks to talk to: each path answers what
 * the test set ({@link #answer}), at once, after a delay, never, or with a body that never ends. Unknown paths get 404.
 * Not a mock of PostgreSQL or Patroni: a peer whose answers are Patroni's shapes (see {@link PatroniStatusTest}).
 */
public final class HttpPeer implements AutoCloseable {

  /**
   * What a path answers.
   *
   * @param status  HTTP status
   * @param body    body text ({@code null} for none)
   * @param delayMs wait this long before answering; {@code -1}: never answer (the connection stays open)
   * @param drip    send the headers, then one byte every 50 ms, never ending the body
   */
  public record Answer(int status, String body, long delayMs, boolean drip) {
    public static Answer of(int status, String body) {
      return new Answer(status, body, 0, false);
    }
  }

  private final Vertx vertx;
  private final HttpServer server;
  private final Map<String, Answer> answers = new ConcurrentHashMap<>();
  private final Map<String, String> lastQuery = new ConcurrentHashMap<>();
  private final AtomicInteger requests = new AtomicInteger();
  private volatile String requiredAuthorization;

  /** A plain HTTP peer on an ephemeral port. */
  public HttpPeer(Vertx vertx) throws Exception {
    this(vertx, new HttpServerOptions());
  }

  /** A peer with these server options (TLS, client authentication) on an ephemeral port of 127.0.0.1. */
  public HttpPeer(Vertx vertx, HttpServerOptions options) throws Exception {
    this.vertx = vertx;
    this.server = vertx.createHttpServer(options.setHost("127.0.0.1").setPort(0)).requestHandler(this::handle)
        .listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  public int port() {
    return server.actualPort();
  }

  /** Sets what {@code path} answers (without its query). */
  public HttpPeer answer(String path, Answer answer) {
    answers.put(path, answer);
    return this;
  }

  public HttpPeer answer(String path, int status, String body) {
    return answer(path, Answer.of(status, body));
  }

  /** Requests without exactly this {@code Authorization} header get 401. */
  public HttpPeer requireAuthorization(String header) {
    this.requiredAuthorization = header;
    return this;
  }

  /** The query string of the last request for {@code path}, {@code null} if none came. */
  public String lastQuery(String path) {
    return lastQuery.get(path);
  }

  public int requests() {
    return requests.get();
  }

  private void handle(HttpServerRequest req) {
    requests.incrementAndGet();
    lastQuery.put(req.path(), req.query() == null ? "" : req.query());
    if (requiredAuthorization != null && !requiredAuthorization.equals(req.getHeader("Authorization"))) {
      req.response().setStatusCode(401).putHeader("WWW-Authenticate", "Basic realm=\"Patroni\"").end("not authenticated");
      return;
    }
    Answer a = answers.getOrDefault(req.path(), Answer.of(404, "not found"));
    if (a.delayMs() < 0) {
      return; // never answers
    }
    if (a.drip()) {
      req.response().setStatusCode(a.status()).setChunked(true).putHeader("Content-Type", "application/json");
      req.response().write("{");
      long timer = vertx.setPeriodic(50, id -> {
        if (!req.response().closed()) {
          req.response().write(" ");
        }
      });
      req.connection().closeHandler(v -> vertx.cancelTimer(timer));
      return;
    }
    Runnable send = () -> {
      if (!req.response().closed()) {
        req.response().setStatusCode(a.status()).putHeader("Content-Type", "application/json")
            .end(a.body() == null ? "" : a.body());
      }
    };
    if (a.delayMs() > 0) {
      vertx.setTimer(a.delayMs(), id -> send.run());
    } else {
      send.run();
    }
  }

  @Override
  public void close() throws Exception {
    server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
