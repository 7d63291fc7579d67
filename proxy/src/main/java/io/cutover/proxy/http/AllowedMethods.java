package io.cutover.proxy.http;

import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What the HTTP API answers by method, on top of its routes.
 * <ul>
 *   <li>Every read route serves {@code GET} and {@code HEAD} with one handler ({@link #read}); the HTTP server drops
 *       the body of an answer to {@code HEAD}, so {@code HEAD} gets exactly the status and headers {@code GET}
 *       would, without a body.</li>
 *   <li>A method HTTP defines ({@link #DEFINED}) that a known path does not serve: 405 with the JSON error and an
 *       {@code Allow} header listing the path's methods, e.g. {@code Allow: GET, HEAD} or {@code Allow: POST}.
 *       {@code OPTIONS} is one of them: 405 with {@code Allow}, which is what it asks for (there is no CORS; the
 *       API is not meant for browsers).</li>
 *   <li>Any other method on a known path (one HTTP does not define, such as {@code FOO} or WebDAV's
 *       {@code PROPFIND}, or a defined one in another case, such as {@code get}: method names are case-sensitive):
 *       501 with the JSON error and the same {@code Allow}.</li>
 *   <li>An unknown path stays 404 for any method (the router's own match failure, not handled here).</li>
 * </ul>
 * Vert.x's router knows which methods a path's routes serve when it fails a match with 405 but does not hand them
 * to an error handler; {@link #refuseOthers} derives them from the router's own routes instead, so {@code Allow}
 * cannot drift from what is registered.
 */
final class AllowedMethods {

  /**
   * The methods HTTP defines (RFC 9110 section 9, and {@code PATCH} of RFC 5789), in the order {@code Allow} lists
   * them.
   */
  static final List<HttpMethod> DEFINED = List.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.POST, HttpMethod.PUT,
      HttpMethod.DELETE, HttpMethod.CONNECT, HttpMethod.OPTIONS, HttpMethod.TRACE, HttpMethod.PATCH);

  private AllowedMethods() {
  }

  /** A read route on {@code path}: {@code GET} and {@code HEAD}, one handler for both. */
  static Route read(Router r, String path) {
    return r.route(path).method(HttpMethod.GET).method(HttpMethod.HEAD);
  }

  /**
   * Adds, after every route registered so far, one route per path that has routes for given methods: it answers
   * any other method on that path with 405 (a method in {@link #DEFINED}) or 501 (any other), the JSON error and
   * {@code Allow}. Call it once, after the last route.
   */
  static void refuseOthers(Router r) {
    Map<String, Set<HttpMethod>> byPath = new LinkedHashMap<>();
    for (Route route : r.getRoutes()) {
      if (route.getPath() != null && route.methods() != null && !route.methods().isEmpty()) {
        // a prefix route ("/ui/*") reports its path without the "*": refuse on the same prefix
        String path = route.isExactPath() ? route.getPath() : route.getPath() + "*";
        byPath.computeIfAbsent(path, p -> new HashSet<>()).addAll(route.methods());
      }
    }
    byPath.forEach((path, methods) -> {
      String allow = allow(methods);
      r.route(path).handler(ctx -> {
        if (methods.contains(ctx.request().method())) {
          ctx.next(); // an allowed method that found nothing under a prefix route ("/ui/missing.js"): the 404
        } else {
          refuse(ctx, allow);
        }
      });
    });
  }

  /**
   * The {@code Allow} value for {@code methods}: those HTTP defines in {@link #DEFINED}'s order, then any other in
   * alphabetical order, separated by {@code ", "} (e.g. {@code "GET, HEAD"}).
   */
  static String allow(Collection<HttpMethod> methods) {
    return methods.stream().distinct()
        .sorted(Comparator.comparingInt((HttpMethod m) -> DEFINED.contains(m) ? DEFINED.indexOf(m) : DEFINED.size())
            .thenComparing(HttpMethod::name))
        .map(HttpMethod::name).collect(Collectors.joining(", "));
  }

  private static void refuse(RoutingContext ctx, String allow) {
    HttpMethod method = ctx.request().method();
    String path = ctx.request().path();
    ctx.response().putHeader("Allow", allow);
    if (DEFINED.contains(method)) {
      AdminHttp.error(ctx, 405, "method not allowed", method.name() + " is not allowed on " + path + " (Allow: " + allow + ")");
    } else {
      String name = method.name().length() > 40 ? method.name().substring(0, 37) + "..." : method.name();
      AdminHttp.error(ctx, 501, "not implemented", name + " is not a method HTTP defines (method names are "
          + "case-sensitive); " + path + " allows " + allow);
    }
  }
}
