package io.cutover.monitor;

import java.util.Map;
import java.util.Set;

/**
 * What the failover state machine adds on top of the observed roles before the data plane routes.
 *
 * @param fenced  targets that must never be routed (an old primary after a cutover, or a second node
 *                claiming primary): not primary, not readable, their sessions closed
 * @param held    targets kept out of the read pool, with the reason (the failback delay)
 * @param cutover non-null while a failover or switchover is in flight: no primary is routed and new write
 *                sessions wait (up to {@code connect_wait}) for the new one; the text says what is happening
 * @param drained targets an operator drained: no new sessions are routed to them; the value is when the
 *                proxies close the sessions they still have (epoch milliseconds), or {@code -1} for never
 * @param paused  why no automatic failover can come now (maintenance mode, {@code mode: manual}), else {@code null}:
 *                new write sessions are then refused at once instead of held for a promotion
 * @param maintenance whether maintenance mode is on
 * @param promoting the node a failover or switchover is promoting (out of the read pool), or {@code null}
 */
public record Overlay(Set<String> fenced, Map<String, String> held, String cutover, Map<String, Long> drained,
                      String paused, boolean maintenance, String promoting) {

  /** Nothing added. */
  public static final Overlay NONE = new Overlay(Set.of(), Map.of(), null, Map.of());

  /** An overlay with automatic failover possible. */
  public Overlay(Set<String> fenced, Map<String, String> held, String cutover, Map<String, Long> drained) {
    this(fenced, held, cutover, drained, null, false, null);
  }

  public Overlay {
    fenced = Set.copyOf(fenced);
    held = Map.copyOf(held);
    drained = Map.copyOf(drained);
  }
}
