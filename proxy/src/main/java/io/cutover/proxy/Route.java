package io.cutover.proxy;

import io.cutover.monitor.Target;

import java.util.List;

/**
 * The routing choice for one new session.
 *
 * @param candidates backends to try, in order (empty when nothing is routable)
 * @param reason     why nothing is routable ({@code null} when there are candidates)
 * @param version    the topology version the choice was made from
 * @param fallback   a read session routed to the primary because no replica is readable
 *                   ({@code read.fallback_to_primary})
 */
public record Route(List<Target> candidates, String reason, long version, boolean fallback) {

  public Route {
    candidates = List.copyOf(candidates);
  }

  /** A route that is not a read fallback. */
  public Route(List<Target> candidates, String reason, long version) {
    this(candidates, reason, version, false);
  }

  public boolean routable() {
    return !candidates.isEmpty();
  }
}
