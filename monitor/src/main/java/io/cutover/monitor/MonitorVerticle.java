package io.cutover.monitor;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * The control plane's thin shell: schedules a {@link Check} per target (every {@code interval},
 * every {@code fastinter} while the target changes state), feeds results into a {@link TopologyTracker}
 * (hysteresis, topology rules, {@link FailoverMachine}), carries out the machine's actions with a
 * {@link FailoverExecutor} and publishes each new {@link Topology} as JSON on {@value Topology#ADDRESS}.
 *
 * <p>Event bus: {@value Topology#CURRENT_ADDRESS} answers with the current snapshot; {@value #HINT_ADDRESS}
 * (a target name) asks for an immediate re-check (the data plane sends it when a backend connect fails);
 * {@value #INCIDENTS_ADDRESS} answers with the incidents, oldest first (earlier runs' first, see
 * {@link #withHistory}; the open one last), as a JSON array;
 * {@value #SWITCHOVER_ADDRESS} ({@code {"candidate": "pg2"}}) starts a planned switchover and answers
 * {@code {"incident": id}}, or fails with code 409 and the reason.
 *
 * <p>With {@link #withPresence}, checks of the routed primary also carry this instance's heartbeat in the marker
 * table ({@link Presence}): other Cutovers on the same servers are warned about and listed in the
 * {@value #CLUSTER_ADDRESS} reply ({@code other_cutovers}); they never influence a decision.
 */
public final class MonitorVerticle extends VerticleBase {

  /** Re-check request from the data plane: body is the target name. */
  public static final String HINT_ADDRESS = "cutover.hint";
  /** Request/reply: the incident records. */
  public static final String INCIDENTS_ADDRESS = "cutover.incidents";
  /** Earlier runs' incidents read again (JSON array, oldest first): a takeover got the history's lock at last. */
  public static final String HISTORY_READ_ADDRESS = "cutover.history.read";
  /** Request/reply: start a switchover. */
  public static final String SWITCHOVER_ADDRESS = "cutover.switchover";
  /** Request/reply: immediate failover, body {@code {"candidate": "pg2"}} (candidate optional). */
  public static final String FAILOVER_ADDRESS = "cutover.failover";
  /** Request/reply: body {@code {"enabled": true, "reason": "..."}}. */
  public static final String MAINTENANCE_ADDRESS = "cutover.maintenance";
  /** Request/reply: body {@code {"target": "pg3", "close_after_ms": 30000}} (close_after_ms optional). */
  public static final String DRAIN_ADDRESS = "cutover.drain";
  /**
   * Request/reply: body {@code {"target": "pg3"}}; ends its drain and failback hold, answers
   * {@code {"target", "drained": false, "drain_ended", "hold_ended"}}.
   */
  public static final String ENABLE_ADDRESS = "cutover.enable";
  /** Request/reply: body {@code {"target": "pg1"}}: the failover authority fenced it (clustered Cutover). */
  public static final String FENCE_ADDRESS = "cutover.fence";
  /** Request/reply: body {@code {"target": "pg1"}}: the failover authority lifted its fence (aborted switchover). */
  public static final String UNFENCE_ADDRESS = "cutover.unfence";
  /** Request/reply: the cluster state for operators (topology, mode, maintenance, targets, decisions). */
  public static final String CLUSTER_ADDRESS = "cutover.cluster";
  /** Published: an incident opened ({@link Incident#toJson()}). */
  public static final String INCIDENT_OPENED_ADDRESS = "cutover.incident.opened";
  /** Published: an incident closed ({@link Incident#toJson()}). */
  public static final String INCIDENT_CLOSED_ADDRESS = "cutover.incident.closed";
  /**
   * Published: an incident changed ({@link Incident#toJson()}): while open, at each step of its timeline as it happens
   * (candidate chosen, promotion attempts, promoted, notes; {@link Action.IncidentStep}); and its RPO figure after the
   * fact, possibly after it closed: measured, no longer measurable, or why it is not measured yet ({@link RpoFollowUp}).
   */
  public static final String INCIDENT_UPDATED_ADDRESS = "cutover.incident.updated";
  /** Published: a failover was refused (body: the reason); also a decision, level {@code error}. */
  public static final String REFUSED_ADDRESS = "cutover.failover.refused";
  /** Published: each decision ({@value #CLUSTER_ADDRESS}'s {@code decisions}): {@code {"at", "level", "reason"}}. */
  public static final String DECISION_ADDRESS = "cutover.decision";

  private static final Logger LOG = LoggerFactory.getLogger(MonitorVerticle.class);
  /**
   * Snapshots, events and commands are this instance's own: never delivered to other clustered instances
   * (the cluster layer uses its own cluster-wide addresses).
   */
  public static final io.vertx.core.eventbus.DeliveryOptions LOCAL = new io.vertx.core.eventbus.DeliveryOptions().setLocalOnly(true);

  /** The settings in effect: those at start, then each reload's ({@link #reconfigure}). */
  private List<Target> targets;
  private CheckOptions options;
  private FailoverOptions failover;
  private long maxLagBytes;
  private final Clock clock;
  private final String probeHost;
  private final int probePort;
  private CheckSchedule schedule;
  private ActionRunner actions;
  private TopologyTracker tracker;
  private Check check;
  private FailoverExecutor executor;
  private volatile boolean stopped;
  private final AuthoritySource authority;
  private Presence.Options presenceOptions = new Presence.Options(false, Presence.DEFAULT_HEARTBEAT);
  private Presence.Identity identity = new Presence.Identity(Presence.Identity.newId(), null, "unknown", null,
      ProcessHandle.current().pid());
  private Presence presence;
  /** Incidents of earlier runs, oldest first (see {@link #withHistory}). */
  private List<JsonObject> restored = List.of();
  private IncidentListing incidents;

  /**
   * @param targets     the configured targets
   * @param options     check settings
   * @param failover    failover settings
   * @param maxLagBytes {@code read.max_lag} in bytes of WAL ({@code 0}: no lag), negative ({@code off}) disables it
   * @param clock       time source for observations, snapshots and incidents
   * @param probeHost   host of the write endpoint, for the write probe after a cutover
   * @param probePort   port of the write endpoint
   */
  public MonitorVerticle(List<Target> targets, CheckOptions options, FailoverOptions failover, long maxLagBytes,
                         Clock clock, String probeHost, int probePort) {
    this(targets, options, failover, maxLagBytes, clock, probeHost, probePort, AuthoritySource.SINGLE);
  }

  /**
   * @param authority where this instance's failover authority comes from (clustered Cutover), or
   *                  {@link AuthoritySource#SINGLE}
   */
  public MonitorVerticle(List<Target> targets, CheckOptions options, FailoverOptions failover, long maxLagBytes,
                         Clock clock, String probeHost, int probePort, AuthoritySource authority) {
    this.authority = authority;
    this.targets = List.copyOf(targets);
    this.options = options;
    this.failover = failover;
    this.maxLagBytes = maxLagBytes;
    this.clock = clock;
    this.probeHost = probeHost;
    this.probePort = probePort;
  }

  /**
   * Keeps this instance's row in the marker table {@value Presence#TABLE} and warns about other Cutovers acting
   * on the same servers ({@link Presence}); off unless called. Call before deploying.
   *
   * @param options  {@code presence} settings
   * @param identity this instance, as written to its row
   * @return this
   */
  public MonitorVerticle withPresence(Presence.Options options, Presence.Identity identity) {
    this.presenceOptions = options;
    this.identity = identity;
    return this;
  }

  /**
   * Incidents of earlier runs (read back from {@code history.dir}), oldest first: {@value #INCIDENTS_ADDRESS}
   * answers with them before this run's, as many as {@code incidents_kept} leaves room for, and this run's incidents
   * are numbered above their ids. Call before deploying.
   */
  public MonitorVerticle withHistory(List<JsonObject> incidents) {
    this.restored = List.copyOf(incidents);
    return this;
  }

  @Override
  public Future<?> start() {
    tracker = new TopologyTracker(targets, options.getFall(), options.getRise(), maxLagBytes, clock,
        new FailoverMachine(failover, targets));
    incidents = new IncidentListing(restored, failover.getIncidentsKept());
    if (incidents.firstId() > 0) {
      tracker.machine().numberIncidentsFrom(incidents.firstId());
    }
    check = new Checks(vertx, options, clock, targets);
    executor = new FailoverExecutor(vertx, options, failover);
    presence = new Presence(vertx, options, presenceOptions, identity);
    schedule = new CheckSchedule(vertx, clock, () -> check, this::handle,
        name -> tracker.nextDelay(name, options.getInterval(), options.getFastinter()).toMillis(),
        () -> options.getFastinter().toMillis());
    actions = new ActionRunner(vertx, executor, failover, authority, clock, probeHost, probePort, this::report,
        schedule::checkNow, () -> tracker.current().version());
    var bus = vertx.eventBus();
    bus.<Object>localConsumer(Topology.CURRENT_ADDRESS, msg -> msg.reply(tracker.current().toJson()));
    bus.<String>localConsumer(HINT_ADDRESS, msg -> schedule.hint(msg.body()));
    bus.<JsonArray>localConsumer(HISTORY_READ_ADDRESS, msg -> { // numbered above the predecessor's last, listed as on disk
      incidents.restore(msg.body().stream().map(JsonObject.class::cast).toList());
      tracker.machine().numberIncidentsFrom(incidents.firstId());
    });
    bus.<Object>localConsumer(INCIDENTS_ADDRESS, msg -> msg.reply(
        incidents.list(tracker.machine().closedIncidents(), tracker.machine().openIncident())));
    bus.<JsonObject>localConsumer(SWITCHOVER_ADDRESS, msg -> command(msg, (m, now) ->
        m.requestSwitchover(msg.body().getString("candidate"), now), () -> incidentReply()));
    bus.<JsonObject>localConsumer(FAILOVER_ADDRESS, msg -> command(msg, (m, now) ->
        m.requestFailover(msg.body().getString("candidate"), now), () -> incidentReply()));
    bus.<JsonObject>localConsumer(MAINTENANCE_ADDRESS, msg -> command(msg, (m, now) ->
        m.setMaintenance(msg.body().getBoolean("enabled"), msg.body().getString("reason"), now),
        () -> new JsonObject().put("maintenance", tracker.machine().maintenance())
            .put("reason", tracker.machine().maintenanceReason())));
    bus.<JsonObject>localConsumer(DRAIN_ADDRESS, msg -> command(msg, (m, now) ->
        m.drain(msg.body().getString("target"), msg.body().getLong("close_after_ms", -1L), now),
        () -> new JsonObject().put("target", msg.body().getString("target")).put("drained", true)));
    bus.<JsonObject>localConsumer(ENABLE_ADDRESS, this::enable);
    bus.<Object>localConsumer(CLUSTER_ADDRESS, msg -> msg.reply(cluster()));
    bus.<JsonObject>localConsumer(FENCE_ADDRESS, msg -> command(msg, (m, now) -> m.fence(msg.body().getString("target"), now),
        () -> new JsonObject().put("fenced", msg.body().getString("target"))));
    bus.<JsonObject>localConsumer(UNFENCE_ADDRESS, msg -> command(msg, (m, now) -> m.unfence(msg.body().getString("target"), now),
        () -> new JsonObject().put("unfenced", msg.body().getString("target"))));
    vertx.setPeriodic(100, id -> report(FailoverMachine::onTick));
    LOG.info("monitor started: targets={} checks={} failover={}", targets.stream().map(Target::name).toList(),
        options.toJson().encode(), failover.toJson().encode());
    schedule.start(targets);
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    schedule.stop();
    String primary = tracker.current().primary();
    return Future.join(presence.leave(primary == null ? null : schedule.target(primary)), check.close());
  }

  /**
   * Runs an operator command against the state machine: replies {@code reply} on success; fails the
   * message with 404 for an unknown target, 409 when the command conflicts with the state, with the reason.
   */
  private void command(io.vertx.core.eventbus.Message<JsonObject> msg,
                       BiFunction<FailoverMachine, Long, List<Action>> input,
                       java.util.function.Supplier<JsonObject> reply) {
    try {
      feed(input);
      msg.reply(reply.get());
    } catch (IllegalArgumentException e) {
      msg.fail(404, e.getMessage());
    } catch (IllegalStateException e) {
      msg.fail(409, e.getMessage());
    }
  }

  /**
   * {@value #ENABLE_ADDRESS}: ends the target's drain and failback hold; answers
   * {@code {"target", "drained": false, "drain_ended", "hold_ended"}} (what was in effect and ended).
   */
  private void enable(io.vertx.core.eventbus.Message<JsonObject> msg) {
    String target = msg.body().getString("target");
    JsonObject reply = new JsonObject().put("target", target).put("drained", false);
    command(msg, (m, now) -> {
      Overlay before = m.overlay(now);
      reply.put("drain_ended", before.drained().containsKey(target)).put("hold_ended", before.held().containsKey(target));
      return m.enable(target, now);
    }, () -> reply);
  }

  private JsonObject incidentReply() {
    Incident open = tracker.machine().openIncident();
    return open == null ? new JsonObject() : open.toJson();
  }

  private JsonObject cluster() {
    FailoverMachine m = tracker.machine();
    return new JsonObject()
        .put("topology", tracker.current().toJson())
        .put("mode", failover.getMode().label())
        .put("maintenance", new JsonObject().put("enabled", m.maintenance()).put("reason", m.maintenanceReason()))
        .put("checks", new JsonObject().put("fall", options.getFall()).put("rise", options.getRise())
            .put("interval_ms", options.getInterval().toMillis()))
        .put("rto_target_ms", failover.getRto().toMillis())
        .put("rpo_target_bytes", failover.getMaxLagOnFailoverBytes() < 0 ? null : failover.getMaxLagOnFailoverBytes())
        .put("known_primary", m.knownPrimary())
        .put("open_incident", m.openIncident() == null ? null : m.openIncident().toJson())
        .put("decisions", actions.decisions())
        .put("presence", presence.toJson())
        .put("other_cutovers", presence.othersJson());
  }

  /** One check's observation of {@code target}, a configured target: hysteresis, topology, failover, presence. */
  private void handle(Target target, Observation obs) {
    Topology before = tracker.current();
    refreshAuthority();
    tracker.record(obs).ifPresent(next -> publish(before, next));
    heartbeat(target, obs);
    shareVerdict();
    actions.run(tracker.drainActions());
  }

  /**
   * A configuration reload, carried out on the monitor's context: the targets, {@code checks}, {@code failover} and
   * {@code read.max_lag} of {@code next} from now on. What is known about a target that stays is kept (hysteresis
   * re-scaled to the new fall and rise, observations, fences, holds, drains); a removed or re-addressed one is
   * forgotten and an added or re-addressed one is checked at once, unknown until then; the primary of record, the
   * open incident and the phase are kept. The checks (and their HTTP clients, TLS files read anew) and the executor
   * are rebuilt with the new settings; checks and actions already running finish with the old ones.
   *
   * @return the snapshot after the reload, as JSON ({@link Topology#toJson()}), once it is published; failed with
   *         {@link Reconfiguration.Refused} — nothing changed — when a target the failover relies on would be removed
   *         or re-addressed ({@link Reconfiguration#conflicts})
   */
  public Future<JsonObject> reconfigure(MonitorSettings next) {
    io.vertx.core.Promise<JsonObject> done = io.vertx.core.Promise.promise();
    context.runOnContext(v -> {
      try {
        done.complete(apply(next));
      } catch (RuntimeException e) {
        done.fail(e);
      }
    });
    return done.future();
  }

  private JsonObject apply(MonitorSettings next) {
    Set<String> fresh = Reconfiguration.readdressed(targets, next.targets());
    Set<String> removed = Reconfiguration.removed(targets, next.targets());
    Set<String> leaving = new java.util.LinkedHashSet<>(removed);
    leaving.addAll(fresh);
    List<String> conflicts = Reconfiguration.conflicts(tracker.machine(), tracker.current(), leaving);
    if (!conflicts.isEmpty()) {
      throw new Reconfiguration.Refused(conflicts);
    }
    Check old = check;
    long oldTimeout = options.getTimeout().toMillis();
    targets = next.targets();
    options = next.checks();
    failover = next.failover();
    maxLagBytes = next.maxLagBytes();
    check = new Checks(vertx, options, clock, targets);
    vertx.setTimer(2 * oldTimeout + 1000, id -> old.close()); // its checks in flight end within their timeout
    executor = new FailoverExecutor(vertx, options, failover);
    actions.reconfigure(executor, failover);
    presence.checks(options);
    refreshAuthority();
    Topology before = tracker.current();
    tracker.reconfigure(targets, fresh, options.getFall(), options.getRise(), maxLagBytes, failover)
        .ifPresent(t -> publish(before, t));
    actions.run(tracker.drainActions());
    schedule.retarget(targets);
    LOG.info("monitor reconfigured: targets={} (removed {}, re-addressed {}) checks={} failover={} read.max_lag={}",
        targets.stream().map(t -> t.name() + " " + t.address()).toList(), removed, fresh, options.toJson().encode(),
        failover.toJson().encode(), maxLagBytes < 0 ? "off" : maxLagBytes);
    return tracker.current().toJson();
  }

  /** The presence heartbeat rides on checks of the routed primary while no cutover is in flight. */
  private void heartbeat(Target target, Observation obs) {
    Topology now = tracker.current();
    if (obs.role() == Role.PRIMARY && target.name().equals(now.primary()) && now.cutover() == null) {
      presence.primaryAnswered(target);
    }
  }

  private void feed(BiFunction<FailoverMachine, Long, List<Action>> input) {
    if (stopped) {
      return;
    }
    Topology before = tracker.current();
    refreshAuthority();
    tracker.apply(input).ifPresent(next -> publish(before, next));
    actions.run(tracker.drainActions());
  }

  /** Like {@link #feed} for inputs that arrive from callbacks: a failure is logged, never thrown into Vert.x. */
  private void report(BiFunction<FailoverMachine, Long, List<Action>> input) {
    try {
      feed(input);
    } catch (RuntimeException e) {
      LOG.error("the failover machine failed on an input: {}", e.toString(), e);
    }
  }

  private void refreshAuthority() {
    AuthoritySource.Standing standing = authority.standing();
    tracker.machine().setAuthority(standing.authority(), standing.reason());
    tracker.machine().setMinority(authority.minority());
    Topology before = tracker.current();
    tracker.witness(authority.versionSeen()).ifPresent(next -> publish(before, next));
  }

  private void shareVerdict() {
    String primary = tracker.machine().knownPrimary();
    boolean down = primary != null && tracker.current().target(primary)
        .map(t -> t.state() == TargetState.DOWN).orElse(false);
    authority.verdict(primary, down, tracker.current().version());
  }

  private void publish(Topology before, Topology next) {
    actions.run(PatroniFlags.changes(before, next));
    if (!next.sameRouting(before)) {
      for (TargetStatus t : next.targets()) {
        TargetStatus old = before.target(t.name()).orElse(null);
        if (old == null || old.state() != t.state() || old.role() != t.role() || old.fenced() != t.fenced()) {
          LOG.info("target {} {} -> {}/{}{} (health {}/{}{}) topology v{}", t.name(),
              old == null ? "new" : old.state().label() + "/" + old.role().label() + (old.fenced() ? "/fenced" : ""),
              t.state().label(), t.role().label(), t.fenced() ? "/fenced" : "",
              t.health(), options.getRise() + options.getFall() - 1,
              t.lastError() == null ? "" : ", last error: " + t.lastError(), next.version());
        }
      }
      LOG.info("topology {}", next.summary());
    } else if (LOG.isDebugEnabled()) {
      LOG.debug("topology {}", next.summary());
    }
    vertx.eventBus().publish(Topology.ADDRESS, next.toJson(), LOCAL);
  }

}
