package io.cutover.proxy;

import io.netty.channel.Channel;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.impl.NetServerImpl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.Field;

/**
 * Closes a Vert.x server's listening socket itself, before its graceful shutdown.
 *
 * <p>Why: Vert.x 5.0's {@code shutdown} removes the server's connection handlers first and closes the shared listening
 * socket only after the last one is gone, on another event loop. A connection the kernel hands to the socket in
 * between is accepted and closed at once, which a client sees as a failed connection attempt. Under a steady connect
 * rate that happens at every stop, and with a successor on the same ports ({@code SO_REUSEPORT}, a zero-downtime
 * restart) it is the only failed connect left. Closing the socket first ends the accepting in the kernel: connections
 * still queued move to the successor's socket ({@code net.ipv4.tcp_migrate_req}) or are refused, and every connection
 * accepted before reaches a handler. Accepted connections are not affected (closing a server channel leaves its
 * children open).
 *
 * <p>The socket is reached through Vert.x's implementation ({@link NetServerImpl}, version 5.0); where that fails, a
 * warning is logged once and the plain shutdown goes on as before.
 */
final class ListenSocket {

  private static final Logger LOG = LoggerFactory.getLogger(ListenSocket.class);
  private static volatile boolean warned;

  private ListenSocket() {
  }

  /** Closes {@code server}'s listening socket; completes when closed, never fails. */
  static Future<Void> close(NetServer server) {
    try {
      return close(channel(server));
    } catch (ReflectiveOperationException | RuntimeException e) {
      return unreachable(e);
    }
  }

  /** Closes {@code server}'s listening socket (its TCP server inside); completes when closed, never fails. */
  static Future<Void> close(HttpServer server) {
    try {
      Object tcp = field(server.getClass(), "tcpServer").get(server);
      return close(channel(tcp));
    } catch (ReflectiveOperationException | RuntimeException e) {
      return unreachable(e);
    }
  }

  private static Channel channel(Object server) throws ReflectiveOperationException {
    Object actual = field(NetServerImpl.class, "actualServer").get(server);
    Object bound = field(NetServerImpl.class, "bindFuture").get(actual == null ? server : actual);
    if (!(bound instanceof Future<?> f) || !(f.result() instanceof Channel ch)) {
      throw new IllegalStateException("no bound channel");
    }
    return ch;
  }

  private static Future<Void> close(Channel ch) {
    Promise<Void> closed = Promise.promise();
    ch.close().addListener(f -> closed.tryComplete());
    return closed.future();
  }

  private static Field field(Class<?> type, String name) throws NoSuchFieldException {
    Field f = type.getDeclaredField(name);
    f.setAccessible(true);
    return f;
  }

  private static Future<Void> unreachable(Exception e) {
    if (!warned) {
      warned = true;
      LOG.warn("cannot close a listening socket ahead of Vert.x's shutdown ({}): a connection arriving while it stops may "
          + "be accepted and closed", e.toString());
    }
    return Future.succeededFuture();
  }
}
