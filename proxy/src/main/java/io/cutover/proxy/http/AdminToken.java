package io.cutover.proxy.http;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The admin token that mutating calls need ({@code Authorization: Bearer <token>}, compared in constant time as
 * SHA-256 digests): {@code admin.token} or {@code CUTOVER_ADMIN_TOKEN}, replaced by a configuration reload
 * ({@link #set}). A refused call is answered — 403 when no token is configured, 401 without the right one — and
 * audited. Thread-safe.
 */
final class AdminToken {

  private final AuditLog audit;
  private volatile byte[] digest;

  /** @param token the bearer token, or {@code null} to refuse mutating calls with 403 */
  AdminToken(String token, AuditLog audit) {
    this.audit = audit;
    set(token);
  }

  /** The token from now on ({@code null}: mutating calls are refused with 403). */
  void set(String token) {
    this.digest = token == null ? null : sha256(token);
  }

  boolean configured() {
    return digest != null;
  }

  /** Whether the request carries the admin token; if not, it is answered (403 or 401) and audited as {@code action}. */
  boolean authorized(RoutingContext ctx, String action) {
    String remote = String.valueOf(ctx.request().remoteAddress());
    byte[] expected = digest;
    if (expected == null) {
      audit.record(action, new JsonObject(), 403, "refused: no admin token configured", remote);
      AdminHttp.error(ctx, 403, "forbidden", "mutating calls are disabled: set admin.token in the configuration "
          + "or the CUTOVER_ADMIN_TOKEN environment variable (at least 16 characters)");
      return false;
    }
    String auth = ctx.request().getHeader("Authorization");
    if (auth == null || !auth.regionMatches(true, 0, "Bearer ", 0, 7)
        || !MessageDigest.isEqual(sha256(auth.substring(7).trim()), expected)) {
      String why = auth == null ? "missing Authorization: Bearer <token>" : "wrong token";
      audit.record(action, new JsonObject(), 401, "refused: " + why, remote);
      ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"cutover\"");
      AdminHttp.error(ctx, 401, "unauthorized", why);
      return false;
    }
    return true;
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
