package io.cutover.proxy.http;

import io.cutover.monitor.Topology;
import io.cutover.proxy.Endpoint;
import io.cutover.proxy.Route;
import io.cutover.proxy.TopologyView;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The health endpoints for load balancers: {@code GET}/{@code HEAD}, 200 when the endpoint serves sessions now,
 * 503 when it does not, with a JSON body saying why ({@code HEAD}: the same status, no body).
 * <ul>
 *   <li>{@code /health/live}: the process answers.</li>
 *   <li>{@code /health/ready}: listeners bound and a topology known.</li>
 *   <li>{@code /health/write}: a primary is routable; else the reason, which names maintenance mode or
 *       {@code mode: manual} when no automatic failover can come.</li>
 *   <li>{@code /health/read}: the read endpoint routes new sessions — to replicas, or to the primary through
 *       {@code read.fallback_to_primary} (then {@code "fallback": "<primary>"} and the reason no replica is
 *       readable). {@code ?replicas_only=true} answers 200 only while a replica is readable, for a pool that must
 *       not load the primary.</li>
 * </ul>
 * While Cutover shuts down (SIGTERM, {@code POST /api/v1/shutdown}) all but {@code /health/live} answer 503
 * {@code {"status": "shutting down", "reason": ...}} from the first moment, so that load balancers stop sending new
 * sessions during {@code shutdown.announce}.
 */
final class HealthRoutes {

  private final TopologyView view;
  private final BooleanSupplier listening;
  private final Supplier<String> stopping;

  /**
   * @param view      the data plane's routing view (the same snapshot and route policy sessions use)
   * @param listening whether the data-plane listeners are bound
   * @param stopping  why Cutover is shutting down, or {@code null} while it runs
   */
  HealthRoutes(TopologyView view, BooleanSupplier listening, Supplier<String> stopping) {
    this.view = view;
    this.listening = listening;
    this.stopping = stopping;
  }

  private record Health(boolean ok, JsonObject body) {
  }

  void install(Router r) {
    health(r, "/health/live", ctx -> new Health(true, new JsonObject().put("status", "live")));
    health(r, "/health/ready", ctx -> unlessStopping(this::ready));
    health(r, "/health/write", ctx -> unlessStopping(this::write));
    health(r, "/health/read", ctx -> unlessStopping(() -> read(ctx)));
  }

  private Health unlessStopping(Supplier<Health> check) {
    String why = stopping.get();
    return why == null ? check.get() : new Health(false, new JsonObject().put("status", "shutting down").put("reason", why));
  }

  private void health(Router r, String path, Function<RoutingContext, Health> check) {
    // one handler for GET and HEAD: the server drops the body of the answer to HEAD
    AllowedMethods.read(r, path).handler(ctx -> {
      Health h = check.apply(ctx);
      AdminHttp.json(ctx, h.ok() ? 200 : 503, h.body());
    });
  }

  private Health ready() {
    Topology t = view.current();
    if (!listening.getAsBoolean()) {
      return new Health(false, new JsonObject().put("status", "not ready").put("reason", "listeners not bound yet"));
    }
    if (t.version() == 0) {
      return new Health(false, new JsonObject().put("status", "not ready").put("reason", "no topology known yet"));
    }
    return new Health(true, new JsonObject().put("status", "ready").put("topology_version", t.version()));
  }

  private Health write() {
    Topology t = view.current();
    JsonObject body = t.primary() != null ? new JsonObject().put("status", "ok").put("primary", t.primary())
        : new JsonObject().put("status", "unavailable").put("reason", t.writeReason());
    if (t.maintenance()) {
      body.put("maintenance", true);
    }
    return new Health(t.primary() != null, body);
  }

  private Health read(RoutingContext ctx) {
    Topology t = view.current();
    // the router's query decoding: a malformed escape is a 400 (the request's own getParam threw, a 500)
    List<String> values = ctx.queryParam("replicas_only");
    boolean replicasOnly = !values.isEmpty() && "true".equalsIgnoreCase(values.get(0));
    if (!t.readable().isEmpty()) {
      return new Health(true, new JsonObject().put("status", "ok").put("readable", t.readable()));
    }
    Route route = view.peek(t, Endpoint.READ);
    if (route.routable() && route.fallback() && !replicasOnly) {
      return new Health(true, new JsonObject().put("status", "ok").put("readable", t.readable())
          .put("fallback", route.candidates().get(0).name()).put("reason", t.readReason()));
    }
    return new Health(false, new JsonObject().put("status", "unavailable")
        .put("reason", replicasOnly ? t.readReason() : route.reason()));
  }
}
