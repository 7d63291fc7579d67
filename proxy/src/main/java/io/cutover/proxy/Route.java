package io.cutover.proxy;

import io.cutover.monitor.Target;

import java.util.List;

/**
 * The routing choice for one new session.
 *
 * @param candidates backends to try, in order (empty when nothing is routable)
 * @param reason     why nothing is routable ({@code null} when there are candidates)
 * @param version    the topology version the choice was made from
 */
public record Route(List<Target> candidates, String reason, long version) {

  public Route {
    candidates = List.copyOf(candidates);
  }

  public boolean routable() {
    return !candidates.isEmpty();
  }
}
