package io.cutover.proxy;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Live relayed sessions, per backend target. Cancel requests go to every target that has sessions;
 * fencing (a later rule) closes every session of a target at once. Thread-safe: sessions on every event
 * loop register here.
 */
public final class SessionRegistry {

  private final Map<String, Set<Relay>> byTarget = new ConcurrentHashMap<>();
  private final Map<Endpoint, LongAdder> perEndpoint = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> connectFailures = new ConcurrentHashMap<>();

  /** Counts a failed backend connect to {@code target}. */
  void connectFailed(String target) {
    connectFailures.computeIfAbsent(target, k -> new LongAdder()).increment();
  }

  /** Failed backend connects to {@code target} since start. */
  public long connectFailures(String target) {
    LongAdder n = connectFailures.get(target);
    return n == null ? 0 : n.sum();
  }

  void add(Relay relay) {
    byTarget.computeIfAbsent(relay.target().name(), k -> ConcurrentHashMap.newKeySet()).add(relay);
    perEndpoint.computeIfAbsent(relay.endpoint(), k -> new LongAdder()).increment();
  }

  void remove(Relay relay) {
    Set<Relay> set = byTarget.get(relay.target().name());
    if (set != null && set.remove(relay)) {
      perEndpoint.get(relay.endpoint()).decrement();
    }
  }

  /** Names of targets with at least one live session. */
  public Set<String> targetsWithSessions() {
    Set<String> out = new java.util.TreeSet<>();
    byTarget.forEach((k, v) -> {
      if (!v.isEmpty()) {
        out.add(k);
      }
    });
    return out;
  }

  /** Live sessions relayed to {@code target}. */
  public int sessions(String target) {
    Set<Relay> set = byTarget.get(target);
    return set == null ? 0 : set.size();
  }

  /** Live sessions of one endpoint. */
  public long sessions(Endpoint endpoint) {
    LongAdder n = perEndpoint.get(endpoint);
    return n == null ? 0 : n.sum();
  }

  /**
   * Closes every session relayed to {@code target} (both sockets).
   *
   * @return how many sessions were closed
   */
  public int closeAll(String target) {
    Set<Relay> set = byTarget.get(target);
    if (set == null) {
      return 0;
    }
    int n = 0;
    for (Relay r : set) {
      r.close();
      n++;
    }
    return n;
  }
}
