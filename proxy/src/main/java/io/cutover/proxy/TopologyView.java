package io.cutover.proxy;

import io.cutover.monitor.Topology;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The data plane's only view of the cluster: the newest {@link Topology} snapshot, swapped whole.
 * A snapshot older than the one held is ignored, so routing never goes back to an older version.
 * Thread-safe; shared by every listener instance (one round-robin counter for the whole process).
 */
public final class TopologyView {

  private final AtomicReference<Topology> current;
  private final AtomicLong readCounter = new AtomicLong();
  private volatile RoutePolicy policy;

  public TopologyView(Topology initial, RoutePolicy policy) {
    this.current = new AtomicReference<>(initial);
    this.policy = policy;
  }

  /**
   * Offers a snapshot.
   *
   * @return {@code true} if it was newer than the one held and is now current
   */
  public boolean update(Topology next) {
    while (true) {
      Topology held = current.get();
      if (held != null && next.version() <= held.version()) {
        return false;
      }
      if (current.compareAndSet(held, next)) {
        return true;
      }
    }
  }

  /** A reload: new sessions are routed by {@code next} ({@code read.fallback_to_primary}) from now on. */
  public void policy(RoutePolicy next) {
    this.policy = next;
  }

  public Topology current() {
    return current.get();
  }

  /**
   * What {@link #route} would choose from snapshot {@code t}, without moving the read round-robin (for health
   * checks).
   */
  public Route peek(Topology t, Endpoint endpoint) {
    return policy.route(t, endpoint, 0);
  }

  /** Chooses backends for a new session on {@code endpoint} from the newest snapshot. */
  public Route route(Endpoint endpoint) {
    long counter = endpoint == Endpoint.READ ? readCounter.getAndIncrement() : 0;
    return policy.route(current.get(), endpoint, counter);
  }
}
