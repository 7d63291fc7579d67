package io.cutover.proxy.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import io.cutover.monitor.AuthoritySource;
import io.cutover.monitor.MonitorVerticle;
import io.cutover.monitor.FailoverMachine.Authority;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The failover authority of clustered Cutover (Hazelcast via vertx-hazelcast).
 *
 * <ul>
 *   <li><b>Leader</b> = the first member of Hazelcast's member list (its master, normally the oldest member;
 *       every member computes the same answer from the same member-list version). When it leaves, Hazelcast's
 *       new master leads as soon as the failure detector removes it (at once for refused connections,
 *       {@code hazelcast.max.no.heartbeat.seconds} for a silent member).</li>
 *   <li><b>Quorum</b> = a majority of {@code cluster.size}. The leader promotes only while it sees a quorum
 *       of members <i>and</i> a quorum of instances (itself included) currently hold the same primary DOWN;
 *       otherwise it waits ({@link Authority#WAIT}). An instance cut off from the primary alone therefore
 *       never causes a failover, and the minority side of a partition never promotes.</li>
 *   <li>Followers ({@link Authority#FOLLOW}) fence and hold writes when they see the primary DOWN and route
 *       to whichever node then reports itself primary.</li>
 * </ul>
 * Verdicts travel on the clustered event bus address {@value #VERDICTS}; a verdict older than
 * {@code staleMillis} does not count.
 */
public final class ClusterAuthority implements AuthoritySource {

  /** Cluster-wide address of the instances' verdicts on the primary. */
  public static final String VERDICTS = "cutover.cluster.verdict";
  /** Cluster-wide address only the leader consumes: {@code {"address": ..., "message": {...}}}. */
  public static final String LEADER = "cutover.cluster.leader";
  /** Cluster-wide address every instance consumes: a command each applies to its own monitor. */
  public static final String APPLY = "cutover.cluster.apply";


  private record Verdict(String primary, boolean down, long at) {
  }

  private final Vertx vertx;
  private final HazelcastInstance hz;
  private final String nodeId;
  private final int size;
  private final long staleMillis;
  private final Map<String, Verdict> verdicts = new ConcurrentHashMap<>();
  private volatile Verdict mine = new Verdict(null, false, 0);

  /**
   * @param size        {@code cluster.size}
   * @param staleMillis how long a verdict counts (a few check intervals)
   */
  public ClusterAuthority(Vertx vertx, HazelcastInstance hz, String nodeId, int size, long staleMillis) {
    this.vertx = vertx;
    this.hz = hz;
    this.nodeId = nodeId;
    this.size = size;
    this.staleMillis = staleMillis;
    vertx.eventBus().<JsonObject>consumer(VERDICTS, m -> {
      JsonObject v = m.body();
      verdicts.put(v.getString("node"), new Verdict(v.getString("primary"), v.getBoolean("down"), System.currentTimeMillis()));
    });
    vertx.eventBus().<JsonObject>consumer(APPLY, m -> {
      if (!nodeId.equals(m.body().getString("from"))) {
        vertx.eventBus().request(m.body().getString("address"), m.body().getJsonObject("message"), MonitorVerticle.LOCAL);
      }
    });
    vertx.eventBus().<JsonObject>consumer(FENCE + "." + hz.getCluster().getLocalMember().getUuid(), m ->
        vertx.eventBus().request(io.cutover.monitor.MonitorVerticle.FENCE_ADDRESS, m.body(), MonitorVerticle.LOCAL).onComplete(ar -> {
          if (ar.succeeded()) {
            m.reply(ar.result().body());
          } else {
            m.fail(503, ar.cause().getMessage());
          }
        }));
    vertx.eventBus().<JsonObject>consumer(MEMBER + "." + hz.getCluster().getLocalMember().getUuid(), m ->
        localView.get().onComplete(ar -> {
          if (ar.succeeded()) {
            m.reply(ar.result());
          } else {
            m.fail(503, ar.cause().getMessage());
          }
        }));
    vertx.setPeriodic(500, id -> {
      broadcast();
      leadership();
    });
    leadership();
  }

  private io.vertx.core.eventbus.MessageConsumer<JsonObject> leaderConsumer;

  /** How long the leader waits for every member to acknowledge a fence, in milliseconds. */
  private static final long FENCE_ACK_MILLIS = 3000;

  @Override
  public String minority() {
    int n = members().size();
    return n < quorum() ? "this instance sees " + n + " of cluster.size " + size + " members, quorum " + quorum() : null;
  }

  @Override
  public io.vertx.core.Future<Void> fenceEverywhere(String target) {
    List<io.vertx.core.Future<?>> acks = new ArrayList<>();
    for (Member m : members()) {
      if (m.localMember()) {
        continue;
      }
      String address = FENCE + "." + m.getUuid();
      acks.add(vertx.eventBus().request(address, new JsonObject().put("target", target),
          new io.vertx.core.eventbus.DeliveryOptions().setSendTimeout(FENCE_ACK_MILLIS))
          .recover(err -> io.vertx.core.Future.failedFuture(m.getAddress() + ": " + err.getMessage())));
    }
    return io.vertx.core.Future.all(acks).<Void>mapEmpty()
        .recover(err -> io.vertx.core.Future.failedFuture("not every instance acknowledged the fence of " + target
            + " (" + err.getMessage() + "); not promoting"));
  }

  /** Per-member address on which the leader's fence requests arrive. */
  public static final String FENCE = "cutover.cluster.fence";
  /** Per-member address answering with that member's own view (topology, incidents, audit). */
  public static final String MEMBER = "cutover.cluster.member";

  private volatile java.util.function.Supplier<io.vertx.core.Future<JsonObject>> localView =
      () -> io.vertx.core.Future.succeededFuture(new JsonObject());

  /** What this instance answers on {@value #MEMBER} (set by Cutover once its parts run). */
  public void localView(java.util.function.Supplier<io.vertx.core.Future<JsonObject>> view) {
    this.localView = view;
  }

  /**
   * Every member's own view, oldest member first; a member that does not answer within 2 s is listed with
   * an {@code error}.
   */
  public io.vertx.core.Future<JsonArray> memberViews() {
    List<io.vertx.core.Future<JsonObject>> views = new ArrayList<>();
    for (Member m : members()) {
      String address = m.getAddress().toString();
      views.add(vertx.eventBus().<JsonObject>request(MEMBER + "." + m.getUuid(), new JsonObject(),
              new io.vertx.core.eventbus.DeliveryOptions().setSendTimeout(2000))
          .map(msg -> msg.body().put("member", address).put("leader", m.equals(members().get(0))))
          .otherwise(err -> new JsonObject().put("member", address).put("error", err.getMessage())));
    }
    return io.vertx.core.Future.all(views).map(all -> {
      JsonArray out = new JsonArray();
      views.forEach(f -> out.add(f.result()));
      return out;
    });
  }

  /** Only the leader consumes {@value #LEADER}: commands from followers' admin APIs run here. */
  private void leadership() {
    boolean leader = isLeader();
    if (leader && leaderConsumer == null) {
      leaderConsumer = vertx.eventBus().<JsonObject>consumer(LEADER, m ->
          vertx.eventBus().<JsonObject>request(m.body().getString("address"), m.body().getJsonObject("message"), MonitorVerticle.LOCAL)
              .onComplete(ar -> {
                if (ar.succeeded()) {
                  m.reply(ar.result().body());
                } else if (ar.cause() instanceof io.vertx.core.eventbus.ReplyException re) {
                  m.fail(re.failureCode(), re.getMessage());
                } else {
                  m.fail(503, ar.cause().getMessage());
                }
              }));
    } else if (!leader && leaderConsumer != null) {
      leaderConsumer.unregister();
      leaderConsumer = null;
    }
  }

  /**
   * Sends an operator command cluster-wide: failovers and switchovers run on the leader (the one failover
   * authority); maintenance, drain and enable are applied by every instance (each routes by its own
   * overlay) and answered by this one.
   */
  public io.vertx.core.Future<io.vertx.core.eventbus.Message<JsonObject>> command(String address, JsonObject message,
                                                                                  boolean leaderOnly) {
    if (leaderOnly) {
      return isLeader() ? vertx.eventBus().request(address, message, MonitorVerticle.LOCAL)
          : vertx.eventBus().request(LEADER, new JsonObject().put("address", address).put("message", message));
    }
    vertx.eventBus().publish(APPLY, new JsonObject().put("from", nodeId).put("address", address).put("message", message));
    return vertx.eventBus().request(address, message, MonitorVerticle.LOCAL);
  }

  private List<Member> members() {
    return new ArrayList<>(hz.getCluster().getMembers());
  }

  @Override
  public boolean leader() {
    return isLeader();
  }

  public boolean isLeader() {
    List<Member> m = members();
    return !m.isEmpty() && m.get(0).localMember();
  }

  private int quorum() {
    return size / 2 + 1;
  }

  @Override
  public Standing standing() {
    return decide(true);
  }

  /**
   * @param primaryDown whether to answer for a moment when this instance holds the primary DOWN (the only
   *                    moment the answer matters to the state machine)
   */
  private Standing decide(boolean primaryDown) {
    List<Member> m = members();
    if (m.isEmpty() || !m.get(0).localMember()) {
      return new Standing(Authority.FOLLOW, "follower; the leader is " + (m.isEmpty() ? "unknown" : m.get(0).getAddress()));
    }
    if (m.size() < quorum()) {
      return new Standing(Authority.WAIT, m.size() + " of cluster.size " + size + " members visible, quorum " + quorum());
    }
    if (!primaryDown) {
      return new Standing(Authority.PROMOTE, "leader with " + m.size() + " of " + size + " members");
    }
    // Asked when this instance's own checks hold the primary DOWN: count itself plus every other instance
    // whose fresh verdict holds the same primary DOWN.
    String primary = mine.primary();
    long now = System.currentTimeMillis();
    long agree = verdicts.entrySet().stream()
        .filter(e -> !e.getKey().equals(nodeId))
        .map(Map.Entry::getValue)
        .filter(v -> now - v.at() <= staleMillis && v.down() && (primary == null || Objects.equals(v.primary(), primary)))
        .count() + 1;
    String what = primary == null ? "the primary" : primary;
    if (agree < quorum()) {
      return new Standing(Authority.WAIT, agree + " of " + size + " instances see " + what + " DOWN, quorum " + quorum());
    }
    return new Standing(Authority.PROMOTE, agree + " of " + size + " instances see " + what + " DOWN");
  }

  @Override
  public void verdict(String primary, boolean down) {
    Verdict before = mine;
    mine = new Verdict(primary, down, System.currentTimeMillis());
    if (!Objects.equals(before.primary(), primary) || before.down() != down) {
      broadcast();
    }
  }

  private void broadcast() {
    Verdict v = mine;
    vertx.eventBus().publish(VERDICTS, new JsonObject().put("node", nodeId).put("primary", v.primary()).put("down", v.down()));
  }

  /** Members (oldest first), the leader, quorum and this instance's authority, for {@code /api/v1/cluster}. */
  public JsonObject toJson() {
    JsonArray list = new JsonArray();
    for (Member m : members()) {
      list.add(new JsonObject().put("uuid", m.getUuid().toString()).put("address", m.getAddress().toString())
          .put("local", m.localMember()));
    }
    Standing d = decide(mine.down());
    return new JsonObject().put("enabled", true).put("size", size).put("quorum", quorum()).put("members", list)
        .put("leader", isLeader()).put("authority", d.authority().name().toLowerCase(java.util.Locale.ROOT))
        .put("reason", d.reason());
  }
}
