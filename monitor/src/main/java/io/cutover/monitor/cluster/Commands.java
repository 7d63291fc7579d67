package io.cutover.monitor.cluster;

import io.cutover.monitor.MonitorVerticle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;

/**
 * Operator commands, cluster-wide: failovers and switchovers run on the leader (the one failover authority, which
 * alone consumes {@value #LEADER}); maintenance, drain and enable are first recorded in the shared state (which
 * needs a majority of members), then applied by every instance ({@value #APPLY}) and answered by this one.
 */
final class Commands {

  /** Cluster-wide address only the leader consumes: {@code {"address": ..., "message": {...}}}. */
  static final String LEADER = "cutover.cluster.leader";
  /** Cluster-wide address every instance consumes: a command each applies to its own monitor. */
  static final String APPLY = "cutover.cluster.apply";

  private final Vertx vertx;
  private final Members members;
  private final SharedState shared;
  private final String nodeId;
  private MessageConsumer<JsonObject> leaderConsumer;

  Commands(Vertx vertx, Members members, SharedState shared, String nodeId) {
    this.vertx = vertx;
    this.members = members;
    this.shared = shared;
    this.nodeId = nodeId;
    var bus = vertx.eventBus();
    bus.<JsonObject>consumer(APPLY, m -> {
      if (!nodeId.equals(m.body().getString("from"))) {
        bus.request(m.body().getString("address"), m.body().getJsonObject("message"), MonitorVerticle.LOCAL);
      }
    });
    leadership();
  }

  /** See {@link ClusterAuthority#command}. */
  Future<Message<JsonObject>> command(String address, JsonObject message, boolean leaderOnly) {
    var bus = vertx.eventBus();
    if (leaderOnly) {
      return members.isLeader() ? bus.request(address, message, MonitorVerticle.LOCAL)
          : bus.request(LEADER, new JsonObject().put("address", address).put("message", message));
    }
    return share(address, message)
        .recover(err -> Future.failedFuture(new ReplyException(ReplyFailure.RECIPIENT_FAILURE, 503,
            "the cluster's shared state cannot be changed from this instance (" + err.getMessage() + ")")))
        .compose(v -> {
          bus.publish(APPLY, new JsonObject().put("from", nodeId).put("address", address).put("message", message));
          return bus.request(address, message, MonitorVerticle.LOCAL);
        });
  }

  /** Maintenance mode and drained targets are kept in {@value SharedState#STATE} for instances that join later. */
  private Future<?> share(String address, JsonObject message) {
    String target = message.getString("target");
    return switch (address) {
      case MonitorVerticle.MAINTENANCE_ADDRESS -> shared.update("maintenance", SharedStateUpdate.Mode.REPLACE, message, 0);
      case MonitorVerticle.DRAIN_ADDRESS -> shared.update("drained", SharedStateUpdate.Mode.MERGE,
          new JsonObject().put(target, true), 0);
      case MonitorVerticle.ENABLE_ADDRESS -> shared.update("drained", SharedStateUpdate.Mode.MERGE,
          new JsonObject().putNull(target), 0);
      default -> Future.succeededFuture();
    };
  }

  /** Only the leader consumes {@value #LEADER}: commands from followers' admin APIs run here. */
  void leadership() {
    boolean leader = members.isLeader();
    if (leader && leaderConsumer == null) {
      leaderConsumer = vertx.eventBus().<JsonObject>consumer(LEADER, m ->
          Relay.toMonitor(vertx, m, m.body().getString("address"), m.body().getJsonObject("message")));
    } else if (!leader && leaderConsumer != null) {
      leaderConsumer.unregister();
      leaderConsumer = null;
    }
  }
}
