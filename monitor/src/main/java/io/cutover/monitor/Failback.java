package io.cutover.monitor;

import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The failback delay: a node back from DOWN, or unfenced after rejoining as a replica, re-enters the read pool only
 * after being UP for {@code failback_delay}. Start-up is exempt: a node whose first UP in this run comes within
 * {@code failback_delay} of the first snapshot (its first checks failed: timed out while the JVM warmed up, or during
 * a restart) is not "back"; one DOWN for longer than that since the start is; and {@code auto_failback}: the preferred
 * node, a healthy replica with zero lag for {@code failback_delay}, is switched back to. Pure; time comes in.
 */
final class Failback {

  private long delayMillis;
  private final Map<String, Long> upSince = new HashMap<>();
  private final Map<String, TargetState> lastState = new HashMap<>();
  private final Set<String> recovering = new HashSet<>();
  /** Targets seen UP in this run (a return from DOWN is "back" after that, or once start-up is over). */
  private final Set<String> everUp = new HashSet<>();
  /** When the first snapshot was tracked (ms), {@code -1} before. */
  private long startedAt = -1;
  private long preferredReadySince = -1;

  /** @param delayMillis {@code failback_delay} in ms */
  Failback(long delayMillis) {
    this.delayMillis = delayMillis;
  }

  /** Follows every target's state; {@code unfenced} are the targets whose fence was just lifted. */
  void track(Topology t, Set<String> unfenced, long now) {
    if (startedAt < 0) {
      startedAt = now;
    }
    boolean startUp = now - startedAt < delayMillis;
    for (TargetStatus s : t.targets()) {
      String name = s.name();
      TargetState before = lastState.put(name, s.state());
      if (s.state() == TargetState.UP && before != TargetState.UP) {
        upSince.put(name, now);
        if (before == TargetState.DOWN && (everUp.contains(name) || !startUp)) {
          recovering.add(name);
        }
        everUp.add(name);
      } else if (s.state() != TargetState.UP) {
        upSince.remove(name);
      }
      if (unfenced.contains(name) && s.state() == TargetState.UP) {
        recovering.add(name);
        upSince.put(name, now);
      }
    }
  }

  /** Targets held out of the read pool now, with the reason. */
  Map<String, String> held(long now) {
    Map<String, String> held = new LinkedHashMap<>();
    for (String name : recovering) {
      Long since = upSince.get(name);
      if (since != null && now < since + delayMillis) {
        held.put(name, "is back since " + (now - since) / 1000 + " s; held out of the read pool until failback_delay "
            + delayMillis / 1000 + " s");
      }
    }
    return held;
  }

  /**
   * Ends the hold of {@code name} now (an operator's {@code enable}): it is readable again at once, whatever is
   * left of {@code failback_delay}. A later return from DOWN (or a later unfence) is held again.
   *
   * @return whether a hold was in effect at {@code now}
   */
  boolean release(String name, long now) {
    Long since = upSince.get(name);
    return recovering.remove(name) && since != null && now < since + delayMillis;
  }

  /** Forgets delays that have passed. */
  void expire(long now) {
    recovering.removeIf(name -> {
      Long since = upSince.get(name);
      return since != null && now >= since + delayMillis;
    });
  }

  /**
   * Whether an automatic failback to {@code preferred} is due now: it has been an UP, unfenced, unheld replica
   * with zero lag for {@code failback_delay} while {@code eligible} (auto_failback on, no incident, another
   * primary routed).
   */
  boolean autoFailbackDue(Topology t, String preferred, boolean eligible, long now) {
    TargetStatus p = preferred == null ? null : t.target(preferred).orElse(null);
    boolean ready = eligible && p != null && p.state() == TargetState.UP && p.role() == Role.REPLICA && !p.fenced()
        && p.hold() == null && p.lagBytes() == 0;
    if (!ready) {
      preferredReadySince = -1;
      return false;
    }
    if (preferredReadySince < 0) {
      preferredReadySince = now;
    }
    return now - preferredReadySince >= delayMillis;
  }

  /**
   * A reload: {@code failback_delay} is now {@code delayMillis} (holds in effect end that long after their node came
   * back), and only {@code kept} targets are remembered (a removed or re-addressed one is followed afresh, like a
   * target at start-up). The preferred node's readiness is measured afresh.
   */
  void reconfigure(long delayMillis, Set<String> kept) {
    this.delayMillis = delayMillis;
    upSince.keySet().retainAll(kept);
    lastState.keySet().retainAll(kept);
    recovering.retainAll(kept);
    everUp.retainAll(kept);
    preferredReadySince = -1;
  }

  /** A switchover started: the readiness of the preferred node is measured afresh next time. */
  void reset() {
    preferredReadySince = -1;
  }
}
