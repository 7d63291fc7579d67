package io.cutover.proxy;

import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Closing a Vert.x instance with a deadline: a stop must end even when an event loop does not. */
final class VertxClose {

  private static final Logger LOG = LoggerFactory.getLogger(VertxClose.class);

  private VertxClose() {
  }

  /**
   * Closes {@code vertx}, waiting at most {@code deadline}.
   *
   * @return a stage completed (never failed) once Vert.x is closed, its close failed, or the deadline
   *         passed (then with a warning logged)
   */
  static CompletableFuture<Void> within(Vertx vertx, Duration deadline) {
    CompletableFuture<Void> closed = new CompletableFuture<>();
    try {
      vertx.close().onComplete(ar -> closed.complete(null));
    } catch (RuntimeException e) {
      // e.g. RejectedExecutionException: an event loop was already terminated
      closed.complete(null);
    }
    return closed.orTimeout(deadline.toMillis(), TimeUnit.MILLISECONDS).handle((v, e) -> {
      if (e != null) {
        LOG.warn("Vert.x did not close within {} ms; going on without it", deadline.toMillis());
      }
      return null;
    });
  }

}
