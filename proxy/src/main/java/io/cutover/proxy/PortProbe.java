package io.cutover.proxy;

import io.cutover.proxy.config.ListenAddress;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * Cutover's listeners bind with {@code SO_REUSEPORT}, so that a successor can take over their ports while they drain
 * (a zero-downtime restart, {@code --takeover}). Linux lets any process of the same user share such a port; a start
 * that is not a takeover first binds the port once without {@code SO_REUSEPORT}, which fails while anything listens
 * on it: a second Cutover started by mistake on the same ports fails with "address already in use" instead of
 * silently sharing them.
 */
final class PortProbe {

  private PortProbe() {
  }

  /**
   * Fails when {@code address} is taken; port 0 (any free port) always passes. Runs on a worker thread (the host may
   * be a name to resolve).
   *
   * @return failed with the bind's {@link java.net.BindException} ({@code Address already in use}) or resolution error
   */
  static Future<Void> free(Vertx vertx, ListenAddress address) {
    if (address.port() == 0) {
      return Future.succeededFuture();
    }
    return vertx.executeBlocking(() -> {
      try (ServerSocket s = new ServerSocket()) {
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(address.host(), address.port()));
      }
      return null;
    }, false);
  }
}
