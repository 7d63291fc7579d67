package io.cutover.proxy.http;

import io.cutover.config.Durations;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.time.Duration;
import java.util.function.BiPredicate;

/**
 * {@code POST /api/v1/reload} (admin token): re-reads the configuration file and applies it ({@link Reloads}, which
 * audits every attempt). The body is optional: {@code {"close_after": "30s"}} sets the grace after which the sessions
 * of removed or re-addressed targets are closed. Answers what the reload answers: 200 (applied; the keys that need a
 * restart are listed), 400 (invalid configuration, one line per problem in {@code problems}) or 409 (refused by the
 * monitor's state, or nothing to reload), as {@code {"error", "detail", "problems"}} when not applied. A malformed body
 * or {@code close_after} is 400 before any reload, audited.
 */
public final class ReloadHttp {

  /** What carries out a reload. */
  @FunctionalInterface
  public interface Reloads {
    /**
     * Reloads the configuration, audits it and answers.
     *
     * @param closeAfter the grace for the sessions of removed or re-addressed targets, or {@code null} for the default
     * @param remote     who asked (the client's address)
     * @return the answer; never failed
     */
    Future<Answer> reload(Duration closeAfter, String remote);
  }

  /** An HTTP answer: the status and its JSON body. */
  public record Answer(int status, JsonObject body) {
  }

  private final AuditLog audit;
  private final BiPredicate<RoutingContext, String> authorized;
  private volatile Reloads reloads;

  /** @param authorized whether the request carries the admin token (else it was answered and audited) */
  ReloadHttp(AuditLog audit, BiPredicate<RoutingContext, String> authorized) {
    this.audit = audit;
    this.authorized = authorized;
  }

  void reloads(Reloads r) {
    this.reloads = r;
  }

  void handle(RoutingContext ctx) {
    if (!authorized.test(ctx, "reload")) {
      return;
    }
    String remote = String.valueOf(ctx.request().remoteAddress());
    Duration closeAfter = null;
    JsonObject args = new JsonObject().put("trigger", "API");
    try {
      JsonObject body = JsonBody.object(ctx.body() == null ? null : ctx.body().asString());
      Object after = body.getValue("close_after");
      if (after != null) {
        args.put("close_after", after);
        if (!(after instanceof String s)) {
          throw new JsonBody.Invalid("field close_after must be a duration such as \"30s\"");
        }
        try {
          closeAfter = Durations.parse(s);
        } catch (IllegalArgumentException e) {
          throw new JsonBody.Invalid("field close_after: " + e.getMessage());
        }
      }
    } catch (JsonBody.Invalid e) {
      audit.record("reload", args, 400, "refused: " + e.getMessage(), remote);
      AdminHttp.error(ctx, 400, "bad request", e.getMessage());
      return;
    }
    Reloads r = reloads;
    if (r == null) {
      String detail = "nothing to reload: this Cutover was not started from a configuration file";
      audit.record("reload", args, 409, "refused: " + detail, remote);
      AdminHttp.error(ctx, 409, "conflict", detail);
      return;
    }
    r.reload(closeAfter, remote).onComplete(ar -> {
      if (ar.succeeded()) {
        AdminHttp.json(ctx, ar.result().status(), ar.result().body());
      } else {
        ctx.fail(ar.cause());
      }
    });
  }
}
