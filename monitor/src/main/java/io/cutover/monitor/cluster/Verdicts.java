package io.cutover.monitor.cluster;

import com.hazelcast.cluster.Member;
import io.cutover.monitor.Authority;
import io.cutover.monitor.AuthoritySource.Standing;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Every instance's verdict on the primary (which node, whether its checks hold it DOWN, its topology version),
 * shared on the clustered address {@value #ADDRESS} every 0.5 s and on change, and the authority they give this
 * instance: the leader promotes only with a quorum of members, a quorum of fresh verdicts holding the same primary
 * DOWN, and no instance that left still within its write lease.
 */
final class Verdicts {

  /** Cluster-wide address of the instances' verdicts on the primary. */
  static final String ADDRESS = "cutover.cluster.verdict";

  /** An instance's verdict on the primary, its topology version, and when it was received (ms). */
  private record Verdict(String primary, boolean down, long version, long at) {
  }

  private final Vertx vertx;
  private final Members members;
  private final LeaseRenewals lease;
  private final String nodeId;
  private final long staleMillis;
  private final Map<String, Verdict> verdicts = new ConcurrentHashMap<>();
  private final AtomicLong versionSeen = new AtomicLong();
  private volatile Verdict mine = new Verdict(null, false, 0, 0);

  /** @param staleMillis how long a verdict counts (a few check intervals), in ms */
  Verdicts(Vertx vertx, Members members, LeaseRenewals lease, String nodeId, long staleMillis) {
    this.vertx = vertx;
    this.members = members;
    this.lease = lease;
    this.nodeId = nodeId;
    this.staleMillis = staleMillis;
    vertx.eventBus().<JsonObject>consumer(ADDRESS, m -> {
      JsonObject v = m.body();
      lease.peerAnswered(v.getString("uuid"), v.getJsonObject("answered"));
      verdicts.put(v.getString("node"), new Verdict(v.getString("primary"), v.getBoolean("down"),
          v.getLong("version", 0L), System.currentTimeMillis()));
      saw(v.getLong("version", 0L));
    });
  }

  /** This instance's verdict; shared at once when it changed. */
  void mine(String primary, boolean down, long version) {
    Verdict before = mine;
    mine = new Verdict(primary, down, version, System.currentTimeMillis());
    if (!Objects.equals(before.primary(), primary) || before.down() != down) {
      broadcast();
    }
  }

  boolean mineDown() {
    return mine.down();
  }

  void broadcast() {
    Verdict v = mine;
    vertx.eventBus().publish(ADDRESS, new JsonObject().put("node", nodeId).put("uuid", members.uuid())
        .put("primary", v.primary()).put("down", v.down()).put("version", v.version()).put("answered", lease.ages()));
  }

  /** The highest topology version seen in a verdict or a decision. */
  long versionSeen() {
    return versionSeen.get();
  }

  void saw(long version) {
    versionSeen.accumulateAndGet(version, Math::max);
  }

  /**
   * This instance's authority.
   *
   * @param primaryDown whether to answer for a moment when this instance holds the primary DOWN (the only moment
   *                    the answer matters to the state machine)
   */
  Standing standing(boolean primaryDown) {
    List<Member> m = members.list();
    int size = members.size();
    int quorum = members.quorum();
    if (m.isEmpty() || !m.get(0).localMember()) {
      return new Standing(Authority.FOLLOW, "follower; the leader is " + (m.isEmpty() ? "unknown" : m.get(0).getAddress()));
    }
    if (m.size() < quorum) {
      return new Standing(Authority.WAIT, m.size() + " of cluster.size " + size + " members visible, quorum " + quorum);
    }
    if (!primaryDown) {
      return new Standing(Authority.PROMOTE, "leader with " + m.size() + " of " + size + " members");
    }
    // this instance's own checks hold the primary DOWN: count itself plus every other instance whose fresh
    // verdict holds the same primary DOWN
    String primary = mine.primary();
    long now = System.currentTimeMillis();
    long agree = verdicts.entrySet().stream()
        .filter(e -> !e.getKey().equals(nodeId))
        .map(Map.Entry::getValue)
        .filter(v -> now - v.at() <= staleMillis && v.down() && (primary == null || Objects.equals(v.primary(), primary)))
        .count() + 1;
    String what = primary == null ? "the primary" : primary;
    if (agree < quorum) {
      return new Standing(Authority.WAIT, agree + " of " + size + " instances see " + what + " DOWN, quorum " + quorum);
    }
    String leaseWait = lease.waitReason();
    if (leaseWait != null) {
      return new Standing(Authority.WAIT, leaseWait);
    }
    return new Standing(Authority.PROMOTE, agree + " of " + size + " instances see " + what + " DOWN");
  }
}
