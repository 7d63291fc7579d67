package io.cutover.proxy;

import io.cutover.proxy.config.ListenAddress;
import io.cutover.proxy.config.ProxyOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;

import java.time.Duration;

/**
 * One listener instance of one endpoint. Deployed once per event loop; Vert.x spreads accepted
 * connections over the instances, and each session's backend is connected from the client's own event
 * loop, so both sockets of a session share one thread. The NetClient serves cancel requests. Every accepted
 * socket gets {@code proxy.keepalive} ({@link TcpKeepalive}) at once, so a client that vanishes is noticed
 * whatever state its session is in.
 */
public final class EndpointVerticle extends VerticleBase {

  private final Endpoint endpoint;
  private final ListenAddress listen;
  private final ProxyOptions options;
  private final TopologyView view;
  private final SessionRegistry registry;
  private final Traffic traffic;
  private final ClientConnections connections;
  private NetServer server;
  private NetClient backends;

  /** @param options the {@code proxy} settings (timeouts, waits, keepalive) */
  public EndpointVerticle(Endpoint endpoint, ListenAddress listen, ProxyOptions options, TopologyView view,
                          SessionRegistry registry, Traffic traffic, ClientConnections connections) {
    this.connections = connections;
    this.endpoint = endpoint;
    this.listen = listen;
    this.options = options;
    this.view = view;
    this.registry = registry;
    this.traffic = traffic;
  }

  @Override
  public Future<?> start() {
    Duration connectTimeout = options.connectTimeout();
    backends = vertx.createNetClient(new NetClientOptions()
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()))
        .setTcpNoDelay(true)
        .setTcpKeepAlive(true));
    server = vertx.createNetServer(new NetServerOptions()
        .setHost(listen.host())
        .setPort(listen.port())
        .setTcpNoDelay(true)
        .setTcpKeepAlive(true)
        .setAcceptBacklog(4096));
    TcpKeepalive keepalive = new TcpKeepalive(options.keepalive());
    BackendConnector connector = new BackendConnector(connectTimeout, keepalive,
        ((VertxInternal) vertx).nameResolver().nettyAddressResolverGroup());
    server.connectHandler(socket -> {
      keepalive.apply(((NetSocketInternal) socket).channelHandlerContext().channel());
      new ClientSession(vertx, endpoint, socket, backends, connector, view, registry, traffic, connections,
          options.connectWait().toMillis(), options.startupTimeout().toMillis()).start();
    });
    return server.listen();
  }

  @Override
  public Future<?> stop() {
    return Future.join(server.close(), backends.close());
  }

  /**
   * Stops accepting connections on this listener (Vert.x's graceful server shutdown); established sessions stay
   * until they end, and are closed when {@code grace} passes.
   *
   * @return completed once every connection of this listener has closed (or the grace passed)
   */
  public Future<Void> stopAccepting(java.time.Duration grace) {
    return server.shutdown(grace.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  /** The bound port (useful with port 0). */
  public int actualPort() {
    return server.actualPort();
  }
}
