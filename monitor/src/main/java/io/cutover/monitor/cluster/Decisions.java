package io.cutover.monitor.cluster;

import com.hazelcast.cluster.Member;
import io.cutover.monitor.MonitorVerticle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * Cluster-wide decisions and fences. Before a cutover the leader records the decision in {@value SharedState#STATE}
 * (majority-protected; its version is the fencing token, above every earlier one and every version the leader has
 * seen) and has every other member fence the old primary by it, acknowledged ({@value #FENCE_ACK_MILLIS} ms at
 * most); a member obeys only a fence from its leader that is not older than one it already obeyed.
 */
final class Decisions {

  private static final Logger LOG = LoggerFactory.getLogger(ClusterAuthority.class);
  /** Per-member address on which the leader's fence requests arrive. */
  static final String FENCE = "cutover.cluster.fence";
  /** Per-member address on which the leader lifts a fence (an aborted switchover, a recovered primary). */
  static final String UNFENCE = "cutover.cluster.unfence";
  /** Cluster-wide address: the leader just promoted this target (body: its name); every instance checks it. */
  static final String PROMOTED = "cutover.cluster.promoted";
  /** How long the leader waits for every member to acknowledge a fence, in milliseconds. */
  static final long FENCE_ACK_MILLIS = 3000;

  private final Vertx vertx;
  private final Members members;
  private final Verdicts verdicts;
  private final SharedState shared;
  /** The highest decision version this instance fenced by; an older fence is stale. */
  private final AtomicLong fencedBy = new AtomicLong();
  private volatile Function<String, Future<JsonObject>> fencer = this::fenceInMonitor;

  Decisions(Vertx vertx, Members members, Verdicts verdicts, SharedState shared) {
    this.vertx = vertx;
    this.members = members;
    this.verdicts = verdicts;
    this.shared = shared;
    var bus = vertx.eventBus();
    members.onOwnAddress(FENCE, this::onFence);
    members.onOwnAddress(UNFENCE, m -> Relay.toMonitor(vertx, m, MonitorVerticle.UNFENCE_ADDRESS, m.body()));
    bus.<String>consumer(PROMOTED, m -> bus.send(MonitorVerticle.HINT_ADDRESS, m.body(), MonitorVerticle.LOCAL));
  }

  /** A decision recorded elsewhere (the shared state) was seen: fences older than it are stale. */
  void saw(long version) {
    fencedBy.accumulateAndGet(version, Math::max);
  }

  /** How this instance carries out a fence from the leader; acknowledged only when the future succeeds. */
  void fencer(Function<String, Future<JsonObject>> fencer) {
    this.fencer = fencer;
  }

  /** See {@link io.cutover.monitor.AuthoritySource#decide}. */
  Future<Long> decide(String kind, String oldPrimary, String newPrimary, long version) {
    JsonObject decision = new JsonObject().put("kind", kind).put("old_primary", oldPrimary).put("new_primary", newPrimary)
        .put("leader", members.uuid()).put("leader_address", members.localAddress())
        .put("at", Instant.now().toString());
    return shared.update("decision", SharedStateUpdate.Mode.ADVANCE, decision, Math.max(version, verdicts.versionSeen()))
        .recover(err -> Future.failedFuture("cannot record the " + kind + " decision with a majority of members ("
            + err.getMessage() + "); not promoting"))
        .compose(stored -> {
          long v = stored.getLong("version");
          verdicts.saw(v);
          saw(v);
          LOG.warn("decision v{}: {} {} -> {}", v, kind, oldPrimary, newPrimary);
          return oldPrimary == null ? Future.succeededFuture(v) : fenceEverywhere(oldPrimary, v).map(v);
        });
  }

  private Future<Void> fenceEverywhere(String target, long version) {
    List<Future<?>> acks = new ArrayList<>();
    for (Member m : members.list()) {
      if (!m.localMember()) {
        acks.add(vertx.eventBus().request(FENCE + "." + m.getUuid(),
                new JsonObject().put("target", target).put("version", version).put("leader", members.uuid()),
                new DeliveryOptions().setSendTimeout(FENCE_ACK_MILLIS))
            .recover(err -> Future.failedFuture(m.getAddress() + ": " + err.getMessage())));
      }
    }
    return Future.all(acks).<Void>mapEmpty()
        .recover(err -> Future.failedFuture("not every instance acknowledged the fence of " + target
            + " by decision v" + version + " (" + err.getMessage() + "); not promoting"));
  }

  /**
   * A fence from the leader: obeyed only when it comes from this instance's leader and its version is not older
   * than a decision this instance already fenced by (a stale leader's decision is harmless). Acknowledged only once
   * the fencer is done: this instance no longer routes to the target and its sessions to it are closed.
   */
  private void onFence(Message<JsonObject> m) {
    JsonObject body = m.body();
    long version = body.getLong("version", 0L);
    String leader = members.leaderUuid();
    if (!Objects.equals(leader, body.getString("leader"))) {
      LOG.warn("fence of {} by decision v{} refused: it comes from {}, not from this instance's leader {}",
          body.getString("target"), version, body.getString("leader"), leader);
      m.fail(409, "fence refused: the sender is not this instance's leader");
      return;
    }
    long before = fencedBy.getAndAccumulate(version, Math::max);
    if (version < before) {
      LOG.warn("fence of {} by decision v{} refused: stale, this instance already fenced by v{}",
          body.getString("target"), version, before);
      m.fail(409, "stale decision v" + version + ": this instance already fenced by v" + before);
      return;
    }
    verdicts.saw(version);
    fencer.apply(body.getString("target")).onComplete(ar -> Relay.reply(m, ar));
  }

  /** The default fencer: this instance's monitor fences the target; fails as the monitor fails it. */
  private Future<JsonObject> fenceInMonitor(String target) {
    return vertx.eventBus().<JsonObject>request(MonitorVerticle.FENCE_ADDRESS, new JsonObject().put("target", target),
        MonitorVerticle.LOCAL).map(Message::body);
  }

  void promoted(String target) {
    vertx.eventBus().publish(PROMOTED, target);
  }

  void unfenceEverywhere(String target) {
    for (Member m : members.list()) {
      if (!m.localMember()) {
        vertx.eventBus().request(UNFENCE + "." + m.getUuid(), new JsonObject().put("target", target),
                new DeliveryOptions().setSendTimeout(FENCE_ACK_MILLIS))
            .onFailure(err -> LOG.warn("{} did not acknowledge the lifted fence of {}: {}", m.getAddress(), target,
                err.getMessage()));
      }
    }
  }
}
