package io.cutover.monitor.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import io.cutover.monitor.Authority;
import io.cutover.monitor.AuthoritySource;
import io.cutover.monitor.MonitorVerticle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The failover authority of clustered Cutover (Hazelcast via vertx-hazelcast), wiring its parts:
 * <ul>
 *   <li>{@link Members}: leader = the first member of Hazelcast's member list (its master); quorum = a majority of
 *       {@code cluster.size}.</li>
 *   <li>{@link Verdicts}: the leader promotes only while it sees a quorum of members <i>and</i> a quorum of
 *       instances (itself included) hold the same primary DOWN, and no instance that left may still hold a write
 *       lease; otherwise it waits ({@link Authority#WAIT}). Followers ({@link Authority#FOLLOW}) leave the
 *       decision to the leader and obey its fences.</li>
 *   <li>{@link LeaseRenewals} and {@link Lease}: an instance routes writes only while it holds a write lease; a
 *       cut-off minority fences its primary (closing its write sessions) before the majority may promote.</li>
 *   <li>{@link Decisions}: decisions recorded in the majority-protected map {@value SharedState#STATE}; the
 *       version is the fencing token; every member fences the old primary by it before the promotion.</li>
 *   <li>{@link Commands}, {@link CatchUp}, {@link MemberViews}, {@link SharedState}: operator commands
 *       cluster-wide, catching up with the shared state after joining or merging, every member's view, and the
 *       shared records (incidents, audit).</li>
 * </ul>
 */
public final class ClusterAuthority implements AuthoritySource {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ClusterAuthority.class);

  /** Per-member address (+ "." + the member's UUID) on which the leader's fence requests arrive. */
  public static final String FENCE = Decisions.FENCE;

  private final Members members;
  private final LeaseRenewals lease;
  private final Verdicts verdicts;
  private final Decisions decisions;
  private final Commands commands;
  private final CatchUp catchUp;
  private final MemberViews views;
  private final SharedState shared;
  private final int incidentsKept;
  private final int auditKept;
  private volatile String lastMinority;

  /**
   * @param size          {@code cluster.size}
   * @param staleMillis   how long a verdict counts (a few check intervals), in milliseconds
   * @param incidentsKept incident records kept in {@value SharedState#INCIDENTS} ({@code failover.incidents_kept})
   * @param auditKept     audit entries kept in {@value SharedState#AUDIT} ({@code admin.audit_kept})
   * @param leaseMillis   {@code cluster.lease} in ms ({@link Lease})
   */
  public ClusterAuthority(Vertx vertx, HazelcastInstance hz, String nodeId, int size, long staleMillis,
                          int incidentsKept, int auditKept, long leaseMillis) {
    this.incidentsKept = incidentsKept;
    this.auditKept = auditKept;
    this.members = new Members(vertx, hz, size);
    this.shared = new SharedState(vertx, hz);
    this.lease = new LeaseRenewals(vertx, members, leaseMillis);
    this.verdicts = new Verdicts(vertx, members, lease, nodeId, staleMillis);
    this.decisions = new Decisions(vertx, members, verdicts, shared);
    this.commands = new Commands(vertx, members, shared, nodeId);
    this.views = new MemberViews(vertx, members);
    this.catchUp = new CatchUp(vertx, shared, this::minority, v -> {
      verdicts.saw(v);
      decisions.saw(v);
    });
    var bus = vertx.eventBus();
    bus.<JsonObject>localConsumer(MonitorVerticle.INCIDENT_OPENED_ADDRESS, m -> recordIncident(m.body()));
    bus.<JsonObject>localConsumer(MonitorVerticle.INCIDENT_CLOSED_ADDRESS, m -> recordIncident(m.body()));
    bus.<JsonObject>localConsumer(MonitorVerticle.INCIDENT_UPDATED_ADDRESS, m -> recordIncident(m.body()));
    vertx.setPeriodic(500, id -> {
      if (members.merged()) {
        // merged back after a partition: the shared state may have changed meanwhile
        catchUp.want();
      }
      catchUp.tick();
      verdicts.broadcast();
      commands.leadership();
    });
  }

  // ---- AuthoritySource ----

  @Override
  public boolean leader() {
    return members.isLeader();
  }

  /** Whether this instance is the cluster's leader (the first member of Hazelcast's member list). */
  public boolean isLeader() {
    return members.isLeader();
  }

  @Override
  public String minority() {
    String below = members.belowQuorum();
    String now = below != null ? below : lease.expired();
    String before = lastMinority;
    lastMinority = now;
    if ((before == null) != (now == null)) {
      if (now == null) {
        LOG.info("quorum and write lease regained: writes routed again");
      } else {
        LOG.warn("writes stopped here: {}", now);
      }
    }
    return now;
  }

  @Override
  public Standing standing() {
    return verdicts.standing(true);
  }

  @Override
  public void verdict(String primary, boolean down, long version) {
    verdicts.mine(primary, down, version);
  }

  @Override
  public long versionSeen() {
    return verdicts.versionSeen();
  }

  @Override
  public Future<Long> decide(String kind, String oldPrimary, String newPrimary, long version) {
    return decisions.decide(kind, oldPrimary, newPrimary, version);
  }

  @Override
  public void promoted(String target) {
    decisions.promoted(target);
  }

  @Override
  public void unfenceEverywhere(String target) {
    decisions.unfenceEverywhere(target);
  }

  // ---- what Cutover and the admin API use ----

  /** Whether this instance holds its write lease now (the data plane asks before relaying a write session's bytes). */
  public boolean writeLeaseHeld() {
    return lease.lease().valid(LeaseRenewals.now());
  }

  /**
   * How this instance carries out a fence from the leader (Cutover: the monitor fences the target and its
   * sessions are closed); the fence is acknowledged only when the returned future succeeds. By default the
   * monitor alone is told.
   */
  public void fencer(Function<String, Future<JsonObject>> fencer) {
    decisions.fencer(fencer);
  }

  /**
   * Sends an operator command cluster-wide: failovers and switchovers run on the leader; maintenance, drain and
   * enable are recorded in the shared state (a failed future, 503, on the minority side of a partition), then
   * applied by every instance and answered by this one.
   */
  public Future<Message<JsonObject>> command(String address, JsonObject message, boolean leaderOnly) {
    return commands.command(address, message, leaderOnly);
  }

  /**
   * Called once this instance's monitor runs: applies the shared state (maintenance mode, drained targets) and
   * takes the latest decision's version as seen — at once with a quorum of members, else as soon as there is one.
   */
  public void catchUp() {
    catchUp.want();
  }

  /** The shared state (shared records for {@code /api/v1/incidents} and {@code /api/v1/audit}). */
  public SharedState shared() {
    return shared;
  }

  /** The latest recorded decision (or an empty object), for {@code /api/v1/cluster}. */
  public Future<JsonObject> decision() {
    return shared.read(List.of("decision")).map(v -> v.getOrDefault("decision", new JsonObject()));
  }

  /**
   * The leader keeps its incident records in {@value SharedState#INCIDENTS} (on opening, on closing, and when the RPO
   * figure changes after the fact).
   */
  private void recordIncident(JsonObject incident) {
    if (members.isLeader()) {
      shared.keepIncident(incident, members.uuid(), members.localAddress(), incidentsKept);
    }
  }

  /** Keeps one audit entry of this instance in {@value SharedState#AUDIT}. */
  public void recordAudit(JsonObject entry) {
    shared.keepAudit(entry, members.uuid(), members.localAddress(), auditKept);
  }

  /** What this instance answers when asked for its own view (set by Cutover once its parts run). */
  public void localView(Supplier<Future<JsonObject>> view) {
    views.localView(view);
  }

  /** Every member's own view, oldest member first; a member that does not answer within 2 s has an {@code error}. */
  public Future<JsonArray> memberViews() {
    return views.all();
  }

  /** Members (oldest first), the leader, quorum and this instance's authority, for {@code /api/v1/cluster}. */
  public JsonObject toJson() {
    JsonArray list = new JsonArray();
    for (Member m : members.list()) {
      list.add(new JsonObject().put("uuid", m.getUuid().toString()).put("address", m.getAddress().toString())
          .put("local", m.localMember()));
    }
    Standing d = verdicts.standing(verdicts.mineDown());
    return new JsonObject().put("enabled", true).put("size", members.size()).put("quorum", members.quorum())
        .put("members", list).put("leader", members.isLeader())
        .put("authority", d.authority().name().toLowerCase(Locale.ROOT)).put("reason", d.reason())
        .put("write_lease", lease.expired() == null ? "held" : lease.expired());
  }
}
