package io.cutover.proxy;

import io.vertx.core.Vertx;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A TCP relay in front of one PostgreSQL server for fault injection: {@link #cut()} closes the relayed
 * connections and leaves new ones unanswered (like a network partition: checks time out), {@link #heal()}
 * relays again.
 */
final class FaultProxy implements AutoCloseable {

  private final Vertx vertx = Vertx.vertx();
  private final Set<NetSocket> open = ConcurrentHashMap.newKeySet();
  private volatile boolean cut;
  private final NetServer server;

  FaultProxy(int backendPort) throws Exception {
    var client = vertx.createNetClient();
    server = vertx.createNetServer().connectHandler(front -> {
      if (cut) {
        front.pause(); // accept, never answer
        open.add(front);
        return;
      }
      front.pause();
      client.connect(backendPort, "127.0.0.1").onComplete(ar -> {
        if (ar.failed() || cut) {
          front.close();
          return;
        }
        NetSocket back = ar.result();
        open.add(front);
        open.add(back);
        front.closeHandler(v -> back.close());
        back.closeHandler(v -> front.close());
        front.pipeTo(back);
        back.pipeTo(front);
        front.resume();
      });
    });
    server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  int port() {
    return server.actualPort();
  }

  void cut() {
    cut = true;
    open.forEach(NetSocket::close);
    open.clear();
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
