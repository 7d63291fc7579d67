package io.cutover.monitor.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Membership of clustered Cutover: Hazelcast's member list (oldest first), the leader (its first member, the
 * master), the quorum (a majority of {@code cluster.size}), and this member's own event-bus addresses
 * ({@code prefix + "." + uuid}), registered again under the new UUID Hazelcast gives a member merged after a
 * partition.
 */
final class Members {

  private static final Logger LOG = LoggerFactory.getLogger(ClusterAuthority.class);

  private final Vertx vertx;
  private final HazelcastInstance hz;
  private final int size;
  private final Map<String, Handler<Message<JsonObject>>> addresses = new LinkedHashMap<>();
  private final List<MessageConsumer<JsonObject>> consumers = new ArrayList<>();
  /** This member's Hazelcast UUID; Hazelcast gives a member a new one when it merges after a partition. */
  private volatile String uuid;

  Members(Vertx vertx, HazelcastInstance hz, int size) {
    this.vertx = vertx;
    this.hz = hz;
    this.size = size;
    this.uuid = hz.getCluster().getLocalMember().getUuid().toString();
  }

  /** Consumes {@code prefix + "." + uuid} (this member's own address), now and after every merge. */
  void onOwnAddress(String prefix, Handler<Message<JsonObject>> handler) {
    addresses.put(prefix, handler);
    consumers.add(vertx.eventBus().consumer(prefix + "." + uuid, handler));
  }

  /**
   * Whether Hazelcast gave this member a new UUID since the last call (merged back after a partition); if so its
   * own addresses are registered again under it.
   */
  boolean merged() {
    String now = hz.getCluster().getLocalMember().getUuid().toString();
    if (now.equals(uuid)) {
      return false;
    }
    LOG.warn("this member's Hazelcast UUID changed from {} to {} (merged after a partition)", uuid, now);
    uuid = now;
    consumers.forEach(MessageConsumer::unregister);
    consumers.clear();
    addresses.forEach((prefix, handler) -> consumers.add(vertx.eventBus().consumer(prefix + "." + now, handler)));
    return true;
  }

  String uuid() {
    return uuid;
  }

  int size() {
    return size;
  }

  /** A majority of {@code cluster.size}. */
  int quorum() {
    return size / 2 + 1;
  }

  /** The members, oldest (the leader) first. */
  List<Member> list() {
    return new ArrayList<>(hz.getCluster().getMembers());
  }

  /** The UUIDs of the current members. */
  Set<String> uuids() {
    Set<String> out = new HashSet<>();
    list().forEach(m -> out.add(m.getUuid().toString()));
    return out;
  }

  /** Whether this instance is the leader (the first member of Hazelcast's member list). */
  boolean isLeader() {
    List<Member> m = list();
    return !m.isEmpty() && m.get(0).localMember();
  }

  /** The leader's UUID, or {@code null} when no member is known. */
  String leaderUuid() {
    List<Member> m = list();
    return m.isEmpty() ? null : m.get(0).getUuid().toString();
  }

  /** Non-null (the reason) while this instance sees fewer than a quorum of members. */
  String belowQuorum() {
    int n = list().size();
    return n < quorum() ? "this instance sees " + n + " of cluster.size " + size + " members, quorum " + quorum() : null;
  }

  String localAddress() {
    return hz.getCluster().getLocalMember().getAddress().toString();
  }
}
