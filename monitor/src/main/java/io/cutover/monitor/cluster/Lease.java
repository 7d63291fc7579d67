package io.cutover.monitor.cluster;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The write lease of clustered Cutover: an instance may route writes only while a quorum of instances
 * (itself included) answered one of its renewal rounds within the last {@code cluster.lease}; and the leader
 * promotes no earlier than that lease after the last moment any instance it can hear from answered an instance
 * that is no longer a member. Pure and I/O-free: times are milliseconds of each instance's own monotonic clock;
 * nothing compares clocks of different instances (ages travel instead of timestamps).
 *
 * <p><b>Why both sides never write at once.</b> Instance j's lease runs until {@code s + lease} on its own
 * clock, where {@code s} is when it <i>sent</i> the last round a quorum answered. Every answer to that round was
 * given after {@code s}. On a partition's majority side at least one such answerer k is in the leader's part
 * (j's side alone is not a quorum), and k tells the leader how long ago it last answered j; so the leader knows a
 * moment {@code a} no earlier than j's last successful {@code s}, and waits until {@code a + lease + margin}. With
 * clock rates that differ by less than {@link #MARGIN_PERCENT}%, j's lease has expired by then, and j fences the
 * primary (closing its write sessions) when its lease expires.
 */
public final class Lease {

  /** The allowance for clock rates, in percent of the lease. */
  public static final int MARGIN_PERCENT = 10;
  /** Rounds older than the lease are forgotten; at most this many are kept. */
  private static final int ROUNDS_KEPT = 64;

  private final long leaseMillis;
  private final int quorum;
  private final Deque<Round> rounds = new ArrayDeque<>();
  private long nextRound = 1;
  private volatile long validUntil = Long.MIN_VALUE;
  private long lastValidRoundAt = Long.MIN_VALUE;
  /** When this instance last answered each instance's renewal (its own clock). */
  private final Map<String, Long> answeredAt = new HashMap<>();
  /** When each instance it hears from last answered each other instance, converted to this instance's clock. */
  private final Map<String, Map<String, Long>> answeredBy = new HashMap<>();

  private static final class Round {
    final long id;
    final long sentAt;
    final Set<String> answers = new HashSet<>();

    Round(long id, long sentAt) {
      this.id = id;
      this.sentAt = sentAt;
    }
  }

  /**
   * @param leaseMillis {@code cluster.lease} in ms
   * @param quorum      a majority of {@code cluster.size}, this instance included
   */
  public Lease(long leaseMillis, int quorum) {
    this.leaseMillis = leaseMillis;
    this.quorum = quorum;
  }

  public long leaseMillis() {
    return leaseMillis;
  }

  /** Starts a renewal round sent at {@code now}; returns its id (a single-instance quorum holds the lease at once). */
  public synchronized long startRound(long now) {
    Round r = new Round(nextRound++, now);
    rounds.addLast(r);
    while (rounds.size() > ROUNDS_KEPT || (rounds.size() > 1 && rounds.peekFirst().sentAt < now - leaseMillis)) {
      rounds.removeFirst();
    }
    check(r);
    return r.id;
  }

  /** Instance {@code from} answered round {@code id}. */
  public synchronized void answered(long id, String from) {
    for (Round r : rounds) {
      if (r.id == id) {
        r.answers.add(from);
        check(r);
      }
    }
  }

  private void check(Round r) {
    if (r.answers.size() + 1 >= quorum && r.sentAt + leaseMillis > validUntil) {
      validUntil = r.sentAt + leaseMillis;
      lastValidRoundAt = r.sentAt;
    }
  }

  /** Whether this instance holds the write lease at {@code now} (lock-free: the data plane asks per read). */
  public boolean valid(long now) {
    return now < validUntil;
  }

  /** Why this instance holds no lease at {@code now}, or {@code null} while it does. */
  public synchronized String expired(long now) {
    if (now < validUntil) {
      return null;
    }
    return validUntil == Long.MIN_VALUE ? "no write lease yet: no quorum of " + quorum + " instances has answered"
        : "write lease expired " + (now - validUntil) + " ms ago: no quorum of " + quorum
        + " instances answered within cluster.lease " + leaseMillis + " ms (last at " + (now - lastValidRoundAt) + " ms ago)";
  }

  /** This instance answered {@code node}'s renewal at {@code now}. */
  public synchronized void iAnswered(String node, long now) {
    answeredAt.merge(node, now, Math::max);
    forgetOld(now);
  }

  /** Answers older than ten leases no longer matter (instances merged back get new identities). */
  private void forgetOld(long now) {
    long horizon = now - 10 * leaseMillis;
    answeredAt.values().removeIf(at -> at < horizon);
    answeredBy.values().forEach(m -> m.values().removeIf(at -> at < horizon));
    answeredBy.values().removeIf(Map::isEmpty);
  }

  /** How long ago (ms) this instance last answered each instance, for its verdicts. */
  public synchronized Map<String, Long> answeredAges(long now) {
    Map<String, Long> out = new HashMap<>();
    answeredAt.forEach((node, at) -> out.put(node, now - at));
    return out;
  }

  /**
   * Instance {@code from} reported (received here at {@code now}) how long ago it last answered each instance; the
   * moments become this instance's clock conservatively (transit time only moves them earlier than they were).
   */
  public synchronized void peerAnswered(String from, Map<String, Long> ages, long now) {
    Map<String, Long> m = answeredBy.computeIfAbsent(from, k -> new HashMap<>());
    ages.forEach((node, age) -> m.merge(node, now - age, Math::max));
    forgetOld(now);
  }

  /**
   * The earliest moment (this instance's clock) a promotion may happen: every instance not in {@code members}
   * that this instance or an instance it hears from answered may hold a lease until then. {@link Long#MIN_VALUE}
   * when nothing has to be waited for.
   *
   * @param members the instances that are members now (they acknowledge fences, so need no wait)
   */
  public synchronized long promoteNotBefore(Set<String> members) {
    Map<String, Long> last = new HashMap<>(answeredAt);
    answeredBy.forEach((from, m) -> m.forEach((node, at) -> last.merge(node, at, Math::max)));
    long margin = leaseMillis * MARGIN_PERCENT / 100;
    long notBefore = Long.MIN_VALUE;
    for (Map.Entry<String, Long> e : last.entrySet()) {
      if (!members.contains(e.getKey())) {
        notBefore = Math.max(notBefore, e.getValue() + leaseMillis + margin);
      }
    }
    return notBefore;
  }

  /**
   * How long (ms) the leader must still wait at {@code now} before promoting: {@code 0} when no instance that left
   * may still hold a lease ({@link #promoteNotBefore}).
   */
  public long waitMillis(Set<String> members, long now) {
    long notBefore = promoteNotBefore(members);
    return notBefore == Long.MIN_VALUE || notBefore <= now ? 0 : notBefore - now;
  }

  /** The instances (not in {@code members}) whose lease may still run at {@code now}, for the reason text. */
  public synchronized Set<String> mayStillWrite(Set<String> members, long now) {
    Map<String, Long> last = new HashMap<>(answeredAt);
    answeredBy.forEach((from, m) -> m.forEach((node, at) -> last.merge(node, at, Math::max)));
    long margin = leaseMillis * MARGIN_PERCENT / 100;
    Set<String> out = new java.util.TreeSet<>();
    last.forEach((node, at) -> {
      if (!members.contains(node) && now < at + leaseMillis + margin) {
        out.add(node);
      }
    });
    return out;
  }
}
