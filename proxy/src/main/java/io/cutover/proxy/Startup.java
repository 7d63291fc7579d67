package io.cutover.proxy;

import io.cutover.monitor.cluster.ClusterAuthority;
import io.cutover.proxy.config.CutoverConfig;
import io.cutover.proxy.history.History;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.micrometer.VertxPrometheusOptions;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a {@link Cutover} comes up: its Vert.x instance (native transport, metrics registry, clustered over Hazelcast
 * when {@code cluster.enabled}), then its history, then {@link Cutover#deploy}; on a failure, what was opened is closed
 * again within {@link Cutover#CLOSE_DEADLINE}.
 */
final class Startup {

  private static final Logger LOG = LoggerFactory.getLogger(Startup.class);

  private Startup() {
  }

  /**
   * Vert.x options for Cutover: one event loop per {@code proxy.event_loops}, native transport preferred, the
   * asynchronous DNS resolver as {@code resolver} says, Micrometer metrics with a Prometheus registry of its own ({@code registryName}).
   */
  static VertxOptions vertxOptions(CutoverConfig config, String registryName) {
    return new VertxOptions().setEventLoopPoolSize(config.proxy().eventLoops()).setPreferNativeTransport(true)
        .setAddressResolverOptions(config.resolver().toVertx())
        .setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true).setJvmMetricsEnabled(true)
            .setRegistryName(registryName)
            .setPrometheusOptions(new VertxPrometheusOptions().setEnabled(true)));
  }

  /** Creates the Vert.x instance (clustered or not), opens the history and deploys Cutover on them. */
  static Future<Cutover> start(CutoverConfig config, Takeover takeover) {
    String registryName = "cutover-" + java.util.UUID.randomUUID();
    VertxOptions options = vertxOptions(config, registryName);
    String host = io.cutover.monitor.Presence.Identity.localHostName();
    if (!config.cluster().enabled()) {
      return started(Vertx.vertx(options), config, registryName, null, host, takeover);
    }
    com.hazelcast.config.Config hz;
    try {
      hz = new com.hazelcast.config.YamlConfigBuilder(config.cluster().hazelcast().toString()).build();
    } catch (Exception e) {
      return Future.failedFuture(new IllegalStateException("cannot read the Hazelcast configuration "
          + config.cluster().hazelcast() + ": " + e.getMessage(), e));
    }
    hz.setClusterName(config.cluster().name());
    io.cutover.monitor.cluster.SharedState.configure(hz, config.cluster().size());
    HazelcastClusterManager manager = new HazelcastClusterManager(hz);
    return Vertx.builder().with(options).withClusterManager(manager).buildClustered()
        .recover(err -> Future.failedFuture(new IllegalStateException("cannot join the Hazelcast cluster: " + err.getMessage(), err)))
        .compose(vertx -> {
          long stale = 3 * config.checks().getInterval().toMillis() + config.checks().getTimeout().toMillis();
          ClusterAuthority authority = new ClusterAuthority(vertx, manager.getHazelcastInstance(), manager.getNodeId(),
              config.cluster().size(), stale, config.failover().getIncidentsKept(), config.auditKept(),
              config.cluster().lease().toMillis());
          LOG.info("clustered: node {}, {} member(s), cluster.size {}", manager.getNodeId(), manager.getNodes().size(),
              config.cluster().size());
          return started(vertx, config, registryName, authority, host, takeover);
        });
  }

  private static Future<Cutover> started(Vertx vertx, CutoverConfig config, String registryName, ClusterAuthority authority,
                                         String host, Takeover takeover) {
    if (vertx.isNativeTransportEnabled()) {
      LOG.info("transport: native epoll");
    } else {
      Throwable why = vertx.unavailableNativeTransportCause();
      LOG.info("transport: NIO (native transport unavailable: {})", why == null ? "not requested" : why.toString());
      if (config.proxy().keepalive().hasUserTimeout()) {
        LOG.warn("proxy.keepalive.user_timeout is not applied: the NIO transport has no TCP_USER_TIMEOUT (keepalive is)");
      }
    }
    // The failure is reported from outside Vert.x: a continuation scheduled on a context of the instance
    // being closed may never run (its event loop is gone), which would leave the caller waiting forever.
    Promise<Cutover> result = Promise.promise();
    Future<History> opened = takeover != null && !vertx.isNativeTransportEnabled()
        ? Future.failedFuture(new IllegalStateException("--takeover needs the native epoll transport to share the running "
            + "process's ports (SO_REUSEPORT); it is unavailable: " + vertx.unavailableNativeTransportCause()))
        : History.open(vertx, config.history(), config.failover().getIncidentsKept(), config.auditKept(),
            takeover == null ? null : Takeover.lockWait(config));
    opened
        .compose(history -> new Cutover(vertx, config, registryName, authority, history, host, takeover).deploy()
            .recover(err -> history.close().timeout(Cutover.CLOSE_DEADLINE.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
                .transform(v -> Future.failedFuture(err))))
        .onComplete(ar -> {
          if (ar.succeeded()) {
            result.complete(ar.result());
          } else {
            VertxClose.within(vertx, Cutover.CLOSE_DEADLINE).whenComplete((v, e) -> result.fail(ar.cause()));
          }
        });
    return result.future();
  }

}
