package io.cutover.proxy.http;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Every mutating admin call: when, which action, its arguments, the outcome and who asked. Each entry
 * is one JSON log line (logger {@code io.cutover.audit}) and the last {@code admin.audit_kept} are kept
 * for {@code GET /api/v1/audit}. Thread-safe.
 */
public final class AuditLog {

  private static final Logger LOG = LoggerFactory.getLogger("io.cutover.audit");

  private final int kept;
  private final Deque<JsonObject> entries = new ArrayDeque<>();
  private volatile java.util.function.Consumer<JsonObject> listener = e -> {
  };

  public AuditLog(int kept) {
    this.kept = kept;
  }

  /**
   * @param action  e.g. {@code switchover}
   * @param args    the request's arguments (never the token)
   * @param status  the HTTP status answered
   * @param outcome what happened, human-readable
   * @param remote  the client's address
   */
  public synchronized void record(String action, JsonObject args, int status, String outcome, String remote) {
    JsonObject e = new JsonObject()
        .put("at", Instant.now().toString())
        .put("action", action)
        .put("arguments", args)
        .put("status", status)
        .put("outcome", outcome)
        .put("remote", remote);
    LOG.info(e.encode());
    entries.addLast(e);
    while (entries.size() > kept) {
      entries.removeFirst();
    }
    listener.accept(e);
  }

  /** Also hands every new entry to {@code listener} (clustered Cutover keeps them in a shared record). */
  public void onRecord(java.util.function.Consumer<JsonObject> listener) {
    this.listener = listener;
  }

  /** Entries, oldest first. */
  public synchronized JsonArray entries() {
    JsonArray out = new JsonArray();
    entries.forEach(out::add);
    return out;
  }
}
