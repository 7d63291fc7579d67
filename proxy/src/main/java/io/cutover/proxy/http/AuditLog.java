package io.cutover.proxy.http;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Every mutating admin call: when, which action, its arguments, the outcome and who asked. Each entry
 * is one JSON log line (logger {@code io.cutover.audit}) and the last {@code admin.audit_kept} are kept
 * for {@code GET /api/v1/audit} (with {@code history.dir}, also on disk: see {@code History}). Thread-safe.
 */
public final class AuditLog {

  private static final Logger LOG = LoggerFactory.getLogger("io.cutover.audit");

  private final int kept;
  private final Deque<JsonObject> entries = new ArrayDeque<>();
  private final List<Consumer<JsonObject>> listeners = new CopyOnWriteArrayList<>();

  /** @param kept entries kept in memory ({@code admin.audit_kept}, at least 1) */
  public AuditLog(int kept) {
    this(kept, List.of());
  }

  /**
   * @param kept     entries kept in memory ({@code admin.audit_kept}, at least 1)
   * @param restored entries of earlier runs, oldest first (read back from {@code history.dir}); the newest
   *                 {@code kept} are kept
   */
  public AuditLog(int kept, List<JsonObject> restored) {
    this.kept = kept;
    restored.forEach(this::keep);
  }

  private void keep(JsonObject e) {
    entries.addLast(e);
    while (entries.size() > kept) {
      entries.removeFirst();
    }
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
    keep(e);
    listeners.forEach(l -> l.accept(e));
  }

  /**
   * Also hands every new entry to {@code listener} (clustered Cutover keeps them in a shared record, the history
   * on disk); it must not block.
   */
  public void onRecord(Consumer<JsonObject> listener) {
    listeners.add(listener);
  }

  /** The newest {@code limit} entries, newest first. */
  public synchronized JsonArray newest(int limit) {
    JsonArray out = new JsonArray();
    java.util.Iterator<JsonObject> it = entries.descendingIterator();
    while (it.hasNext() && out.size() < limit) {
      out.add(it.next());
    }
    return out;
  }

  /** How many entries are kept now. */
  public synchronized int size() {
    return entries.size();
  }

  /** Entries, oldest first. */
  public synchronized JsonArray entries() {
    JsonArray out = new JsonArray();
    entries.forEach(out::add);
    return out;
  }
}
