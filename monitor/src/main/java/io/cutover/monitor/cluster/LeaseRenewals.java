package io.cutover.monitor.cluster;

import com.hazelcast.cluster.Member;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;

import java.util.HashMap;
import java.util.Map;

/**
 * The I/O of the {@link Lease}: a renewal round every {@code lease / 4} (at most every 500 ms) asks every other
 * member to answer on {@value #ADDRESS}; this member answers theirs; the ages of its answers travel in its
 * verdicts ({@link #ages()}, read back with {@link #peerAnswered}).
 */
final class LeaseRenewals {

  /** Per-member address answering another instance's lease renewal. */
  static final String ADDRESS = "cutover.cluster.lease";

  private final Vertx vertx;
  private final Members members;
  private final Lease lease;

  LeaseRenewals(Vertx vertx, Members members, long leaseMillis) {
    this.vertx = vertx;
    this.members = members;
    this.lease = new Lease(leaseMillis, members.quorum());
    members.onOwnAddress(ADDRESS, m -> {
      lease.iAnswered(m.body().getString("uuid"), now());
      m.reply(new JsonObject());
    });
    vertx.setPeriodic(Math.max(50, Math.min(500, leaseMillis / 4)), id -> renew());
    renew();
  }

  /** This instance's clock for the lease: monotonic milliseconds (never compared across instances). */
  static long now() {
    return System.nanoTime() / 1_000_000;
  }

  Lease lease() {
    return lease;
  }

  private void renew() {
    long round = lease.startRound(now());
    long timeout = Math.max(100, lease.leaseMillis() / 2);
    for (Member m : members.list()) {
      if (!m.localMember()) {
        String other = m.getUuid().toString();
        vertx.eventBus().request(ADDRESS + "." + other, new JsonObject().put("uuid", members.uuid()),
            new DeliveryOptions().setSendTimeout(timeout)).onSuccess(reply -> lease.answered(round, other));
      }
    }
  }

  /** How long ago this instance answered each instance, as JSON for its verdict. */
  JsonObject ages() {
    JsonObject out = new JsonObject();
    lease.answeredAges(now()).forEach(out::put);
    return out;
  }

  /** Another instance's verdict reported the ages of its answers. */
  void peerAnswered(String from, JsonObject ages) {
    if (ages == null || from == null || from.equals(members.uuid())) {
      return;
    }
    Map<String, Long> map = new HashMap<>();
    ages.forEach(e -> map.put(e.getKey(), ((Number) e.getValue()).longValue()));
    lease.peerAnswered(from, map, now());
  }

  /** Why this instance holds no write lease now, or {@code null}. */
  String expired() {
    return lease.expired(now());
  }

  /** How long the leader must still wait before promoting (ms, {@code <= 0}: not at all), and for whom. */
  String waitReason() {
    long clock = now();
    long wait = lease.waitMillis(members.uuids(), clock);
    // no countdown in the text: the machine records a refusal once per distinct reason
    return wait == 0 ? null : "the write lease of instance(s) " + lease.mayStillWrite(members.uuids(), clock)
        + " that left may still run (cluster.lease " + lease.leaseMillis() + " ms + " + Lease.MARGIN_PERCENT
        + "% after an instance last answered it)";
  }
}
