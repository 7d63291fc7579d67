package io.cutover.proxy;

import io.cutover.monitor.Role;
import io.cutover.monitor.TargetState;
import io.cutover.monitor.TargetStatus;
import io.cutover.monitor.Topology;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What a new topology snapshot means for the sessions already routed, applied after the {@link TopologyView} took
 * it (a session registers before it connects and then re-reads the view, so it sees the snapshot or the snapshot's
 * enforcement sees it):
 * <ul>
 *   <li><b>Fenced target:</b> every session to it, relayed or still connecting, is closed hard at once
 *       ({@link SessionRegistry#fenceAll}): no write reaches an old primary after a cutover.</li>
 *   <li><b>No longer a readable replica</b> ({@link #stopsReads}): its read-endpoint sessions are closed hard
 *       ({@link SessionRegistry#closeReads}), like HAProxy's {@code on-marked-down shutdown-sessions}.</li>
 *   <li><b>Drained with {@code close_after}:</b> at {@code drain_close_at} its remaining sessions are closed
 *       gracefully, if it is still drained then ({@link SessionRegistry#closeAll}); one timer per drain.</li>
 * </ul>
 */
final class SessionEnforcement {

  private static final Logger LOG = LoggerFactory.getLogger(SessionEnforcement.class);

  private final Vertx vertx;
  private final TopologyView view;
  private final SessionRegistry registry;
  /** Drain grace deadlines already scheduled, per target (epoch ms). */
  private final Map<String, Long> drainTimers = new ConcurrentHashMap<>();

  SessionEnforcement(Vertx vertx, TopologyView view, SessionRegistry registry) {
    this.vertx = vertx;
    this.view = view;
    this.registry = registry;
  }

  /** Enforces {@code next} on the sessions (see the class comment). */
  void apply(Topology next) {
    long now = System.currentTimeMillis();
    for (TargetStatus t : next.targets()) {
      String name = t.name();
      if (t.fenced()) {
        registry.fenceAll(name).thenAccept(closed -> {
          if (closed > 0) {
            LOG.warn("fenced {}: closed {} session(s), relayed or connecting (topology v{})", name, closed, next.version());
          }
        });
        continue;
      }
      boolean replicaReads = ends(next, t, Endpoint.READ, false);
      boolean fallbackReads = ends(next, t, Endpoint.READ, true);
      if (replicaReads || fallbackReads) {
        int closed = registry.closeReads(name, t.target(), replicaReads, fallbackReads);
        if (closed > 0) {
          LOG.warn("{} {}: closed {} read session(s) (topology v{})", name, readsEndReason(t), closed, next.version());
        }
      }
      if (t.drained() && t.drainCloseAt() >= 0 && !Long.valueOf(t.drainCloseAt()).equals(drainTimers.put(name, t.drainCloseAt()))) {
        scheduleDrainClose(name, t.drainCloseAt() - now, next.version());
      }
    }
  }

  private void scheduleDrainClose(String name, long inMillis, long version) {
    vertx.setTimer(Math.max(1, inMillis), id -> {
      var current = view.current().target(name);
      if (current.isPresent() && current.get().drained() && view.current().version() >= version) {
        int closed = registry.closeAll(name);
        if (closed > 0) {
          LOG.warn("drained {}: closed {} remaining session(s) after the grace period", name, closed);
        }
      }
    });
  }

  /**
   * Whether a session on {@code endpoint} to {@code t} (a target of {@code topology}) must end now: {@code t} is fenced; or, on the read endpoint,
   * a session routed to it as a replica when it {@link #stopsReads stops being one}, a session that fell back to it
   * as the primary when it is DOWN or no longer reports primary.
   *
   * @param fallback a read session routed to the primary because no replica was readable
   */
  static boolean ends(Topology topology, TargetStatus t, Endpoint endpoint, boolean fallback) {
    if (t.fenced()) {
      return true;
    }
    if (endpoint != Endpoint.READ) {
      return false;
    }
    return fallback ? t.state() == TargetState.DOWN || t.role() != Role.PRIMARY : stopsReads(topology, t);
  }

  /**
   * Whether read sessions routed to {@code t} as a replica must end: it went DOWN, reports primary (promoted), no
   * longer follows the primary, or is being promoted. Lag over {@code read.max_lag} and a drain do not end them
   * (a drain has its own {@code close_after}).
   */
  static boolean stopsReads(Topology topology, TargetStatus t) {
    return t.state() == TargetState.DOWN || t.role() == Role.PRIMARY || t.name().equals(topology.promoting())
        || (t.role() == Role.REPLICA && !t.following());
  }

  private static String readsEndReason(TargetStatus t) {
    return t.state() == TargetState.DOWN ? "is down" : t.role() == Role.PRIMARY ? "reports primary"
        : t.readReason() != null ? "is not readable (" + t.readReason() + ")" : "is not readable";
  }
}
