package io.cutover.proxy;

import io.cutover.monitor.Target;
import io.cutover.monitor.TargetStatus;
import io.cutover.monitor.Topology;

import java.util.ArrayList;
import java.util.List;

/**
 * Which backend a new session goes to. Pure: a function of the topology snapshot, the endpoint and a
 * round-robin counter.
 *
 * <ul>
 *   <li>write → the topology's primary, nothing else. Never a node that reports recovery: the monitor
 *       only names a primary that reported {@code pg_is_in_recovery() = false}.</li>
 *   <li>read → the readable replicas, starting at {@code counter mod n} and continuing round-robin (the
 *       later ones are tried if a connect fails); when none is readable and
 *       {@code read.fallback_to_primary} is on, the primary.</li>
 *   <li>Nothing routable → no candidates and a reason the client sees in its ErrorResponse.</li>
 * </ul>
 */
public final class RoutePolicy {

  private final boolean readFallbackToPrimary;

  public RoutePolicy(boolean readFallbackToPrimary) {
    this.readFallbackToPrimary = readFallbackToPrimary;
  }

  public Route route(Topology topology, Endpoint endpoint, long counter) {
    Target primary = topology.primaryStatus().map(TargetStatus::target).orElse(null);
    if (endpoint == Endpoint.WRITE) {
      return primary != null
          ? new Route(List.of(primary), null, topology.version())
          : new Route(List.of(), "no primary available for the write endpoint (" + topology.writeReason() + ")",
              topology.version());
    }
    List<String> readable = topology.readable();
    if (!readable.isEmpty()) {
      int n = readable.size();
      int start = (int) Math.floorMod(counter, (long) n);
      List<Target> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        topology.target(readable.get((start + i) % n)).ifPresent(t -> out.add(t.target()));
      }
      return new Route(out, null, topology.version());
    }
    if (readFallbackToPrimary && primary != null) {
      return new Route(List.of(primary), null, topology.version(), true);
    }
    String why = topology.readReason();
    if (readFallbackToPrimary) {
      why += "; no primary to fall back to: " + topology.writeReason();
    } else {
      why += "; read.fallback_to_primary is off";
    }
    return new Route(List.of(), "no replica available for the read endpoint (" + why + ")", topology.version());
  }
}
