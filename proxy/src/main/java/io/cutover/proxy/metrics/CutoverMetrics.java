package io.cutover.proxy.metrics;

import io.cutover.monitor.FailoverOptions;
import io.cutover.monitor.MonitorVerticle;
import io.cutover.monitor.Role;
import io.cutover.monitor.Target;
import io.cutover.monitor.TargetState;
import io.cutover.monitor.TargetStatus;
import io.cutover.monitor.Topology;
import io.cutover.proxy.Endpoint;
import io.cutover.proxy.SessionRegistry;
import io.cutover.proxy.ClientConnections;
import io.cutover.proxy.Traffic;
import io.cutover.proxy.TopologyView;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Cutover's own metrics, registered in the Micrometer registry Vert.x's metrics use, scraped as Prometheus
 * text at {@code GET /metrics} (names below as Prometheus shows them). Gauges read the newest topology;
 * counters follow the monitor's events on the event bus. Every counter starts at 0 so that
 * {@code increase()} sees the first event (see {@code cluster-config/prometheus-rules.yaml}).
 *
 * <ul>
 *   <li>{@code cutover_target_up{target,role}} 1 when the target is UP in that role, else 0</li>
 *   <li>{@code cutover_target_last_up_timestamp_seconds{target}} when it was last seen UP (epoch seconds)</li>
 *   <li>{@code cutover_replication_lag_bytes{target}} replay lag in bytes of WAL (replicas)</li>
 *   <li>{@code cutover_rto_target_seconds}, {@code cutover_rpo_target_bytes} (max_lag_on_failover)</li>
 *   <li>{@code cutover_cutover_in_flight_seconds} since the old primary's last healthy check while an
 *       incident is open, else 0</li>
 *   <li>{@code cutover_cutover_duration_seconds} histogram of completed cutovers, buckets around the RTO</li>
 *   <li>{@code cutover_rto_breaches_total}, {@code cutover_failovers_total{kind}} (failover, switchover, refused)</li>
 *   <li>{@code cutover_rpo_measured_bytes} summary ({@code _count}, {@code _sum}, {@code _max}) of the RPO of
 *       cutovers in bytes of WAL not carried over, recorded once per incident when the figure is exact (a switchover
 *       at once, a failover when measured after the fact); {@code cutover_rpo_last_bytes} the newest cutover's figure
 *       (a lower bound while {@code cutover_rpo_last_exact} is 0, NaN before any)</li>
 *   <li>{@code cutover_primary_routable}, {@code cutover_readable_replicas}, {@code cutover_maintenance} (1 while
 *       maintenance mode is on)</li>
 *   <li>{@code cutover_sessions_held_total{endpoint}} new sessions that waited for a primary,
 *       {@code cutover_sessions_refused_total{endpoint}} sessions refused with 57P03,
 *       {@code cutover_sessions_dead_peer_total{endpoint,peer}} sessions closed because the client or the server
 *       stopped answering ({@code proxy.keepalive})</li>
 *   <li>{@code cutover_client_sessions{endpoint}}, {@code cutover_target_sessions{target}} (relayed sessions per
 *       endpoint and per target), {@code cutover_backend_connect_failures_total{target}},
 *       {@code cutover_relayed_bytes_total{endpoint,direction}}</li>
 *   <li>{@code cutover_event_streams} open {@code GET /api/v1/events} streams,
 *       {@code cutover_event_streams_dropped_total{reason="slow_consumer"}} streams closed as slow consumers
 *       ({@link #eventStreams})</li>
 * </ul>
 */
public final class CutoverMetrics {

  private final MeterRegistry registry;
  private final TopologyView view;
  private final MultiGauge targetUp;
  private final Map<String, Long> lastUpMillis = new ConcurrentHashMap<>();
  private final DistributionSummary durations;
  private final Counter breaches;
  private final Map<String, Counter> failovers = new ConcurrentHashMap<>();
  private volatile long openSinceMillis = -1;
  private final DistributionSummary rpoMeasured;
  /** Incidents whose exact RPO was recorded (each once), the newest {@value #RPO_IDS_KEPT}. */
  private final java.util.TreeSet<Long> rpoRecorded = new java.util.TreeSet<>();
  private static final int RPO_IDS_KEPT = 1000;
  /** The newest cutover's RPO: id, bytes ({@code NaN} unknown), exact. */
  private volatile double[] lastRpo = {-1, Double.NaN, 0};
  private final SessionRegistry sessions;
  /** The meters of each configured target ({@link #targets}). */
  private final Map<String, List<Meter>> perTarget = new ConcurrentHashMap<>();
  /** The failover settings in effect ({@code cutover_rto_target_seconds}, {@code cutover_rpo_target_bytes}). */
  private volatile FailoverOptions failover;

  public CutoverMetrics(MeterRegistry registry, Vertx vertx, TopologyView view, SessionRegistry sessions,
                        Traffic traffic, ClientConnections connections, List<Target> targets, FailoverOptions failover) {
    this.registry = registry;
    this.view = view;
    this.sessions = sessions;
    this.failover = failover;
    double rto = failover.getRto().toMillis() / 1000.0;
    this.targetUp = MultiGauge.builder("cutover.target.up")
        .description("1 when the target is UP (fall/rise) in the given role, else 0").register(registry);
    targets(targets);
    Gauge.builder("cutover.rto.target", () -> this.failover.getRto().toMillis() / 1000.0).baseUnit("seconds")
        .description("configured RTO").register(registry);
    Gauge.builder("cutover.rpo.target", () -> (double) this.failover.getMaxLagOnFailoverBytes()).baseUnit("bytes")
        .description("max_lag_on_failover (-1 = off, no limit)").register(registry);
    Gauge.builder("cutover.cutover.in.flight", () -> openSinceMillis < 0 ? 0.0
            : Math.max(0, System.currentTimeMillis() - openSinceMillis) / 1000.0)
        .baseUnit("seconds").description("seconds since the old primary's last healthy check while an incident is open")
        .register(registry);
    Gauge.builder("cutover.primary.routable", view, v -> v.current().primary() == null ? 0.0 : 1.0)
        .description("1 when writes can be routed").register(registry);
    Gauge.builder("cutover.readable.replicas", view, v -> v.current().readable().size())
        .description("replicas in the read pool").register(registry);
    Gauge.builder("cutover.maintenance", view, v -> v.current().maintenance() ? 1.0 : 0.0)
        .description("1 while maintenance mode is on (automatic failover paused)").register(registry);
    this.durations = DistributionSummary.builder("cutover.cutover.duration").baseUnit("seconds")
        .description("completed cutovers: last healthy check of the old primary to first write accepted")
        .serviceLevelObjectives(rto * 0.1, rto * 0.25, rto * 0.5, rto * 0.75, rto, rto * 1.5, rto * 2, rto * 4)
        .register(registry);
    this.rpoMeasured = DistributionSummary.builder("cutover.rpo.measured").baseUnit("bytes")
        .description("RPO of cutovers once exact: bytes of WAL the old primary had that the new primary does not carry")
        .register(registry);
    Gauge.builder("cutover.rpo.last", () -> lastRpo[1]).baseUnit("bytes")
        .description("the newest cutover's RPO in bytes of WAL (a lower bound while cutover_rpo_last_exact is 0)")
        .register(registry);
    Gauge.builder("cutover.rpo.last.exact", () -> lastRpo[2])
        .description("1 when the newest cutover's RPO is exact (measured), 0 while it is a lower bound").register(registry);
    this.breaches = Counter.builder("cutover.rto.breaches").description("cutovers that took longer than the RTO")
        .register(registry);
    for (String kind : List.of("failover", "switchover", "refused")) {
      failovers.put(kind, Counter.builder("cutover.failovers").tag("kind", kind)
          .description("completed failovers and switchovers, and refused failovers").register(registry));
    }
    for (Endpoint e : Endpoint.values()) {
      Gauge.builder("cutover.client.sessions", sessions, s -> s.sessions(e)).tag("endpoint", e.label())
          .description("relayed client sessions").register(registry);
      FunctionCounter.builder("cutover.sessions.held", traffic, t -> t.held(e).sum()).tag("endpoint", e.label())
          .description("new sessions that waited for a primary (proxy.connect_wait)").register(registry);
      FunctionCounter.builder("cutover.sessions.refused", traffic, t -> t.refused(e).sum()).tag("endpoint", e.label())
          .description("sessions refused with SQLSTATE 57P03 (no backend available)").register(registry);
      FunctionCounter.builder("cutover.sessions.startup.timeouts", traffic, t -> t.startupTimeouts(e).sum())
          .tag("endpoint", e.label())
          .description("client connections closed for not completing their startup within proxy.startup_timeout")
          .register(registry);
      Gauge.builder("cutover.client.connections", connections, c -> c.open(e)).tag("endpoint", e.label())
          .description("client connections open (in startup, relayed or cancelling) against proxy.max_client_connections")
          .register(registry);
      Gauge.builder("cutover.client.connections.limit", connections, ClientConnections::max).tag("endpoint", e.label())
          .description("proxy.max_client_connections").register(registry);
      FunctionCounter.builder("cutover.sessions.over.limit", connections, c -> c.overLimit(e)).tag("endpoint", e.label())
          .description("client connections refused with SQLSTATE 53300 (proxy.max_client_connections reached)")
          .register(registry);
      for (boolean client : new boolean[] {true, false}) {
        FunctionCounter.builder("cutover.sessions.dead.peer", traffic, t -> t.deadPeers(e, client).sum())
            .tags("endpoint", e.label(), "peer", client ? "client" : "server")
            .description("relayed sessions closed because the client or the server stopped answering (proxy.keepalive)")
            .register(registry);
      }
      FunctionCounter.builder("cutover.relayed", traffic, t -> t.upstream(e).sum()).baseUnit("bytes")
          .tags("endpoint", e.label(), "direction", "upstream").description("bytes relayed").register(registry);
      FunctionCounter.builder("cutover.relayed", traffic, t -> t.downstream(e).sum()).baseUnit("bytes")
          .tags("endpoint", e.label(), "direction", "downstream").description("bytes relayed").register(registry);
    }
    var bus = vertx.eventBus();
    bus.<JsonObject>localConsumer(MonitorVerticle.INCIDENT_OPENED_ADDRESS, m -> openSinceMillis = m.body().getLong("last_healthy_ms", -1L));
    bus.<JsonObject>localConsumer(MonitorVerticle.INCIDENT_CLOSED_ADDRESS, m -> incidentClosed(m.body()));
    bus.<JsonObject>localConsumer(MonitorVerticle.INCIDENT_UPDATED_ADDRESS, m -> rpo(m.body()));
    bus.<String>localConsumer(MonitorVerticle.REFUSED_ADDRESS, m -> failovers.get("refused").increment());
    onTopology(view.current());
  }

  /**
   * The configured targets (at start, then after each reload): meters are registered for new targets and removed for
   * targets no longer configured; a target that stays keeps its meters.
   */
  public synchronized void targets(List<Target> targets) {
    java.util.Set<String> names = new java.util.HashSet<>();
    for (Target t : targets) {
      String name = t.name();
      names.add(name);
      perTarget.computeIfAbsent(name, n -> List.of(
          Gauge.builder("cutover.target.last.up.timestamp", lastUpMillis, m -> m.getOrDefault(name, 0L) / 1000.0)
              .tag("target", name).baseUnit("seconds").description("when the target was last seen UP").register(registry),
          Gauge.builder("cutover.replication.lag", view, v -> v.current().target(name).map(TargetStatus::lagBytes)
                  .filter(l -> l >= 0).map(Long::doubleValue).orElse(Double.NaN))
              .tag("target", name).baseUnit("bytes").description("replay lag in bytes of WAL").register(registry),
          FunctionCounter.builder("cutover.backend.connect.failures", sessions, s -> s.connectFailures(name))
              .tag("target", name).description("failed backend connects").register(registry),
          Gauge.builder("cutover.target.sessions", sessions, s -> s.sessions(name)).tag("target", name)
              .description("relayed client sessions to the target (both endpoints)").register(registry)));
    }
    for (String gone : List.copyOf(perTarget.keySet())) {
      if (!names.contains(gone)) {
        perTarget.remove(gone).forEach(registry::remove);
        lastUpMillis.remove(gone);
      }
    }
  }

  /**
   * A reload: {@code cutover_rto_target_seconds} and {@code cutover_rpo_target_bytes} show {@code next}'s values; the
   * buckets of {@code cutover_cutover_duration_seconds} stay those of the RTO at start.
   */
  public void failover(FailoverOptions next) {
    this.failover = next;
  }

  /** The event stream's meters: streams open, and those closed as slow consumers (from 0). */
  /** {@code cutover_shutdown_phase}: 0 running, 1 announcing (readiness 503), 2 draining, 3 closing. */
  public void shutdown(io.cutover.proxy.Shutdown shutdown) {
    Gauge.builder("cutover.shutdown.phase", shutdown, s -> s.phase().metric()).strongReference(true)
        .description("graceful shutdown: 0 running, 1 announcing (readiness 503, still accepting), 2 draining "
            + "(listeners closed, sessions running on), 3 closing").register(registry);
  }

  public void eventStreams(io.cutover.proxy.http.EventStream events) {
    Gauge.builder("cutover.event.streams", events, io.cutover.proxy.http.EventStream::streams)
        .strongReference(true).description("open GET /api/v1/events streams").register(registry);
    FunctionCounter.builder("cutover.event.streams.dropped", events, io.cutover.proxy.http.EventStream::droppedSlow)
        .tag("reason", "slow_consumer")
        .description("event streams closed because their client did not take the events as fast as they came")
        .register(registry);
  }

  /** Refreshes the per-target gauges from a new snapshot. */
  public void onTopology(Topology t) {
    List<MultiGauge.Row<?>> rows = new ArrayList<>();
    for (TargetStatus s : t.targets()) {
      boolean up = s.state() == TargetState.UP;
      if (up) {
        lastUpMillis.put(s.name(), t.atMillis());
      }
      for (Role role : Role.values()) {
        rows.add(MultiGauge.Row.of(Tags.of("target", s.name(), "role", role.label()), up && s.role() == role ? 1 : 0));
      }
    }
    targetUp.register(rows, true);
  }

  private void incidentClosed(JsonObject incident) {
    openSinceMillis = -1;
    if (!"completed".equals(incident.getString("outcome"))) {
      return;
    }
    rpo(incident);
    failovers.get(incident.getString("kind")).increment();
    Long ms = incident.getLong("duration_ms");
    if (ms != null) {
      durations.record(ms / 1000.0);
    }
    if ("breached".equals(incident.getString("rto_verdict"))) {
      breaches.increment();
    }
  }

  /** A cutover's RPO figure (at its close, or measured after the fact); on the event loop of the monitor's events. */
  private synchronized void rpo(JsonObject incident) {
    long id = incident.getLong("id", -1L);
    JsonObject rpo = incident.getJsonObject("rpo", new JsonObject());
    Long bytes = rpo.getLong("bytes");
    boolean exact = rpo.getBoolean("exact", false);
    if (incident.getJsonObject("timeline", new JsonObject()).getString("promoted") == null) {
      return; // no cutover: nothing to measure
    }
    if (id >= lastRpo[0]) {
      lastRpo = new double[] {id, bytes == null ? Double.NaN : bytes, exact ? 1 : 0};
    }
    if (exact && bytes != null && rpoRecorded.add(id)) {
      rpoMeasured.record(bytes);
      while (rpoRecorded.size() > RPO_IDS_KEPT) {
        rpoRecorded.pollFirst();
      }
    }
  }

}
