package io.cutover.proxy;

import io.cutover.monitor.MonitorVerticle;
import io.cutover.monitor.Topology;
import io.cutover.proxy.config.CutoverConfig;
import io.cutover.proxy.config.ListenAddress;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A running Cutover: the monitor, the write and read endpoints, wired over one Vert.x instance.
 * {@link Main} starts one from the command line; tests start one in-process (listeners on port 0).
 */
public final class Cutover {

  private static final Logger LOG = LoggerFactory.getLogger(Cutover.class);

  private final Vertx vertx;
  private final CutoverConfig config;
  private final TopologyView view;
  private final SessionRegistry registry = new SessionRegistry();
  private final Traffic traffic = new Traffic();
  private int writePort;
  private int readPort;

  private Cutover(Vertx vertx, CutoverConfig config) {
    this.vertx = vertx;
    this.config = config;
    this.view = new TopologyView(Topology.initial(config.targets(), System.currentTimeMillis()),
        new RoutePolicy(config.readFallbackToPrimary()));
  }

  /** Vert.x options for Cutover: one event loop per {@code proxy.event_loops}, native transport preferred. */
  public static VertxOptions vertxOptions(CutoverConfig config) {
    return new VertxOptions().setEventLoopPoolSize(config.eventLoops()).setPreferNativeTransport(true);
  }

  /**
   * Starts Cutover on a new Vert.x instance.
   *
   * @return a future completed once the monitor runs and both endpoints listen; failed (with the
   *         Vert.x instance closed) if a listener cannot bind, e.g. {@code Address already in use}
   */
  public static Future<Cutover> start(CutoverConfig config) {
    Vertx vertx = Vertx.vertx(vertxOptions(config));
    if (vertx.isNativeTransportEnabled()) {
      LOG.info("transport: native epoll");
    } else {
      Throwable why = vertx.unavailableNativeTransportCause();
      LOG.info("transport: NIO (native transport unavailable: {})", why == null ? "not requested" : why.toString());
    }
    Cutover cutover = new Cutover(vertx, config);
    return cutover.deploy().recover(err -> vertx.close().transform(v -> Future.failedFuture(err)));
  }

  private Future<Cutover> deploy() {
    vertx.eventBus().<JsonObject>consumer(Topology.ADDRESS, msg -> view.update(Topology.fromJson(msg.body())));
    MonitorVerticle monitor = new MonitorVerticle(config.targets(), config.checks(), config.readMaxLagBytes(),
        Clock.systemUTC());
    return vertx.deployVerticle(monitor)
        .compose(id -> listen(Endpoint.WRITE, config.write()).onSuccess(p -> writePort = p))
        .compose(p -> listen(Endpoint.READ, config.read()).onSuccess(p2 -> readPort = p2))
        .map(p -> {
          LOG.info("cutover started: write endpoint {}:{}, read endpoint {}:{}, {} listener instance(s) each",
              config.write().host(), writePort, config.read().host(), readPort, config.eventLoops());
          return this;
        });
  }

  private Future<Integer> listen(Endpoint endpoint, ListenAddress address) {
    AtomicReference<EndpointVerticle> first = new AtomicReference<>();
    return vertx.deployVerticle(() -> {
          EndpointVerticle v = new EndpointVerticle(endpoint, address, config.connectTimeout(), view, registry, traffic);
          first.compareAndSet(null, v);
          return v;
        }, new DeploymentOptions().setInstances(config.eventLoops()))
        .map(id -> first.get().actualPort())
        .recover(err -> Future.failedFuture(new IllegalStateException(
            "cannot listen on the " + endpoint.label() + " endpoint " + address + ": " + err.getMessage(), err)));
  }

  public Vertx vertx() {
    return vertx;
  }

  public CutoverConfig config() {
    return config;
  }

  /** The newest topology snapshot the data plane routes by. */
  public Topology topology() {
    return view.current();
  }

  public SessionRegistry sessions() {
    return registry;
  }

  public Traffic traffic() {
    return traffic;
  }

  /** The bound write endpoint port. */
  public int writePort() {
    return writePort;
  }

  /** The bound read endpoint port. */
  public int readPort() {
    return readPort;
  }

  /** Stops everything and closes the Vert.x instance. */
  public Future<Void> close() {
    return vertx.close();
  }

}
