package io.cutover.proxy;

import io.cutover.monitor.AuthoritySource;
import io.cutover.monitor.MonitorVerticle;
import io.cutover.monitor.cluster.ClusterAuthority;
import io.cutover.proxy.http.AdminHttp;
import io.cutover.proxy.http.AuditLog;
import io.cutover.proxy.http.EventLog;
import io.cutover.proxy.http.EventStream;
import io.cutover.proxy.history.History;
import io.cutover.proxy.history.OperatorState;
import io.cutover.proxy.metrics.CutoverMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.micrometer.backends.BackendRegistries;
import io.cutover.monitor.TargetStatus;
import io.cutover.monitor.Topology;
import io.cutover.proxy.config.CutoverConfig;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A running Cutover: the monitor, the write and read endpoints, wired over one Vert.x instance.
 * {@link Main} starts one from the command line; tests start one in-process (listeners on port 0).
 */
public final class Cutover {

  private static final Logger LOG = LoggerFactory.getLogger(Cutover.class);
  /** How long closing Vert.x may take after a failed start or on shutdown before the process goes on without it. */
  public static final Duration CLOSE_DEADLINE = Duration.ofSeconds(10);

  private final Vertx vertx;
  private final CutoverConfig config;
  private final TopologyView view;
  private final SessionRegistry registry = new SessionRegistry();
  private final Traffic traffic = new Traffic();
  private final ClientConnections connections;
  private final String registryName;
  private final ClusterAuthority authority;
  private final AuditLog audit;
  private final History history;
  /** This start's random instance id (the marker table's {@code id}, see {@link io.cutover.monitor.Presence}). */
  private final String instanceId = io.cutover.monitor.Presence.Identity.newId();
  /** This machine's host name, read before any event loop runs. */
  private final String hostName;
  private final SessionEnforcement enforcement;
  private final Listeners listeners;
  private final Shutdown shutdown;
  /** The running Cutover this one takes over from, or {@code null} for a plain start. */
  private final Takeover takeover;
  private CutoverMetrics metrics;
  /** The {@code proxy} settings new client connections read (a reload replaces them). */
  private final AtomicReference<io.cutover.proxy.config.ProxyOptions> proxyOptions;
  private MonitorVerticle monitor;
  private Reloader reloader;
  /** The context snapshots are applied on ({@link #onTopology}). */
  private Context topologyContext;
  private volatile boolean listening;
  private int writePort;
  private int readPort;
  private int httpPort;
  private io.vertx.core.http.HttpServer httpServer;

  Cutover(Vertx vertx, CutoverConfig config, String registryName, ClusterAuthority authority, History history,
                  String hostName, Takeover takeover) {
    this.vertx = vertx;
    this.takeover = takeover;
    this.history = history;
    this.hostName = hostName;
    this.authority = authority;
    this.config = config;
    this.connections = new ClientConnections(config.proxy().maxClientConnections());
    this.proxyOptions = new AtomicReference<>(config.proxy());
    this.registryName = registryName;
    this.view = new TopologyView(Topology.initial(config.targets(), System.currentTimeMillis()),
        new RoutePolicy(config.readFallbackToPrimary()));
    this.enforcement = new SessionEnforcement(vertx, view, registry);
    this.listeners = new Listeners(vertx, proxyOptions::get, config.proxy().eventLoops(), view, registry, traffic,
        connections);
    this.shutdown = new Shutdown(vertx, config.shutdown(), connections,
        () -> listeners.stopAccepting(config.shutdown().grace()),
        () -> Future.fromCompletionStage(closeWithin(CLOSE_DEADLINE)));
    shutdown.onHandover(() -> httpServer == null ? Future.succeededFuture()
        : ListenSocket.close(httpServer).compose(v -> httpServer.close()));
    this.audit = new AuditLog(config.auditKept(), history.restoredAudit());
    audit.onRecord(history::appendAudit);
  }

  /**
   * Starts Cutover on a new Vert.x instance.
   *
   * @return a future completed once the monitor runs and both endpoints listen; failed if a listener
   *         cannot bind ({@link ListenFailure}, e.g. {@code cannot listen on listeners.write 127.0.0.1:6432:
   *         address already in use}), after the Vert.x instance was closed or {@link #CLOSE_DEADLINE} passed.
   *         The future is bound to no Vert.x context: its callbacks run on the thread completing it.
   */
  public static Future<Cutover> start(CutoverConfig config) {
    return Startup.start(config, null);
  }

  /**
   * Like {@link #start(CutoverConfig)}, taking over the ports of a running Cutover when {@code takeover} is not
   * {@code null} (a zero-downtime restart, see {@link Takeover}; not clustered).
   */
  public static Future<Cutover> start(CutoverConfig config, Takeover takeover) {
    return Startup.start(config, takeover);
  }

  Future<Cutover> deploy() {
    MeterRegistry meters = BackendRegistries.getNow(registryName);
    metrics = new CutoverMetrics(meters, vertx, view, registry, traffic, connections, config.targets(), config.failover());
    // snapshots are applied on one context: the published ones and the one a cluster fence fetches (fence())
    topologyContext = vertx.getOrCreateContext();
    Promise<Void> subscribed = Promise.promise();
    topologyContext.runOnContext(v -> vertx.eventBus().<JsonObject>localConsumer(Topology.ADDRESS,
        msg -> onTopology(Topology.fromJson(msg.body()))).completion().onComplete(subscribed));
    if (authority != null) {
      ClusterWiring.wire(authority, vertx, view, registry, audit, this::fence);
    }
    EventStream events = new EventStream(new EventLog(instanceId, EventLog.DEFAULT_CAPACITY, EventLog.DEFAULT_MAX_BYTES),
        view, registry, config.targets().stream().map(io.cutover.monitor.Target::name).toList(), audit, Clock.systemUTC());
    metrics.eventStreams(events);
    metrics.shutdown(shutdown);
    vertx.eventBus().<JsonObject>localConsumer(Shutdown.ADDRESS, msg -> msg.reply(shutdown.begin("POST /api/v1/shutdown")));
    AdminHttp http = new AdminHttp(vertx, view, registry, config.targets(), config.adminToken(), audit,
        () -> listening, registryName,
        () -> authority == null ? new JsonObject().put("enabled", false) : authority.toJson()).clustered(authority)
        .events(events).stopping(shutdown::reason);
    reloader = new Reloader(vertx, config, new Reloader.Parts(s -> monitor.reconfigure(s), this::applyTopology, http, events,
        metrics, view, registry, connections, proxyOptions), audit);
    http.reloads(reloader);
    reloader.refuseWhile(() -> shutdown.phase() != Shutdown.Phase.RUNNING);
    reloader.afterApplied(() -> { if (config.httpTls() != null) { reloadHttpCertificate(); } }); // it logs either way
    Future<Void> prepared = subscribed.future().compose(v -> history.listen()).compose(v -> vertx.deployVerticle(events))
        .mapEmpty();
    Future<Void> up = takeover == null
        ? prepared.compose(v -> listenHttp(http)).compose(v -> listenData()).compose(v -> startMonitor())
        // a takeover routes before it listens, and answers health checks last (see Takeover)
        : prepared.compose(v -> startMonitor()).compose(v -> Takeover.firstChecks(vertx, view, Takeover.routesWait(config)))
            .compose(v -> listenData()).compose(v -> listenHttp(http));
    return up.map(v -> {
      if (authority != null) {
        authority.catchUp();
      }
      if (takeover != null) {
        takeover.enforceExit(vertx, config);
      }
      LOG.info("cutover started: write endpoint {}:{}, read endpoint {}:{}, {} listener instance(s) each; HTTP {}:{} "
          + "(the operator's page: {}://{}:{}/){}", config.write().host(), writePort, config.read().host(), readPort,
          config.proxy().eventLoops(), config.http().host(), httpPort, HttpTls.scheme(config), config.http().host(), httpPort,
          takeover == null ? "" : "; taking over from PID " + takeover.pid() + " (send it SIGUSR1 to hand over)");
      return this;
    });
  }

  private Future<Void> listenHttp(AdminHttp http) {
    return (takeover == null ? PortProbe.free(vertx, config.http()) : Future.<Void>succeededFuture())
        .compose(v -> HttpTls.serverOptions(vertx, config))
        .compose(options -> vertx.createHttpServer(options.setReusePort(true))
            .invalidRequestHandler(AdminHttp::invalidRequest).requestHandler(http.router())
            .listen(config.http().port(), config.http().host()))
        .recover(err -> Future.failedFuture(new ListenFailure("listeners.http", config.http(), err)))
        .onSuccess(s -> httpPort = (httpServer = s).actualPort())
        .mapEmpty();
  }

  private Future<Void> listenData() {
    boolean probe = takeover == null;
    return listeners.listen(Endpoint.WRITE, config.write(), probe).onSuccess(p -> writePort = p)
        .compose(p -> listeners.listen(Endpoint.READ, config.read(), probe).onSuccess(p2 -> readPort = p2))
        .onSuccess(p -> listening = true)
        .mapEmpty();
  }

  private Future<Void> startMonitor() {
    String probeHost = config.write().host().equals("0.0.0.0") || config.write().host().equals("::")
        ? "127.0.0.1" : config.write().host();
    AuthoritySource source = authority == null ? AuthoritySource.SINGLE : authority;
    monitor = new MonitorVerticle(config.targets(), config.checks(), config.failover(),
        config.readMaxLagBytes(), Clock.systemUTC(), probeHost, takeover == null ? writePort : config.write().port(),
        takeover == null ? source : takeover.authority(source)).withHistory(history.restoredIncidents())
        .withPresence(config.presence(), identity());
    return vertx.deployVerticle(monitor).compose(id -> restoreOperatorState());
  }

  /**
   * Maintenance mode and drains as the audit log read back left them ({@link OperatorState}), handed to the monitor
   * right after it started, before it can decide anything. Not clustered: a cluster keeps them while a member runs.
   *
   * @return completed once the monitor took them; never failed (a refusal is logged as a warning)
   */
  private Future<Void> restoreOperatorState() {
    OperatorState state = OperatorState.from(history.restoredAudit(),
        config.targets().stream().map(io.cutover.monitor.Target::name).collect(java.util.stream.Collectors.toSet()));
    if (authority != null || !state.any()) {
      return Future.succeededFuture();
    }
    var bus = vertx.eventBus();
    java.util.List<Future<?>> sent = new java.util.ArrayList<>();
    if (state.maintenance() != null) {
      JsonObject e = state.maintenance();
      String reason = e.getJsonObject("arguments").getString("reason");
      LOG.info("maintenance mode restored from the audit log (turned on at {} from {}{}): no automatic failover until "
          + "it is turned off", e.getString("at"), e.getString("remote"), reason == null ? "" : ": " + reason);
      sent.add(bus.request(MonitorVerticle.MAINTENANCE_ADDRESS, new JsonObject().put("enabled", true).put("reason", reason),
          MonitorVerticle.LOCAL));
    }
    state.drained().forEach((target, e) -> {
      LOG.info("target {} drained again, as the audit log left it (drained at {} from {}): no new session until it is "
          + "enabled", target, e.getString("at"), e.getString("remote"));
      sent.add(bus.request(MonitorVerticle.DRAIN_ADDRESS, new JsonObject().put("target", target), MonitorVerticle.LOCAL));
    });
    return Future.join(sent).<Void>mapEmpty()
        .otherwise(err -> {
          LOG.warn("restoring the operator's commands from the audit log: {}", err.toString());
          return null;
        });
  }

  /**
   * A newer snapshot replaces the held one and is enforced on the sessions ({@link SessionEnforcement}). Runs on
   * {@link #topologyContext}.
   */
  private void onTopology(Topology next) {
    if (!view.update(next)) {
      return;
    }
    metrics.onTopology(next);
    enforcement.apply(next);
  }

  /**
   * Carries out a fence of {@code target} from the cluster's failover authority on this instance, and is what
   * its acknowledgement waits for: the monitor fences the target, this instance's routing takes the monitor's
   * current snapshot (which shows the fence) at once instead of when the published one arrives, and every
   * session to the target — relayed or still connecting — is closed hard ({@link SessionRegistry#fenceAll}).
   *
   * @return the monitor's reply, once those sessions' sockets are closed (at most
   *         {@value SessionRegistry#FENCE_CLOSE_DEADLINE_MILLIS} ms after the snapshot was applied, then with a
   *         warning logged); failed as the monitor failed it (404 for an unknown target) or when the event bus
   *         times out
   */
  public Future<JsonObject> fence(String target) {
    var bus = vertx.eventBus();
    return bus.<JsonObject>request(MonitorVerticle.FENCE_ADDRESS, new JsonObject().put("target", target), MonitorVerticle.LOCAL)
        .compose(accepted -> bus.<JsonObject>request(Topology.CURRENT_ADDRESS, "", MonitorVerticle.LOCAL)
            .compose(current -> applyTopology(Topology.fromJson(current.body())))
            .compose(v -> {
              if (!view.current().target(target).map(TargetStatus::fenced).orElse(false)) {
                LOG.warn("fence of {}: the monitor accepted it but the current snapshot (v{}) does not show it fenced",
                    target, view.current().version());
              }
              return Future.fromCompletionStage(registry.fenceAll(target), topologyContext);
            })
            .map(closed -> accepted.body()));
  }

  /** Applies {@code t} as a published snapshot is applied ({@link #onTopology}), on {@link #topologyContext}. */
  private Future<Void> applyTopology(Topology t) {
    Promise<Void> applied = Promise.promise();
    topologyContext.runOnContext(v -> {
      try {
        onTopology(t);
        applied.complete();
      } catch (RuntimeException e) {
        applied.fail(e); // a reload waiting on it gets an answer
      }
    });
    return applied.future();
  }

  /** Who this instance is in the marker table: instance id, cluster name when clustered, host, HTTP listener, PID. */
  private io.cutover.monitor.Presence.Identity identity() {
    return new io.cutover.monitor.Presence.Identity(instanceId, config.cluster().enabled() ? config.cluster().name() : null,
        hostName, config.http().host() + ":" + (takeover == null ? httpPort : config.http().port()),
        ProcessHandle.current().pid()); // a takeover's monitor starts before its HTTP listener, on a fixed port
  }

  /** This start's random instance id (12 hex digits), as other Cutovers and the drill name it. */
  public String instanceId() {
    return instanceId;
  }

  /** Configuration reloads (SIGHUP, {@code POST /api/v1/reload}); {@link Reloader#source} enables them. */
  public Reloader reloader() {
    return reloader;
  }

  public Vertx vertx() {
    return vertx;
  }

  /** The configuration Cutover started with; after a reload, {@link Reloader#running()} is the one in effect. */
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

  /** Client connections per endpoint against {@code proxy.max_client_connections}. */
  public ClientConnections connections() {
    return connections;
  }

  /** The bound write endpoint port. */
  public int writePort() {
    return writePort;
  }

  /** The cluster authority, or {@code null} when not clustered. */
  public ClusterAuthority authority() {
    return authority;
  }

  /** The graceful shutdown: {@link Shutdown#begin} on SIGTERM and {@code POST /api/v1/shutdown}. */
  public Shutdown shutdown() {
    return shutdown;
  }

  /** The bound HTTP port (health, admin API, metrics). */
  public int httpPort() {
    return httpPort;
  }

  /**
   * Reads {@code listeners.http_tls}'s certificate and key again from the same paths for new HTTPS connections, the
   * listener left open ({@link HttpTls#reload}: one log line; bad files keep the previous certificate in use).
   *
   * @return the certificate now served; failed with a one-line message: {@link io.cutover.proxy.config.PemKeyPair.Invalid}
   *         (bad files, each problem named with its key and path), {@link IllegalStateException} (no http_tls)
   */
  public Future<java.security.cert.X509Certificate> reloadHttpCertificate() {
    return HttpTls.reload(vertx, httpServer, config.httpTls());
  }

  /** The bound read endpoint port. */
  public int readPort() {
    return readPort;
  }

  /**
   * Stops everything: writes the open incident to the history (if kept on disk) and waits for its writes, then
   * closes the Vert.x instance.
   */
  public Future<Void> close() {
    Promise<Void> closed = Promise.promise(); // on no context: see started()
    history.close().onComplete(v -> vertx.close().onComplete(closed));
    return closed.future();
  }

  /**
   * Like {@link #close()}, but waits at most {@code deadline} (for a shutdown hook that must end).
   *
   * @return a stage completed, never failed, when Vert.x closed or the deadline passed
   */
  public CompletableFuture<Void> closeWithin(Duration deadline) {
    return history.close().toCompletionStage().toCompletableFuture()
        .orTimeout(deadline.toMillis(), TimeUnit.MILLISECONDS)
        .handle((v, e) -> null)
        .thenCompose(v -> VertxClose.within(vertx, deadline));
  }

}
