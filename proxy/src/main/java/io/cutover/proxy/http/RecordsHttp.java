package io.cutover.proxy.http;

import io.cutover.monitor.MonitorVerticle;
import io.cutover.monitor.cluster.ClusterAuthority;
import io.cutover.monitor.cluster.SharedState;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The admin API's records, newest first: {@code GET /api/v1/incidents}, {@code GET /api/v1/incidents/{id}} and
 * {@code GET /api/v1/audit}. Lists answer {@code {"incidents" | "audit": [...], "total": n}} — {@code total}
 * counts the records kept before {@code limit} — and take {@code ?limit=N} (an integer from 1 to
 * {@value #MAX_LIMIT}; without it, every record kept). Clustered, the cluster's shared record, or this instance's
 * own when the shared record cannot be read ({@code recorded_by} says which).
 *
 * <p>Errors (JSON, as everywhere): a bad {@code limit} or incident id 400, an unknown incident 404, the monitor not
 * answering 503.
 */
final class RecordsHttp {

  /** Largest {@code limit}. */
  static final int MAX_LIMIT = 10_000;
  private static final Pattern DIGITS = Pattern.compile("[0-9]{1,18}");

  private final Vertx vertx;
  private final AuditLog audit;
  private ClusterAuthority cluster;

  RecordsHttp(Vertx vertx, AuditLog audit) {
    this.vertx = vertx;
    this.audit = audit;
  }

  /** Clustered: the records come from the cluster's shared record. */
  void clustered(ClusterAuthority authority) {
    this.cluster = authority;
  }

  void routes(Router r) {
    AllowedMethods.read(r, "/api/v1/incidents").handler(this::incidents);
    AllowedMethods.read(r, "/api/v1/incidents/:id").handler(this::incident);
    AllowedMethods.read(r, "/api/v1/audit").handler(this::audit);
  }

  /**
   * The incidents: this instance's (those of earlier runs read back from {@code history.dir} included); clustered,
   * the shared record of the leaders' incidents (each naming its member), or this instance's own when the shared
   * record cannot be read.
   */
  private void incidents(RoutingContext ctx) {
    Integer limit = limit(ctx);
    if (limit == null) {
      return;
    }
    if (cluster == null) {
      own(ctx, all -> AdminHttp.json(ctx, 200, page("incidents", all, limit)));
      return;
    }
    cluster.shared().records(SharedState.INCIDENTS).onComplete(ar -> {
      if (ar.succeeded()) {
        AdminHttp.json(ctx, 200, page("incidents", ar.result(), limit).put("recorded_by", "cluster"));
      } else {
        own(ctx, all -> AdminHttp.json(ctx, 200, page("incidents", all, limit).put("recorded_by",
            "this instance (the shared record cannot be read: " + ar.cause().getMessage() + ")")));
      }
    });
  }

  /**
   * One incident by id, as in the list. Ids are numbered per instance: clustered, the newest record with that id in
   * the shared record (its {@code recorded_by} names the member).
   */
  private void incident(RoutingContext ctx) {
    String text = ctx.pathParam("id");
    if (!DIGITS.matcher(text).matches() || Long.parseLong(text) < 1) {
      AdminHttp.error(ctx, 400, "bad request", "an incident id is a positive integer (got '" + clip(text) + "')");
      return;
    }
    long id = Long.parseLong(text);
    Consumer<JsonArray> answer = all -> {
      JsonObject found = newestWithId(all, id);
      if (found == null) {
        AdminHttp.error(ctx, 404, "not found", "no incident " + id + " is kept (see GET /api/v1/incidents)");
      } else {
        AdminHttp.json(ctx, 200, found);
      }
    };
    if (cluster == null) {
      own(ctx, answer);
    } else {
      cluster.shared().records(SharedState.INCIDENTS).onComplete(ar -> {
        if (ar.succeeded()) {
          answer.accept(ar.result());
        } else {
          own(ctx, answer);
        }
      });
    }
  }

  /**
   * This instance's audit entries (earlier runs' included); clustered, every member's from the shared record (each
   * naming its member), or this instance's own when the shared record cannot be read.
   */
  private void audit(RoutingContext ctx) {
    Integer limit = limit(ctx);
    if (limit == null) {
      return;
    }
    if (cluster == null) {
      AdminHttp.json(ctx, 200, new JsonObject().put("audit", audit.newest(limit)).put("total", audit.size()));
      return;
    }
    cluster.shared().records(SharedState.AUDIT).onComplete(ar -> AdminHttp.json(ctx, 200, ar.succeeded()
        ? page("audit", ar.result(), limit).put("recorded_by", "cluster")
        : new JsonObject().put("audit", audit.newest(limit)).put("total", audit.size())
            .put("recorded_by", "this instance (the shared record cannot be read: " + ar.cause().getMessage() + ")")));
  }

  /** This instance's incidents, oldest first, from its monitor; 503 when it does not answer. */
  private void own(RoutingContext ctx, Consumer<JsonArray> then) {
    vertx.eventBus().<JsonArray>request(MonitorVerticle.INCIDENTS_ADDRESS, "", MonitorVerticle.LOCAL).onComplete(ar -> {
      if (ar.succeeded()) {
        then.accept(ar.result().body());
      } else {
        AdminHttp.error(ctx, 503, "unavailable", "the monitor did not answer: " + ar.cause().getMessage());
      }
    });
  }

  /** {@code {key: the newest limit records of oldestFirst, newest first, "total": all of them}}. */
  static JsonObject page(String key, JsonArray oldestFirst, int limit) {
    JsonArray out = new JsonArray();
    for (int i = oldestFirst.size() - 1; i >= 0 && out.size() < limit; i--) {
      out.add(oldestFirst.getValue(i));
    }
    return new JsonObject().put(key, out).put("total", oldestFirst.size());
  }

  private static JsonObject newestWithId(JsonArray oldestFirst, long id) {
    for (int i = oldestFirst.size() - 1; i >= 0; i--) {
      if (oldestFirst.getValue(i) instanceof JsonObject o && o.getValue("id") instanceof Number n && n.longValue() == id) {
        return o;
      }
    }
    return null;
  }

  /**
   * The {@code limit} query parameter: {@link Integer#MAX_VALUE} when absent; {@code null} after answering 400 when
   * it is not one integer from 1 to {@value #MAX_LIMIT}.
   */
  static Integer limit(RoutingContext ctx) {
    List<String> values = ctx.queryParam("limit");
    if (values.isEmpty()) {
      return Integer.MAX_VALUE;
    }
    String v = values.get(0);
    if (values.size() == 1 && DIGITS.matcher(v).matches()) {
      long n = Long.parseLong(v);
      if (n >= 1 && n <= MAX_LIMIT) {
        return (int) n;
      }
    }
    AdminHttp.error(ctx, 400, "bad request", "query parameter limit must be one integer from 1 to " + MAX_LIMIT
        + " (got '" + clip(String.join("&", values)) + "')");
    return null;
  }

  private static String clip(String s) {
    return s.length() > 40 ? s.substring(0, 37) + "..." : s;
  }
}
