package io.cutover.proxy;

import io.cutover.config.Durations;
import io.cutover.monitor.MonitorSettings;
import io.cutover.monitor.Reconfiguration;
import io.cutover.monitor.Target;
import io.cutover.monitor.Topology;
import io.cutover.proxy.config.ConfigChange;
import io.cutover.proxy.config.ConfigLoader;
import io.cutover.proxy.config.CutoverConfig;
import io.cutover.proxy.config.ProxyOptions;
import io.cutover.proxy.http.AdminHttp;
import io.cutover.proxy.http.AuditLog;
import io.cutover.proxy.http.EventStream;
import io.cutover.proxy.http.ReloadHttp;
import io.cutover.proxy.metrics.CutoverMetrics;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * Configuration reload without a restart, on SIGHUP ({@link #onSignal}) and {@code POST /api/v1/reload}
 * ({@link #reload}): the configuration file is read again with the environment overrides of the start, validated as at
 * start, compared with the running configuration ({@link ConfigChange}) and applied at once, except the keys that need
 * a restart, which keep their running values and are named. Nothing established is disturbed: sessions to targets that
 * stay keep running; the monitor keeps its state ({@code MonitorVerticle#reconfigure}). A removed or re-addressed
 * target gets no new session (the monitor's next snapshot no longer routes to its old address) and its sessions are
 * closed after a grace ({@code close_after}, default {@link #DEFAULT_CLOSE_AFTER}): relayed ones gracefully, as a
 * drain's {@code close_after} closes them, ones still connecting routed again.
 *
 * <p>An invalid configuration, or one the monitor refuses (it would remove or re-address the primary or a target of
 * a cutover in flight), changes nothing. Every attempt is logged and audited (action {@code reload}, arguments
 * {@code trigger} {@code SIGHUP} or {@code API}, {@code file}; remote {@code signal} for SIGHUP). Reloads run one at a
 * time, in the order asked; {@link #reload} may be called from any thread and never blocks.
 */
public final class Reloader implements ReloadHttp.Reloads {

  /** The grace after which the sessions of removed or re-addressed targets are closed, unless the call names one. */
  public static final Duration DEFAULT_CLOSE_AFTER = Duration.ofSeconds(30);

  private static final Logger LOG = LoggerFactory.getLogger(Reloader.class);

  /**
   * The parts of a running Cutover a reload changes.
   *
   * @param monitor       applies the monitor's settings ({@code MonitorVerticle#reconfigure}); answers the snapshot
   * @param applyTopology makes the data plane take a snapshot now (as the published one would be taken)
   * @param proxy         the {@code proxy} settings every new client connection reads
   */
  public record Parts(Function<MonitorSettings, Future<JsonObject>> monitor, Function<Topology, Future<Void>> applyTopology,
                      AdminHttp http, EventStream events, CutoverMetrics metrics, TopologyView view,
                      SessionRegistry registry, ClientConnections connections, AtomicReference<ProxyOptions> proxy) {
  }

  /** Where the configuration comes from: the file, the environment of the start, {@code --cluster}. */
  private record Source(Path file, Map<String, String> env, boolean cluster) {
  }

  private final Vertx vertx;
  private final Context context;
  private final Parts parts;
  private final AuditLog audit;
  private volatile Runnable afterApplied = () -> { };
  private volatile java.util.function.BooleanSupplier stopping = () -> false;
  private volatile CutoverConfig running;
  private volatile Source source;
  /** The reload in progress, if any (on {@link #context}). */
  private Future<Void> queue = Future.succeededFuture();

  /** @param running the configuration Cutover started with */
  public Reloader(Vertx vertx, CutoverConfig running, Parts parts, AuditLog audit) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.running = running;
    this.parts = parts;
    this.audit = audit;
  }

  /**
   * Enables reloads from {@code file} with {@code env} (the start's environment, for its {@code CUTOVER_*} overrides);
   * {@code cluster}: the command line's {@code --cluster}, applied to every reloaded configuration as at start.
   */
  public void source(Path file, Map<String, String> env, boolean cluster) {
    this.source = new Source(file, Map.copyOf(env), cluster);
  }

  /** The configuration in effect: the start's, then each applied reload's ({@link ConfigChange#effective()}). */
  public CutoverConfig running() {
    return running;
  }

  /** {@code POST /api/v1/reload}. */
  @Override
  public Future<ReloadHttp.Answer> reload(Duration closeAfter, String remote) {
    return enqueue("API", remote, closeAfter);
  }

  /** SIGHUP: a reload audited with remote {@code signal}; returns at once (callable from the signal's thread). */
  public Future<ReloadHttp.Answer> onSignal() {
    LOG.info("SIGHUP: reloading the configuration");
    return enqueue("SIGHUP", "signal", null);
  }

  /** While {@code stopping} says so (a graceful shutdown), reloads are refused with 503 and change nothing. */
  public void refuseWhile(java.util.function.BooleanSupplier stopping) {
    this.stopping = stopping;
  }

  private Future<ReloadHttp.Answer> enqueue(String trigger, String remote, Duration closeAfter) {
    if (stopping.getAsBoolean()) {
      LOG.warn("reload ({}) refused: Cutover is shutting down", trigger);
      return Future.succeededFuture(refused(trigger, args(trigger, closeAfter), remote, 503, "unavailable",
          "Cutover is shutting down: the running configuration stays until it stops", List.of()));
    }
    Promise<ReloadHttp.Answer> answer = Promise.promise();
    try {
      context.runOnContext(v -> {
      Future<ReloadHttp.Answer> f = queue.transform(ar -> attempt(trigger, remote, closeAfter))
          .recover(err -> {
            LOG.error("reload ({}) failed", trigger, err);
            return Future.succeededFuture(refused(trigger, args(trigger, closeAfter), remote, 500, "internal error",
                "the reload failed; see Cutover's log", List.of()));
          });
      queue = f.mapEmpty();
      f.onComplete(answer);
      });
    } catch (RuntimeException e) {
      // the event loop is gone (Cutover closed meanwhile)
      answer.tryFail(e);
    }
    return answer.future();
  }

  private static JsonObject args(String trigger, Duration closeAfter) {
    JsonObject args = new JsonObject().put("trigger", trigger);
    return closeAfter == null ? args : args.put("close_after", Durations.format(closeAfter));
  }

  private Future<ReloadHttp.Answer> attempt(String trigger, String remote, Duration closeAfter) {
    Source src = source;
    JsonObject args = args(trigger, closeAfter);
    if (src == null) {
      return Future.succeededFuture(refused(trigger, args, remote, 409, "conflict",
          "nothing to reload: this Cutover was not started from a configuration file", List.of()));
    }
    args.put("file", src.file().toString());
    Duration grace = closeAfter == null ? DEFAULT_CLOSE_AFTER : closeAfter;
    return vertx.executeBlocking(() -> ConfigLoader.load(src.file(), src.env()), false).compose(loaded -> {
      if (!loaded.ok()) {
        List<String> problems = loaded.messages();
        return Future.succeededFuture(refused(trigger, args, remote, 400, "bad request", "the configuration in "
            + src.file() + " is invalid (" + problems.size() + " problem(s)); the running configuration stays", problems));
      }
      CutoverConfig next = src.cluster() ? loaded.config().withCluster(true) : loaded.config();
      ConfigChange change = ConfigChange.of(running, next);
      CutoverConfig effective = change.effective();
      MonitorSettings settings = new MonitorSettings(effective.targets(), effective.checks(), effective.failover(),
          effective.readMaxLagBytes());
      return parts.monitor().apply(settings)
          .compose(topology -> parts.applyTopology().apply(Topology.fromJson(topology)).map(topology))
          .map(topology -> applied(trigger, args, remote, change, effective, grace, topology.getLong("version", 0L)))
          .recover(err -> err instanceof Reconfiguration.Refused r
              ? Future.succeededFuture(refused(trigger, args, remote, 409, "conflict", "the reload was refused: a target "
                  + "it would remove or re-address is needed by the failover now; the running configuration stays",
                  r.problems()))
              : Future.failedFuture(err));
    });
  }

  /**
   * Runs {@code action} after every applied reload (e.g. reading the HTTPS certificate files again, which may have been
   * renewed at the same paths); it must not block.
   */
  public void afterApplied(Runnable action) {
    this.afterApplied = action;
  }

  private ReloadHttp.Answer applied(String trigger, JsonObject args, String remote, ConfigChange change,
                                    CutoverConfig effective, Duration grace, long version) {
    afterApplied.run();
    parts.http().reconfigure(effective.adminToken(), effective.targets());
    parts.events().targets(effective.targets().stream().map(Target::name).toList());
    parts.metrics().targets(effective.targets());
    parts.metrics().failover(effective.failover());
    parts.proxy().set(effective.proxy());
    parts.connections().max(effective.proxy().maxClientConnections());
    parts.view().policy(new RoutePolicy(effective.readFallbackToPrimary()));
    running = effective;
    Set<String> leaving = new LinkedHashSet<>(change.removed());
    leaving.addAll(change.readdressed());
    leaving.forEach(name -> retire(name, change.removed().contains(name), grace));
    String file = args.getString("file");
    List<String> restart = change.restart();
    String detail = change.isEmpty() ? "no change" : (change.live().isEmpty() ? "nothing to apply"
        : "applied " + change.live().size() + " changed key(s)")
        + (restart.isEmpty() ? "" : "; these keys need a restart: " + String.join(", ", restart));
    if (change.isEmpty()) {
      LOG.info("reload ({}) of {}: no change", trigger, file);
    } else {
      LOG.info("reload ({}) of {}: applied {} (topology v{})", trigger, file,
          change.live().isEmpty() ? "nothing" : String.join(", ", change.live()), version);
    }
    if (!restart.isEmpty()) {
      LOG.warn("reload ({}) of {}: these keys need a restart: {} (their running values stay until then)", trigger, file,
          String.join(", ", restart));
    }
    audit.record("reload", args, 200, "applied: " + (change.isEmpty() ? "no change" : "changed "
        + String.join(", ", change.changed())) + (restart.isEmpty() ? "" : "; these keys need a restart: "
        + String.join(", ", restart)), remote);
    return new ReloadHttp.Answer(200, new JsonObject().put("outcome", "applied").put("detail", detail)
        .put("changed", new JsonArray(change.changed())).put("applied", new JsonArray(change.live()))
        .put("restart_needed", new JsonArray(restart))
        .put("targets", new JsonObject().put("added", new JsonArray(List.copyOf(change.added())))
            .put("removed", new JsonArray(List.copyOf(change.removed())))
            .put("readdressed", new JsonArray(List.copyOf(change.readdressed())))
            .put("close_after_ms", leaving.isEmpty() ? null : grace.toMillis()))
        .put("version", version));
  }

  /**
   * The sessions routed to {@code name} before the reload (to its old address) are closed after {@code grace}; for a
   * removed target, any session still routed to it then too.
   */
  private void retire(String name, boolean removed, Duration grace) {
    List<Registration> sessions = parts.registry().snapshot(name);
    String what = removed ? "removed" : "re-addressed";
    LOG.info("reload: {} {}: no new sessions to its old address; its {} session(s) are closed in {} ms", name, what,
        sessions.size(), grace.toMillis());
    if (sessions.isEmpty() && !removed) {
      return;
    }
    vertx.setTimer(Math.max(1, grace.toMillis()), id -> {
      Set<Registration> all = new LinkedHashSet<>(sessions);
      if (removed && running.targets().stream().noneMatch(t -> t.name().equals(name))) {
        all.addAll(parts.registry().snapshot(name));
      }
      int closed = SessionRegistry.retire(all);
      if (closed > 0) {
        LOG.warn("reload: {} {}: closed {} remaining session(s) after the grace of {} ms", name, what, closed,
            grace.toMillis());
      }
    });
  }

  private ReloadHttp.Answer refused(String trigger, JsonObject args, String remote, int status, String error,
                                    String detail, List<String> problems) {
    problems.forEach(p -> LOG.error("reload ({}) rejected: {}", trigger, p));
    LOG.error("reload ({}) rejected: {}", trigger, detail);
    audit.record("reload", args, status, "rejected: " + (problems.isEmpty() ? detail : String.join("; ", problems)),
        remote);
    JsonObject body = new JsonObject().put("error", error).put("detail", detail);
    if (!problems.isEmpty() || status == 400) {
      body.put("problems", new JsonArray(problems));
    }
    return new ReloadHttp.Answer(status, body);
  }
}
