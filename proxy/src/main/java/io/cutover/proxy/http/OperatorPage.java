package io.cutover.proxy.http;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.MimeMapping;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.StaticHandler;

/**
 * The operator's page: {@code GET /} and its assets under {@code /ui/}, served from the jar's {@code webroot/}
 * (vertx-web's {@link StaticHandler}, no file system, no CDN). The page is a client of the public API
 * ({@code /api/v1/cluster}, {@code /api/v1/incidents}, {@code /api/v1/audit}, the event stream
 * {@code /api/v1/events} and the mutating calls with the bearer token the operator types in); it has no private
 * path into the monitor.
 *
 * <p>Every response of the HTTP listener, the API's JSON included, carries the security headers of
 * {@link #securityHeaders}: a Content-Security-Policy that allows only this origin's scripts, styles, images and
 * connections (no inline script, no {@code eval}, no frames, no form posts), {@code X-Content-Type-Options: nosniff}
 * and no referrer, so that nothing the page shows can make the browser talk to another host or leak the page's
 * address.
 */
public final class OperatorPage {

  /** The policy every response carries: only this origin, no inline script or style, no framing. */
  public static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; "
      + "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  private OperatorPage() {
  }

  /**
   * Installs the headers on every route (call first) and the page's routes ({@code GET}/{@code HEAD} of {@code /}
   * and {@code /ui/*}; an unknown asset is the usual JSON 404).
   */
  public static void install(Router r) {
    r.route().handler(OperatorPage::securityHeaders);
    StaticHandler assets = StaticHandler.create("webroot")
        .setIndexPage("index.html")
        .setDirectoryListing(false)
        .setIncludeHidden(false)
        // the page changes with Cutover's version: browsers revalidate (ETag) rather than keep an old script
        .setCachingEnabled(false)
        .setMaxAgeSeconds(0);
    AllowedMethods.read(r, "/").handler(OperatorPage::headType).handler(assets);
    AllowedMethods.read(r, "/ui/*").handler(OperatorPage::headType).handler(assets);
  }

  /**
   * {@code HEAD} gets the {@code Content-Type} {@code GET} gets: the {@link StaticHandler} leaves it out of its
   * {@code HEAD} answers, and a client checking an asset by {@code HEAD} should see what it would get.
   */
  private static void headType(RoutingContext ctx) {
    if (ctx.request().method() == HttpMethod.HEAD) {
      String path = ctx.normalizedPath();
      String file = path.endsWith("/") ? "index.html" : path.substring(path.lastIndexOf('/') + 1);
      ctx.addHeadersEndHandler(v -> {
        String type = MimeMapping.mimeTypeForFilename(file);
        if (ctx.response().getStatusCode() == 200 && type != null && !ctx.response().headers().contains("Content-Type")) {
          // as the StaticHandler does for GET
          ctx.response().putHeader("Content-Type", type.startsWith("text") ? type + ";charset=UTF-8" : type);
        }
      });
    }
    ctx.next();
  }

  private static void securityHeaders(RoutingContext ctx) {
    MultiMap h = ctx.response().headers();
    h.set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    h.set("X-Content-Type-Options", "nosniff");
    h.set("X-Frame-Options", "DENY");
    h.set("Referrer-Policy", "no-referrer");
    h.set("Cross-Origin-Opener-Policy", "same-origin");
    h.set("Cross-Origin-Resource-Policy", "same-origin");
    ctx.next();
  }
}
