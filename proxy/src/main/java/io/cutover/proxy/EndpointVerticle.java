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

import java.util.function.Supplier;

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
  private final Supplier<ProxyOptions> options;
  private final TopologyView view;
  private final SessionRegistry registry;
  private final Traffic traffic;
  private final ClientConnections connections;
  private NetServer server;
  private NetClient backends;
  /** The settings the connector below was made for (rebuilt when a reload changed them). */
  private ProxyOptions built;
  private TcpKeepalive keepalive;
  private BackendConnector connector;

  /** @param options the {@code proxy} settings (timeouts, waits, keepalive) */
  public EndpointVerticle(Endpoint endpoint, ListenAddress listen, ProxyOptions options, TopologyView view,
                          SessionRegistry registry, Traffic traffic, ClientConnections connections) {
    this(endpoint, listen, () -> options, view, registry, traffic, connections);
  }

  /**
   * @param options the {@code proxy} settings in effect, read for every accepted connection (so a reload's
   *                {@code connect_timeout}, {@code connect_wait}, {@code startup_timeout} and {@code keepalive} apply to
   *                the sessions that start after it; {@code event_loops} is read once)
   */
  public EndpointVerticle(Endpoint endpoint, ListenAddress listen, Supplier<ProxyOptions> options, TopologyView view,
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
    backends = vertx.createNetClient(new NetClientOptions()
        .setTcpNoDelay(true)
        .setTcpKeepAlive(true));
    server = vertx.createNetServer(new NetServerOptions()
        .setHost(listen.host())
        .setPort(listen.port())
        .setTcpNoDelay(true)
        .setTcpKeepAlive(true)
        .setReusePort(true) // a successor may share the port while this one drains (PortProbe, Takeover)
        .setAcceptBacklog(4096));
    server.connectHandler(socket -> {
      ProxyOptions o = current();
      keepalive.apply(((NetSocketInternal) socket).channelHandlerContext().channel());
      new ClientSession(vertx, endpoint, socket, backends, connector, view, registry, traffic, connections,
          o.connectWait().toMillis(), o.startupTimeout().toMillis()).start();
    });
    current();
    return server.listen();
  }

  /** The settings in effect, with the keepalive and connector made for them (on this instance's event loop). */
  private ProxyOptions current() {
    ProxyOptions o = options.get();
    if (o != built) {
      keepalive = new TcpKeepalive(o.keepalive());
      connector = new BackendConnector(o.connectTimeout(), keepalive,
          ((VertxInternal) vertx).nameResolver().nettyAddressResolverGroup());
      built = o;
    }
    return o;
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
    // the listening socket first: no connection is accepted and then closed for want of a handler (ListenSocket)
    return ListenSocket.close(server)
        .compose(v -> server.shutdown(grace.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS));
  }

  /** The bound port (useful with port 0). */
  public int actualPort() {
    return server.actualPort();
  }
}
