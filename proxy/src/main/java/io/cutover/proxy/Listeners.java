package io.cutover.proxy;

import io.cutover.proxy.config.ListenAddress;
import io.cutover.proxy.config.ProxyOptions;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * The data plane's listeners: per endpoint one {@link EndpointVerticle} per event loop ({@code proxy.event_loops}),
 * sharing the port; and the way to stop them accepting while their sessions run on (graceful shutdown).
 */
final class Listeners {

  private final Vertx vertx;
  private final Supplier<ProxyOptions> options;
  private final int eventLoops;
  private final TopologyView view;
  private final SessionRegistry registry;
  private final Traffic traffic;
  private final ClientConnections connections;
  private final List<EndpointVerticle> deployed = new CopyOnWriteArrayList<>();

  /**
   * @param options    the proxy settings in effect, read per new connection (a reload may change them)
   * @param eventLoops listener instances per endpoint ({@code proxy.event_loops}, fixed at start)
   */
  Listeners(Vertx vertx, Supplier<ProxyOptions> options, int eventLoops, TopologyView view, SessionRegistry registry,
            Traffic traffic, ClientConnections connections) {
    this.vertx = vertx;
    this.options = options;
    this.eventLoops = eventLoops;
    this.view = view;
    this.registry = registry;
    this.traffic = traffic;
    this.connections = connections;
  }

  /**
   * Listens on {@code address} for {@code endpoint}, with {@code SO_REUSEPORT} ({@link PortProbe}).
   *
   * @param probe whether the port must be free first ({@link PortProbe#free}); not for a takeover, which shares it
   * @return the bound port; failed with a {@link ListenFailure} naming the configuration key when it cannot bind
   */
  Future<Integer> listen(Endpoint endpoint, ListenAddress address, boolean probe) {
    List<EndpointVerticle> mine = new CopyOnWriteArrayList<>();
    return (probe ? PortProbe.free(vertx, address) : Future.<Void>succeededFuture()).compose(free -> vertx.deployVerticle(() -> {
          EndpointVerticle v = new EndpointVerticle(endpoint, address, options, view, registry, traffic, connections);
          mine.add(v);
          return v;
        }, new DeploymentOptions().setInstances(eventLoops)))
        .map(id -> {
          deployed.addAll(mine);
          return mine.get(0).actualPort();
        })
        .recover(err -> Future.failedFuture(new ListenFailure(endpoint.configKey(), address, err)));
  }

  /**
   * Stops every listener accepting; established sessions run on and are closed when {@code grace} passes.
   *
   * @return completed once every listener's connections have closed (or the grace passed)
   */
  Future<Void> stopAccepting(Duration grace) {
    return Future.join(deployed.stream().map(v -> v.stopAccepting(grace)).toList()).mapEmpty();
  }
}
