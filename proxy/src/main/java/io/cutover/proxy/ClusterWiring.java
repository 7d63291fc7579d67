package io.cutover.proxy;

import io.cutover.monitor.MonitorVerticle;
import io.cutover.monitor.Topology;
import io.cutover.monitor.cluster.ClusterAuthority;
import io.cutover.proxy.http.AuditLog;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.function.Function;

/**
 * What clustered Cutover connects to the cluster authority: fences from the leader, the write lease on the sessions,
 * the audit in the shared record, and this member's own view for the others' {@code GET /api/v1/cluster}.
 */
final class ClusterWiring {

  private ClusterWiring() {
  }

  /**
   * @param fencer closes this instance's sessions to a target the leader fenced; completes with the monitor's answer
   */
  static void wire(ClusterAuthority authority, Vertx vertx, TopologyView view, SessionRegistry registry, AuditLog audit,
                   Function<String, Future<JsonObject>> fencer) {
    authority.fencer(fencer);
    registry.writeLease(authority::writeLeaseHeld);
    audit.onRecord(authority::recordAudit);
    authority.localView(() -> vertx.eventBus().<JsonArray>request(MonitorVerticle.INCIDENTS_ADDRESS, "",
            MonitorVerticle.LOCAL)
        .map(incidents -> {
          Topology t = view.current();
          // this member's authority, the primary it routes writes to, and its incidents
          return new JsonObject().put("authority", authority.toJson().getString("authority"))
              .put("topology", new JsonObject().put("version", t.version()).put("primary", t.primary())
                  .put("readable", new JsonArray(t.readable())).put("cutover", t.cutover()))
              .put("incidents", incidents.body());
        }));
  }
}
