package io.cutover.proxy.http;

import io.cutover.config.Durations;
import io.cutover.monitor.MonitorVerticle;
import io.cutover.monitor.Target;
import io.cutover.proxy.Endpoint;
import io.cutover.proxy.SessionRegistry;
import io.cutover.proxy.TopologyView;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.micrometer.PrometheusScrapingHandler;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * The management plane's routes (vertx-web): health endpoints for load balancers, the admin API under
 * {@code /api/v1} and Prometheus metrics. It reads the topology and sends commands to the monitor over the
 * event bus; it never changes routing itself.
 *
 * <p>The records ({@code /api/v1/incidents}, {@code /api/v1/audit}) are served by {@link RecordsHttp}.
 *
 * <p>Errors are always JSON {@code {"error": "...", "detail": "..."}}: malformed JSON, wrong field types, query
 * parameters or escapes 400, missing/wrong bearer token 401, no token configured 403, unknown target, incident or
 * route 404 (any method), a method HTTP defines that the path does not serve 405 with {@code Allow}, a state
 * conflict 409, a body over 64 KiB 413, a method HTTP does not define 501 with {@code Allow} (see
 * {@link AllowedMethods}), the monitor not answering 503. Every {@code GET} path answers {@code HEAD} with the status
 * {@code GET} would have and no body. Never a stack trace.
 */
public final class AdminHttp {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(AdminHttp.class);

  /** Largest accepted request body, in bytes. */
  public static final int MAX_BODY_BYTES = 64 * 1024;

  private final Vertx vertx;
  private final TopologyView view;
  private final SessionRegistry sessions;
  /** The configured targets' names: those at start, then each reload's. */
  private volatile Set<String> targets;
  private final AdminToken token;
  private final AuditLog audit;
  private final BooleanSupplier listening;
  private final String registryName;
  private final java.util.function.Supplier<JsonObject> clusterInfo;
  private final RecordsHttp records;
  private io.cutover.monitor.cluster.ClusterAuthority cluster;
  private EventStream events;
  private java.util.function.Supplier<String> stopping = () -> null;
  private final ReloadHttp reload;

  /**
   * @param adminToken   the bearer token, or {@code null} to refuse mutating calls with 403
   * @param listening    whether the data-plane listeners are bound (readiness)
   * @param registryName the Micrometer registry whose metrics {@code /metrics} shows
   */
  public AdminHttp(Vertx vertx, TopologyView view, SessionRegistry sessions, List<Target> targets, String adminToken,
                   AuditLog audit, BooleanSupplier listening, String registryName,
                   java.util.function.Supplier<JsonObject> clusterInfo) {
    this.clusterInfo = clusterInfo;
    this.vertx = vertx;
    this.view = view;
    this.sessions = sessions;
    this.token = new AdminToken(adminToken, audit);
    reconfigure(adminToken, targets);
    this.audit = audit;
    this.listening = listening;
    this.registryName = registryName;
    this.records = new RecordsHttp(vertx, audit);
    this.reload = new ReloadHttp(audit, token::authorized);
  }

  /** Clustered Cutover: operator commands act cluster-wide through the authority. */
  public AdminHttp clustered(io.cutover.monitor.cluster.ClusterAuthority authority) {
    this.cluster = authority;
    records.clustered(authority);
    return this;
  }

  /**
   * Health checks answer 503 with {@code stopping}'s reason while it is not {@code null} (a graceful shutdown), and
   * {@code POST /api/v1/shutdown} starts one (through {@link io.cutover.proxy.Shutdown#ADDRESS}).
   */
  public AdminHttp stopping(java.util.function.Supplier<String> stopping) {
    this.stopping = stopping;
    return this;
  }

  /** Serves {@code POST /api/v1/reload} with {@code reloads} (without it, the reload answers 409: nothing to reload). */
  public AdminHttp reloads(ReloadHttp.Reloads reloads) {
    reload.reloads(reloads);
    return this;
  }

  /** A reload: the admin token ({@code null}: mutating calls refused with 403) and the targets from now on. */
  public void reconfigure(String adminToken, List<Target> targets) {
    this.targets = targets.stream().map(Target::name).collect(java.util.stream.Collectors.toUnmodifiableSet());
    token.set(adminToken);
  }

  /** Serves {@code GET /api/v1/events} with {@code events} (without it, the path is unknown). */
  public AdminHttp events(EventStream events) {
    this.events = events;
    return this;
  }

  /** The routes, as documented in {@code /api/v1/openapi.yaml}. */
  public Router router() {
    Router r = Router.router(vertx);
    // bodies are read by the POST routes only: a body on GET/HEAD is ignored (a form body there made BodyHandler
    // throw, a 500); one handler per route, so that an unknown path stays a 404 rather than a POST-only 405
    BodyHandler body = BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES);
    OperatorPage.install(r);
    new HealthRoutes(view, listening, () -> stopping.get()).install(r);
    AllowedMethods.read(r, "/api/v1/cluster").handler(this::cluster);
    records.routes(r);
    AllowedMethods.read(r, "/api/v1/openapi.yaml").handler(this::openapi);
    if (events != null) {
      AllowedMethods.read(r, "/api/v1/events").handler(events);
    }
    r.post("/api/v1/failover").handler(body).handler(ctx -> mutate(ctx, "failover", this::failover));
    r.post("/api/v1/switchover").handler(body).handler(ctx -> mutate(ctx, "switchover", this::switchover));
    r.post("/api/v1/maintenance").handler(body).handler(ctx -> mutate(ctx, "maintenance", this::maintenance));
    r.post("/api/v1/targets/:name/drain").handler(body).handler(ctx -> mutate(ctx, "drain", this::drain));
    r.post("/api/v1/targets/:name/enable").handler(body).handler(ctx -> mutate(ctx, "enable", this::enable));
    r.post("/api/v1/shutdown").handler(body).handler(ctx -> mutate(ctx, "shutdown", c -> {
      body(c);
      return Command.local(io.cutover.proxy.Shutdown.ADDRESS, new JsonObject());
    }));
    r.post("/api/v1/reload").handler(body).handler(reload::handle);
    AllowedMethods.read(r, "/metrics").handler(PrometheusScrapingHandler.create(registryName));
    // last: any other method on a known path is 405 (or 501) with Allow; an unknown path stays 404
    AllowedMethods.refuseOthers(r);
    r.errorHandler(400, ctx -> error(ctx, 400, "bad request", "the request could not be parsed"));
    r.errorHandler(404, ctx -> error(ctx, 404, "not found", "no such route: " + ctx.request().path()
        + " (see /api/v1/openapi.yaml)"));
    r.errorHandler(413, ctx -> error(ctx, 413, "payload too large", "the body is limited to " + MAX_BODY_BYTES + " bytes"));
    r.errorHandler(500, ctx -> {
      // a bug, never client input: the failure and its stack trace go to the log, never to the body
      LOG.error("HTTP {} {} failed", ctx.request().method(), ctx.request().path(), ctx.failure());
      error(ctx, 500, "internal error", "the request failed; see Cutover's log");
    });
    return r;
  }

  /**
   * The answer to a request the HTTP/1.x decoder could not parse, which never reaches the router (set it as the
   * server's {@code invalidRequestHandler}): 414 for a request line over
   * {@value HttpServerOptions#DEFAULT_MAX_INITIAL_LINE_LENGTH} bytes, 431 for headers over
   * {@value HttpServerOptions#DEFAULT_MAX_HEADER_SIZE} bytes, 400 for anything else, with the JSON error (Vert.x's
   * default answers these statuses with no body); then the connection is closed.
   */
  public static void invalidRequest(HttpServerRequest request) {
    Throwable cause = request.decoderResult().cause();
    int status = cause instanceof TooLongHttpLineException ? 414 : cause instanceof TooLongHttpHeaderException ? 431 : 400;
    String detail = switch (status) {
      case 414 -> "the request line is over " + HttpServerOptions.DEFAULT_MAX_INITIAL_LINE_LENGTH + " bytes";
      case 431 -> "the headers are over " + HttpServerOptions.DEFAULT_MAX_HEADER_SIZE + " bytes";
      default -> "the request could not be parsed as HTTP/1.1";
    };
    String error = status == 414 ? "uri too long" : status == 431 ? "request header fields too large" : "bad request";
    request.response().setStatusCode(status).putHeader("Content-Type", "application/json")
        .end(new JsonObject().put("error", error).put("detail", detail).encodePrettily());
    request.connection().close();
  }

  // ---- reads ----

  private void cluster(RoutingContext ctx) {
    io.vertx.core.Future<io.vertx.core.json.JsonArray> views = cluster == null
        ? io.vertx.core.Future.succeededFuture(null) : cluster.memberViews();
    io.vertx.core.Future<JsonObject> decision = cluster == null ? io.vertx.core.Future.succeededFuture(null)
        : cluster.decision().otherwise(err -> new JsonObject().put("error", err.getMessage()));
    io.vertx.core.Future.join(views, decision).onComplete(all -> ask(ctx, MonitorVerticle.CLUSTER_ADDRESS, new JsonObject(), body -> {
      JsonObject c = (JsonObject) body;
      JsonObject perTarget = new JsonObject();
      targets.stream().sorted().forEach(t -> perTarget.put(t, sessions.sessions(t)));
      JsonObject info = clusterInfo.get();
      if (views.succeeded() && views.result() != null) {
        // every member's own view: its authority, the primary it routes to, its incidents
        info.put("member_views", views.result());
      }
      if (decision.result() != null) {
        // the latest cutover decision recorded cluster-wide; its version is the fencing token
        info.put("decision", decision.result());
      }
      c.put("cluster", info);
      // the operator's page explains how to enable its actions when no token is configured
      c.put("admin", new JsonObject().put("token_configured", token.configured()));
      return c.put("sessions", new JsonObject().put("write", sessions.sessions(Endpoint.WRITE))
          .put("read", sessions.sessions(Endpoint.READ)).put("by_target", perTarget));
    }));
  }

  private void openapi(RoutingContext ctx) {
    try (InputStream in = AdminHttp.class.getResourceAsStream("/openapi.yaml")) {
      String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      ctx.response().putHeader("Content-Type", "application/yaml; charset=utf-8").end(text);
    } catch (IOException | NullPointerException e) {
      error(ctx, 500, "internal error", "the OpenAPI document is missing from the build");
    }
  }

  // ---- mutations ----

  /**
   * What a mutation sends to the monitor, or the 4xx it answers without asking; {@code outcome} turns the monitor's
   * answer into the audit's outcome.
   */
  private record Command(String address, JsonObject message, JsonObject args, int status, String error, String detail,
                         java.util.function.Function<JsonObject, String> outcome, boolean local) {
    static Command send(String address, JsonObject message) {
      return new Command(address, message, message, 0, null, null, reply -> "accepted", false);
    }

    /** For this instance only, clustered or not (e.g. its own shutdown). */
    static Command local(String address, JsonObject message) {
      return new Command(address, message, message, 0, null, null, reply -> "accepted", true);
    }

    static Command reject(int status, String error, String detail, JsonObject args) {
      return new Command(null, null, args, status, error, detail, null, false);
    }

    Command audited(java.util.function.Function<JsonObject, String> how) {
      return new Command(address, message, args, status, error, detail, how, local);
    }
  }

  private void mutate(RoutingContext ctx, String action, java.util.function.Function<RoutingContext, Command> parse) {
    String remote = String.valueOf(ctx.request().remoteAddress());
    if (!token.authorized(ctx, action)) {
      return;
    }
    Command c;
    try {
      c = parse.apply(ctx);
    } catch (JsonBody.Invalid e) {
      audit.record(action, new JsonObject(), 400, "refused: " + e.getMessage(), remote);
      error(ctx, 400, "bad request", e.getMessage());
      return;
    }
    if (c.error() != null) {
      audit.record(action, c.args(), c.status(), "refused: " + c.detail(), remote);
      error(ctx, c.status(), c.error(), c.detail());
      return;
    }
    boolean leaderOnly = c.address().equals(MonitorVerticle.FAILOVER_ADDRESS) || c.address().equals(MonitorVerticle.SWITCHOVER_ADDRESS);
    io.vertx.core.Future<io.vertx.core.eventbus.Message<JsonObject>> sent = cluster == null || c.local()
        ? vertx.eventBus().request(c.address(), c.message(), MonitorVerticle.LOCAL) : cluster.command(c.address(), c.message(), leaderOnly);
    sent.onComplete(ar -> {
      if (ar.succeeded()) {
        JsonObject reply = ar.result().body() == null ? new JsonObject() : ar.result().body();
        audit.record(action, c.args(), 200, c.outcome().apply(reply), remote);
        json(ctx, 200, reply);
      } else {
        boolean answered = ar.cause() instanceof ReplyException re && re.failureCode() >= 400;
        int status = answered ? ((ReplyException) ar.cause()).failureCode() : 503;
        String detail = answered ? ar.cause().getMessage() : "the monitor did not answer: " + ar.cause().getMessage();
        audit.record(action, c.args(), status, "refused: " + detail, remote);
        error(ctx, status, status == 404 ? "not found" : status == 409 ? "conflict" : "unavailable", detail);
      }
    });
  }

  /** The request body as an object ({@code {}} when empty); throws {@link JsonBody.Invalid} when it is not one. */
  private static JsonObject body(RoutingContext ctx) {
    return JsonBody.object(ctx.body() == null ? null : ctx.body().asString());
  }

  private Command candidateCommand(RoutingContext ctx, String address, boolean required) {
    JsonObject b = body(ctx);
    Object candidate = b.getValue("candidate");
    if (candidate == null && required) {
      return Command.reject(400, "bad request", "field candidate (a target name) is required", b);
    }
    if (candidate != null && !(candidate instanceof String)) {
      return Command.reject(400, "bad request", "field candidate must be a string", b);
    }
    if (candidate != null && !targets.contains(candidate)) {
      return Command.reject(404, "not found", "unknown target " + candidate, b);
    }
    JsonObject msg = new JsonObject();
    if (candidate != null) {
      msg.put("candidate", candidate);
    }
    return Command.send(address, msg);
  }

  private Command failover(RoutingContext ctx) {
    return candidateCommand(ctx, MonitorVerticle.FAILOVER_ADDRESS, false);
  }

  private Command switchover(RoutingContext ctx) {
    return candidateCommand(ctx, MonitorVerticle.SWITCHOVER_ADDRESS, true);
  }

  private Command maintenance(RoutingContext ctx) {
    JsonObject b = body(ctx);
    if (!(b.getValue("enabled") instanceof Boolean enabled)) {
      return Command.reject(400, "bad request", "field enabled (true or false) is required", b);
    }
    Object reason = b.getValue("reason");
    if (reason != null && !(reason instanceof String)) {
      return Command.reject(400, "bad request", "field reason must be a string", b);
    }
    return Command.send(MonitorVerticle.MAINTENANCE_ADDRESS, new JsonObject().put("enabled", enabled).put("reason", reason));
  }

  private Command drain(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    JsonObject b = body(ctx);
    JsonObject args = b.copy().put("target", name);
    if (!targets.contains(name)) {
      return Command.reject(404, "not found", "unknown target " + name, args);
    }
    Object after = b.getValue("close_after");
    long closeAfterMs = -1;
    if (after != null) {
      if (!(after instanceof String s)) {
        return Command.reject(400, "bad request", "field close_after must be a duration such as \"30s\"", args);
      }
      try {
        closeAfterMs = Durations.parse(s).toMillis();
      } catch (IllegalArgumentException e) {
        return Command.reject(400, "bad request", "field close_after: " + e.getMessage(), args);
      }
    }
    JsonObject drain = new JsonObject().put("target", name);
    if (closeAfterMs >= 0) {
      drain.put("close_after_ms", closeAfterMs); // absent (not -1) when the sessions are never closed
    }
    return Command.send(MonitorVerticle.DRAIN_ADDRESS, drain);
  }

  private Command enable(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    body(ctx);
    if (!targets.contains(name)) {
      return Command.reject(404, "not found", "unknown target " + name, new JsonObject().put("target", name));
    }
    return Command.send(MonitorVerticle.ENABLE_ADDRESS, new JsonObject().put("target", name)).audited(AdminHttp::enabled);
  }

  /** The audit's outcome of an enable: which of drain and failback hold it ended. */
  private static String enabled(JsonObject reply) {
    boolean drain = reply.getBoolean("drain_ended", false);
    boolean hold = reply.getBoolean("hold_ended", false);
    return "accepted: " + (drain && hold ? "drain and failback hold ended" : drain ? "drain ended"
        : hold ? "failback hold ended" : "neither drained nor held");
  }

  // ---- plumbing ----

  private void ask(RoutingContext ctx, String address, JsonObject message, java.util.function.Function<Object, JsonObject> shape) {
    vertx.eventBus().request(address, message, MonitorVerticle.LOCAL).onComplete(ar -> {
      if (ar.succeeded()) {
        json(ctx, 200, shape.apply(ar.result().body()));
      } else {
        error(ctx, 503, "unavailable", "the monitor did not answer: " + ar.cause().getMessage());
      }
    });
  }

  static void json(RoutingContext ctx, int status, JsonObject body) {
    if (ctx.response().ended()) {
      return;
    }
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encodePrettily());
  }

  static void error(RoutingContext ctx, int status, String error, String detail) {
    json(ctx, status, new JsonObject().put("error", error).put("detail", detail));
  }
}
