package io.cutover.proxy.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import io.cutover.monitor.AuthoritySource;
import io.cutover.monitor.Authority;
import io.cutover.monitor.MonitorVerticle;
import io.cutover.monitor.cluster.Lease;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;

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
 *   <li><b>Decisions</b> are recorded in the Hazelcast map {@value SharedState#STATE}, which Cutover protects with
 *       Hazelcast split-brain protection (a majority of {@code cluster.size} members, see
 *       {@link SharedState#configure}): a leader that lost the majority cannot record one, so it cannot promote. Each
 *       decision gets a version above every earlier one and above every topology version its leader has
 *       seen; it is the fencing token: every other instance fences the old primary by it, rejects a fence
 *       with an older version or from a member that is not its leader, and numbers its own snapshots above
 *       it.</li>
 *   <li>Followers ({@link Authority#FOLLOW}) fence and hold writes when they see the primary DOWN and route
 *       to whichever node then reports itself primary.</li>
 * </ul>
 * Shared state: the latest decision, maintenance mode and drained targets ({@value SharedState#STATE}), the leader's
 * incident records ({@value SharedState#INCIDENTS}) and every instance's audit entries ({@value SharedState#AUDIT}); an instance
 * that joins later applies maintenance mode and drains from there. Verdicts travel on the clustered event bus
 * address {@value #VERDICTS}; a verdict older than {@code staleMillis} does not count.
 */
public final class ClusterAuthority implements AuthoritySource {

  private static final Logger LOG = LoggerFactory.getLogger(ClusterAuthority.class);

  /** Cluster-wide address of the instances' verdicts on the primary. */
  public static final String VERDICTS = "cutover.cluster.verdict";
  /** Cluster-wide address only the leader consumes: {@code {"address": ..., "message": {...}}}. */
  public static final String LEADER = "cutover.cluster.leader";
  /** Cluster-wide address every instance consumes: a command each applies to its own monitor. */
  public static final String APPLY = "cutover.cluster.apply";
  /** Cluster-wide address: the leader just promoted this target (body: its name); every instance checks it. */
  public static final String PROMOTED = "cutover.cluster.promoted";
  /** Per-member address on which the leader's fence requests arrive. */
  public static final String FENCE = "cutover.cluster.fence";
  /** Per-member address on which the leader lifts a fence after an aborted switchover. */
  public static final String UNFENCE = "cutover.cluster.unfence";
  /** Per-member address answering with that member's own view (topology, incidents). */
  public static final String MEMBER = "cutover.cluster.member";
  /** Per-member address answering another instance's write-lease renewal ({@link Lease}). */
  public static final String LEASE = "cutover.cluster.lease";

  /** How long the leader waits for every member to acknowledge a fence, in milliseconds. */
  private static final long FENCE_ACK_MILLIS = 3000;

  /** An instance's verdict on the primary, its topology version, and when it was received (ms). */
  private record Verdict(String primary, boolean down, long version, long at) {
  }

  private final Vertx vertx;
  private final HazelcastInstance hz;
  private final String nodeId;
  /** This member's Hazelcast UUID; Hazelcast gives a member a new one when it merges after a partition. */
  private volatile String uuid;
  private final List<MessageConsumer<JsonObject>> memberConsumers = new ArrayList<>();
  private final int size;
  private final long staleMillis;
  private final int incidentsKept;
  private final int auditKept;
  private final SharedState shared;
  private final Map<String, Verdict> verdicts = new ConcurrentHashMap<>();
  private final AtomicLong versionSeen = new AtomicLong();
  /** The highest decision version this instance fenced by; an older fence is stale. */
  private final AtomicLong fencedBy = new AtomicLong();
  private volatile boolean catchUpWanted;
  private volatile boolean catchingUp;
  private volatile Verdict mine = new Verdict(null, false, 0, 0);
  private volatile Supplier<Future<JsonObject>> localView = () -> Future.succeededFuture(new JsonObject());
  private MessageConsumer<JsonObject> leaderConsumer;
  private final Lease lease;
  private volatile Function<String, Future<JsonObject>> fencer = this::fenceInMonitor;

  /**
   * @param size        {@code cluster.size}
   * @param staleMillis how long a verdict counts (a few check intervals), in milliseconds
   * @param incidentsKept incident records kept in {@value SharedState#INCIDENTS} ({@code failover.incidents_kept})
   * @param auditKept     audit entries kept in {@value SharedState#AUDIT} ({@code admin.audit_kept})
   * @param leaseMillis   {@code cluster.lease} in ms ({@link Lease})
   */
  public ClusterAuthority(Vertx vertx, HazelcastInstance hz, String nodeId, int size, long staleMillis,
                          int incidentsKept, int auditKept, long leaseMillis) {
    this.vertx = vertx;
    this.hz = hz;
    this.nodeId = nodeId;
    this.size = size;
    this.staleMillis = staleMillis;
    this.incidentsKept = incidentsKept;
    this.auditKept = auditKept;
    this.shared = new SharedState(vertx, hz);
    this.lease = new Lease(leaseMillis, quorum());
    var bus = vertx.eventBus();
    bus.<JsonObject>consumer(VERDICTS, m -> {
      JsonObject v = m.body();
      JsonObject answered = v.getJsonObject("answered");
      if (answered != null && v.getString("uuid") != null && !v.getString("uuid").equals(uuid)) {
        Map<String, Long> ages = new java.util.HashMap<>();
        answered.forEach(e -> ages.put(e.getKey(), ((Number) e.getValue()).longValue()));
        lease.peerAnswered(v.getString("uuid"), ages, monotonicMillis());
      }
      verdicts.put(v.getString("node"), new Verdict(v.getString("primary"), v.getBoolean("down"),
          v.getLong("version", 0L), System.currentTimeMillis()));
      versionSeen.accumulateAndGet(v.getLong("version", 0L), Math::max);
    });
    bus.<String>consumer(PROMOTED, m -> bus.send(MonitorVerticle.HINT_ADDRESS, m.body(), MonitorVerticle.LOCAL));
    bus.<JsonObject>consumer(APPLY, m -> {
      if (!nodeId.equals(m.body().getString("from"))) {
        bus.request(m.body().getString("address"), m.body().getJsonObject("message"), MonitorVerticle.LOCAL);
      }
    });
    registerMemberAddresses();
    bus.<JsonObject>localConsumer(MonitorVerticle.INCIDENT_OPENED_ADDRESS, m -> recordIncident(m.body(), false));
    bus.<JsonObject>localConsumer(MonitorVerticle.INCIDENT_CLOSED_ADDRESS, m -> recordIncident(m.body(), true));
    vertx.setPeriodic(500, id -> {
      if (!uuid.equals(hz.getCluster().getLocalMember().getUuid().toString())) {
        // merged back after a partition: new addresses, and the shared state may have changed meanwhile
        registerMemberAddresses();
        catchUpWanted = true;
      }
      tryCatchUp();
      broadcast();
      leadership();
    });
    vertx.setPeriodic(Math.max(50, Math.min(500, leaseMillis / 4)), id -> renewLease());
    renewLease();
    leadership();
  }

  /** This instance's clock for the lease: monotonic milliseconds (never compared across instances). */
  private static long monotonicMillis() {
    return System.nanoTime() / 1_000_000;
  }

  /**
   * One lease renewal round: every other member is asked to answer; once a quorum (this instance included) has,
   * the lease runs until the round's send time + {@code cluster.lease}.
   */
  private void renewLease() {
    long round = lease.startRound(monotonicMillis());
    long timeout = Math.max(100, lease.leaseMillis() / 2);
    for (Member m : members()) {
      if (m.localMember()) {
        continue;
      }
      String other = m.getUuid().toString();
      vertx.eventBus().request(LEASE + "." + other, new JsonObject().put("uuid", uuid),
          new DeliveryOptions().setSendTimeout(timeout)).onSuccess(reply -> lease.answered(round, other));
    }
  }

  /** This member's own addresses ({@value #FENCE}, {@value #UNFENCE}, {@value #MEMBER} + its UUID). */
  private void registerMemberAddresses() {
    memberConsumers.forEach(MessageConsumer::unregister);
    memberConsumers.clear();
    String before = uuid;
    uuid = hz.getCluster().getLocalMember().getUuid().toString();
    if (before != null) {
      LOG.warn("this member's Hazelcast UUID changed from {} to {} (merged after a partition)", before, uuid);
    }
    var bus = vertx.eventBus();
    memberConsumers.add(bus.<JsonObject>consumer(FENCE + "." + uuid, this::onFence));
    memberConsumers.add(bus.<JsonObject>consumer(UNFENCE + "." + uuid, m -> relay(m, MonitorVerticle.UNFENCE_ADDRESS, m.body())));
    memberConsumers.add(bus.<JsonObject>consumer(LEASE + "." + uuid, m -> {
      lease.iAnswered(m.body().getString("uuid"), monotonicMillis());
      m.reply(new JsonObject());
    }));
    memberConsumers.add(bus.<JsonObject>consumer(MEMBER + "." + uuid, m -> localView.get().onComplete(ar -> {
      if (ar.succeeded()) {
        m.reply(ar.result());
      } else {
        m.fail(503, ar.cause().getMessage());
      }
    })));
  }

  // ---- the failover authority ----

  @Override
  public boolean leader() {
    return isLeader();
  }

  /** Whether this instance is the cluster's leader (the first member of Hazelcast's member list). */
  public boolean isLeader() {
    List<Member> m = members();
    return !m.isEmpty() && m.get(0).localMember();
  }

  @Override
  public String minority() {
    int n = members().size();
    if (n < quorum()) {
      return "this instance sees " + n + " of cluster.size " + size + " members, quorum " + quorum();
    }
    return lease.expired(monotonicMillis());
  }

  @Override
  public Standing standing() {
    return standing(true);
  }

  /**
   * @param primaryDown whether to answer for a moment when this instance holds the primary DOWN (the only
   *                    moment the answer matters to the state machine)
   */
  private Standing standing(boolean primaryDown) {
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
    java.util.Set<String> uuids = new java.util.HashSet<>();
    m.forEach(member -> uuids.add(member.getUuid().toString()));
    long clock = monotonicMillis();
    long wait = lease.promoteNotBefore(uuids) - clock;
    if (wait > 0) {
      return new Standing(Authority.WAIT, "the write lease of instance(s) " + lease.mayStillWrite(uuids, clock)
          + " that left may still run for " + wait + " ms (cluster.lease " + lease.leaseMillis() + " ms + "
          + Lease.MARGIN_PERCENT + "%)");
    }
    return new Standing(Authority.PROMOTE, agree + " of " + size + " instances see " + what + " DOWN");
  }

  @Override
  public void verdict(String primary, boolean down, long version) {
    Verdict before = mine;
    mine = new Verdict(primary, down, version, System.currentTimeMillis());
    if (!Objects.equals(before.primary(), primary) || before.down() != down) {
      broadcast();
    }
  }

  private void broadcast() {
    Verdict v = mine;
    JsonObject answered = new JsonObject();
    lease.answeredAges(monotonicMillis()).forEach(answered::put);
    vertx.eventBus().publish(VERDICTS, new JsonObject().put("node", nodeId).put("uuid", uuid).put("primary", v.primary())
        .put("down", v.down()).put("version", v.version()).put("answered", answered));
  }

  @Override
  public long versionSeen() {
    return versionSeen.get();
  }

  @Override
  public Future<Long> decide(String kind, String oldPrimary, String newPrimary, long version) {
    JsonObject decision = new JsonObject().put("kind", kind).put("old_primary", oldPrimary).put("new_primary", newPrimary)
        .put("leader", uuid).put("leader_address", localAddress())
        .put("at", Instant.now().toString());
    return shared.update("decision", SharedStateUpdate.Mode.ADVANCE, decision, Math.max(version, versionSeen.get()))
        .recover(err -> Future.failedFuture("cannot record the " + kind + " decision with a majority of members ("
            + err.getMessage() + "); not promoting"))
        .compose(stored -> {
          long v = stored.getLong("version");
          versionSeen.accumulateAndGet(v, Math::max);
          fencedBy.accumulateAndGet(v, Math::max);
          LOG.warn("decision v{}: {} {} -> {}", v, kind, oldPrimary, newPrimary);
          return oldPrimary == null ? Future.succeededFuture(v) : fenceEverywhere(oldPrimary, v).map(v);
        });
  }

  private Future<Void> fenceEverywhere(String target, long version) {
    List<Future<?>> acks = new ArrayList<>();
    for (Member m : members()) {
      if (m.localMember()) {
        continue;
      }
      acks.add(vertx.eventBus().request(FENCE + "." + m.getUuid(),
              new JsonObject().put("target", target).put("version", version).put("leader", uuid),
              new DeliveryOptions().setSendTimeout(FENCE_ACK_MILLIS))
          .recover(err -> Future.failedFuture(m.getAddress() + ": " + err.getMessage())));
    }
    return Future.all(acks).<Void>mapEmpty()
        .recover(err -> Future.failedFuture("not every instance acknowledged the fence of " + target
            + " by decision v" + version + " (" + err.getMessage() + "); not promoting"));
  }

  /**
   * A fence from the leader: obeyed only when it comes from this instance's leader and its version is not
   * older than a decision this instance already fenced by (a stale leader's decision is harmless). Acknowledged
   * only once the {@link #fencer} is done: this instance no longer routes to the target and its sessions to
   * it are closed.
   */
  private void onFence(Message<JsonObject> m) {
    JsonObject body = m.body();
    long version = body.getLong("version", 0L);
    List<Member> members = members();
    String leader = members.isEmpty() ? null : members.get(0).getUuid().toString();
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
    versionSeen.accumulateAndGet(version, Math::max);
    fencer.apply(body.getString("target")).onComplete(ar -> reply(m, ar));
  }

  /**
   * How this instance carries out a fence from the leader (Cutover: the monitor fences the target and its
   * sessions are closed); the fence is acknowledged only when the returned future succeeds. By default the
   * monitor alone is told.
   */
  public void fencer(Function<String, Future<JsonObject>> fencer) {
    this.fencer = fencer;
  }

  @Override
  public void promoted(String target) {
    vertx.eventBus().publish(PROMOTED, target);
  }

  @Override
  public void unfenceEverywhere(String target) {
    for (Member m : members()) {
      if (!m.localMember()) {
        vertx.eventBus().request(UNFENCE + "." + m.getUuid(), new JsonObject().put("target", target),
                new DeliveryOptions().setSendTimeout(FENCE_ACK_MILLIS))
            .onFailure(err -> LOG.warn("{} did not acknowledge the lifted fence of {}: {}", m.getAddress(), target,
                err.getMessage()));
      }
    }
  }

  // ---- operator commands and shared state ----

  /**
   * Sends an operator command cluster-wide: failovers and switchovers run on the leader (the one failover
   * authority); maintenance, drain and enable are first recorded in the shared state (which needs a
   * majority of members, so a failed future on the minority side of a partition), then applied by every
   * instance (each routes by its own overlay) and answered by this one.
   */
  public Future<Message<JsonObject>> command(String address, JsonObject message, boolean leaderOnly) {
    var bus = vertx.eventBus();
    if (leaderOnly) {
      return isLeader() ? bus.request(address, message, MonitorVerticle.LOCAL)
          : bus.request(LEADER, new JsonObject().put("address", address).put("message", message));
    }
    return share(address, message)
        .recover(err -> Future.failedFuture(new ReplyException(io.vertx.core.eventbus.ReplyFailure.RECIPIENT_FAILURE, 503,
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

  /**
   * Called once this instance's monitor runs: applies the shared state (maintenance mode, drained targets)
   * and takes the latest decision's version as seen, so an instance that joins later routes like the others —
   * at once when this instance sees a quorum of members, else as soon as it does (the shared state cannot be
   * read without one).
   */
  public void catchUp() {
    catchUpWanted = true;
    tryCatchUp();
  }

  private void tryCatchUp() {
    if (!catchUpWanted || catchingUp || minority() != null) {
      return;
    }
    catchingUp = true;
    applySharedState().onComplete(ar -> {
      catchingUp = false;
      if (ar.succeeded()) {
        catchUpWanted = false;
      } else {
        LOG.warn("cannot apply the cluster's shared state yet ({}); retrying", ar.cause().getMessage());
      }
    });
  }

  /**
   * Brings this instance's maintenance mode and drained targets in line with the shared state (only what
   * differs is applied: nothing at all on a cluster that never had any) and takes the latest decision's
   * version as seen.
   */
  private Future<Void> applySharedState() {
    var bus = vertx.eventBus();
    Future<JsonObject> local = bus.<JsonObject>request(MonitorVerticle.CLUSTER_ADDRESS, "", MonitorVerticle.LOCAL)
        .map(Message::body);
    return Future.all(shared.read(List.of("decision", "maintenance", "drained")), local).compose(both -> {
      Map<String, JsonObject> values = both.resultAt(0);
      JsonObject mine = both.resultAt(1);
      List<Future<?>> applied = new ArrayList<>();
      JsonObject decision = values.get("decision");
      if (decision != null) {
        versionSeen.accumulateAndGet(decision.getLong("version", 0L), Math::max);
        fencedBy.accumulateAndGet(decision.getLong("version", 0L), Math::max);
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

  /** The shared state (shared records for {@code /api/v1/incidents} and {@code /api/v1/audit}). */
  public SharedState shared() {
    return shared;
  }

  /** The latest recorded decision (or an empty object), for {@code /api/v1/cluster}. */
  public Future<JsonObject> decision() {
    return shared.read(List.of("decision")).map(v -> v.getOrDefault("decision", new JsonObject()));
  }

  // ---- shared records: incidents and audit ----

  /** The leader keeps its incident records in {@value SharedState#INCIDENTS} (on opening and on closing). */
  private void recordIncident(JsonObject incident, boolean closed) {
    if (isLeader()) {
      shared.keepIncident(incident, closed, uuid, localAddress(), incidentsKept);
    }
  }

  /** Keeps one audit entry of this instance in {@value SharedState#AUDIT}. */
  public void recordAudit(JsonObject entry) {
    shared.keepAudit(entry, uuid, localAddress(), auditKept);
  }

  // ---- members ----

  /** What this instance answers on {@value #MEMBER} (set by Cutover once its parts run). */
  public void localView(Supplier<Future<JsonObject>> view) {
    this.localView = view;
  }

  /**
   * Every member's own view, oldest member first; a member that does not answer within 2 s is listed with
   * an {@code error}.
   */
  public Future<JsonArray> memberViews() {
    List<Future<JsonObject>> views = new ArrayList<>();
    List<Member> members = members();
    for (Member m : members) {
      String address = m.getAddress().toString();
      views.add(vertx.eventBus().<JsonObject>request(MEMBER + "." + m.getUuid(), new JsonObject(),
              new DeliveryOptions().setSendTimeout(2000))
          .map(msg -> msg.body().put("member", address).put("leader", m.equals(members.get(0))))
          .otherwise(err -> new JsonObject().put("member", address).put("error", err.getMessage())));
    }
    return Future.all(views).map(all -> {
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
          relay(m, m.body().getString("address"), m.body().getJsonObject("message")));
    } else if (!leader && leaderConsumer != null) {
      leaderConsumer.unregister();
      leaderConsumer = null;
    }
  }

  /** The default {@link #fencer}: this instance's monitor fences the target; fails as the monitor fails it. */
  private Future<JsonObject> fenceInMonitor(String target) {
    return vertx.eventBus().<JsonObject>request(MonitorVerticle.FENCE_ADDRESS, new JsonObject().put("target", target),
        MonitorVerticle.LOCAL).map(Message::body);
  }

  /** Forwards a cluster message to this instance's monitor and replies with its answer or failure code. */
  private void relay(Message<JsonObject> m, String address, JsonObject body) {
    vertx.eventBus().<JsonObject>request(address, body, MonitorVerticle.LOCAL).map(Message::body)
        .onComplete(ar -> reply(m, ar));
  }

  private static void reply(Message<JsonObject> m, AsyncResult<JsonObject> ar) {
    if (ar.succeeded()) {
      m.reply(ar.result());
    } else if (ar.cause() instanceof ReplyException re) {
      m.fail(re.failureCode(), re.getMessage());
    } else {
      m.fail(503, ar.cause().getMessage());
    }
  }

  private String localAddress() {
    return hz.getCluster().getLocalMember().getAddress().toString();
  }

  private List<Member> members() {
    return new ArrayList<>(hz.getCluster().getMembers());
  }

  private int quorum() {
    return size / 2 + 1;
  }

  /** Members (oldest first), the leader, quorum and this instance's authority, for {@code /api/v1/cluster}. */
  public JsonObject toJson() {
    JsonArray list = new JsonArray();
    for (Member m : members()) {
      list.add(new JsonObject().put("uuid", m.getUuid().toString()).put("address", m.getAddress().toString())
          .put("local", m.localMember()));
    }
    Standing d = standing(mine.down());
    return new JsonObject().put("enabled", true).put("size", size).put("quorum", quorum()).put("members", list)
        .put("leader", isLeader()).put("authority", d.authority().name().toLowerCase(Locale.ROOT))
        .put("reason", d.reason());
  }
}
