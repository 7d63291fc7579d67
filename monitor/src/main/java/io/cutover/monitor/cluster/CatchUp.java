package io.cutover.monitor.cluster;

import io.cutover.monitor.MonitorVerticle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;
import java.util.function.Supplier;

/**
 * Brings this instance in line with the cluster's shared state — maintenance mode, drained targets, the latest
 * decision's version — when it starts and after it is merged back after a partition; retried every 0.5 s until
 * it works (the shared state cannot be read without a quorum of members). Only what differs is applied.
 */
final class CatchUp {

  private static final Logger LOG = LoggerFactory.getLogger(ClusterAuthority.class);

  private final Vertx vertx;
  private final SharedState shared;
  private final Supplier<String> minority;
  private final LongConsumer decisionSeen;
  private volatile boolean wanted;
  private volatile boolean running;

  /**
   * @param minority     non-null while this instance cannot read the shared state (no quorum of members)
   * @param decisionSeen takes the latest decision's version as seen
   */
  CatchUp(Vertx vertx, SharedState shared, Supplier<String> minority, LongConsumer decisionSeen) {
    this.vertx = vertx;
    this.shared = shared;
    this.minority = minority;
    this.decisionSeen = decisionSeen;
  }

  /** Asks for a catch-up (done at the next {@link #tick} that can). */
  void want() {
    wanted = true;
    tick();
  }

  void tick() {
    if (!wanted || running || minority.get() != null) {
      return;
    }
    running = true;
    apply().onComplete(ar -> {
      running = false;
      if (ar.succeeded()) {
        wanted = false;
      } else {
        LOG.warn("cannot apply the cluster's shared state yet ({}); retrying", ar.cause().getMessage());
      }
    });
  }

  private Future<Void> apply() {
    var bus = vertx.eventBus();
    Future<JsonObject> local = bus.<JsonObject>request(MonitorVerticle.CLUSTER_ADDRESS, "", MonitorVerticle.LOCAL)
        .map(Message::body);
    return Future.all(shared.read(List.of("decision", "maintenance", "drained")), local).compose(both -> {
      Map<String, JsonObject> values = both.resultAt(0);
      JsonObject mine = both.resultAt(1);
      List<Future<?>> applied = new ArrayList<>();
      JsonObject decision = values.get("decision");
      if (decision != null) {
        decisionSeen.accept(decision.getLong("version", 0L));
      }
      JsonObject maintenance = values.get("maintenance");
      boolean maintenanceOn = maintenance != null && Boolean.TRUE.equals(maintenance.getBoolean("enabled"));
      if (maintenanceOn != Boolean.TRUE.equals(mine.getJsonObject("maintenance").getBoolean("enabled"))) {
        applied.add(bus.request(MonitorVerticle.MAINTENANCE_ADDRESS,
            maintenanceOn ? maintenance : new JsonObject().put("enabled", false), MonitorVerticle.LOCAL));
      }
      JsonObject drained = values.getOrDefault("drained", new JsonObject());
      for (Object o : mine.getJsonObject("topology").getJsonArray("targets")) {
        JsonObject t = (JsonObject) o;
        String name = t.getString("name");
        boolean shouldBe = Boolean.TRUE.equals(drained.getBoolean(name));
        if (shouldBe != t.getBoolean("drained", false)) {
          applied.add(bus.request(shouldBe ? MonitorVerticle.DRAIN_ADDRESS : MonitorVerticle.ENABLE_ADDRESS,
              new JsonObject().put("target", name), MonitorVerticle.LOCAL));
        }
      }
      LOG.info("cluster state: decision {}, maintenance {}, drained {}; {} change(s) applied here",
          decision == null ? "none" : decision.encode(), maintenance == null ? "off" : maintenance.encode(),
          drained.encode(), applied.size());
      // an update that changes nothing, so that the first real decision does not pay for loading and
      // serializing the entry processor (measured: ~150 ms in a fresh JVM, a few ms after)
      applied.add(shared.update("decision", SharedStateUpdate.Mode.MERGE, new JsonObject(), 0));
      return Future.all(applied).<Void>mapEmpty();
    });
  }
}
