package io.cutover.monitor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which targets are fenced now, derived afresh at every input of the {@link FailoverMachine} from the phase,
 * the primary of record, the observed roles and timelines, and the failover authority's fences. A fence
 * exists only while its reason holds:
 * <ul>
 *   <li><b>Being replaced:</b> the primary a promotion or switchover in flight replaces (until the phase
 *       ends: promoted, or given up at its deadline).</li>
 *   <li><b>The failover authority's fence</b> (clustered: the leader fenced it before promoting): until its
 *       expiry, until the target is observed as a replica, or until the leader lifts it.</li>
 *   <li><b>No quorum</b> (clustered): the primary of record while this instance sees fewer than a quorum of
 *       members or holds no write lease: its write sessions are closed, since the majority may promote another
 *       node.</li>
 *   <li><b>Behind:</b> the old primary of an open failover incident, back before any promotion succeeded,
 *       while a healthy node has received more WAL or is on a newer timeline: the most advanced node leads,
 *       not the first one back (until the failover promotes, or the incident ends).</li>
 *   <li><b>One primary:</b> a node whose last successful check reported primary while another node is the
 *       primary of record, on the same or an older timeline (an old primary after a cutover, a second
 *       primary, a promotion given up that completed late); during a promotion or switchover every other
 *       node claiming primary. It holds until the node is observed as a replica (rejoined).</li>
 *   <li><b>Rejoining:</b> a node fenced at the previous input (by any rule above but no quorum) that is now
 *       observed as a replica stays fenced until it follows the primary ({@link TargetStatus#following()}: on its
 *       timeline and streaming). A rejoin that left it on the old timeline, or not streaming, is no rejoin.</li>
 * </ul>
 * A node claiming primary on a <i>newer</i> timeline than the primary of record is not fenced: it is routed
 * (newest timeline wins, {@link TopologyRules}) and becomes the primary of record.
 */
final class FenceRules {

  /** Which rule fences a target. */
  enum Kind { NO_QUORUM, REPLACED, AUTHORITY, BEHIND, ONE_PRIMARY, REJOINING }

  /** A fence: the rule and the reason for operators. An UP node fenced by {@link Kind#ONE_PRIMARY} is a split brain. */
  record Fence(Kind kind, String reason) {
  }

  private FenceRules() {
  }

  /**
   * @param t              the latest snapshot (roles and timelines as last observed)
   * @param knownPrimary   the primary of record outside a cutover, or {@code null}
   * @param phase          the current phase
   * @param authorityFences the failover authority's fences: target → expiry (epoch ms)
   * @param incident       the open incident, or {@code null}
   * @param minority       why this instance may not route writes (no quorum, no write lease), or {@code null}
   * @param previous       the fences derived at the previous input
   * @param now            epoch ms
   * @return fenced targets with their fence, in the order of the rules above
   */
  static Map<String, Fence> derive(Topology t, String knownPrimary, Phase phase, Map<String, Long> authorityFences,
                                    Incident incident, String minority, Map<String, Fence> previous, long now) {
    Map<String, Fence> out = new LinkedHashMap<>();
    if (minority != null && knownPrimary != null) {
      out.put(knownPrimary, new Fence(Kind.NO_QUORUM, "no quorum: " + minority));
    }
    if (phase.fences() != null) {
      out.put(phase.fences(), new Fence(Kind.REPLACED, "being replaced (" + phase.holdText() + ")"));
    }
    authorityFences.forEach((name, until) -> {
      if (now < until) {
        out.putIfAbsent(name, new Fence(Kind.AUTHORITY, "fenced by the failover authority"));
      }
    });
    if (incident != null && incident.kind == Incident.Kind.FAILOVER && incident.promotedAt < 0) {
      t.target(incident.oldPrimary).filter(s -> s.healthyNow() && s.role() == Role.PRIMARY).map(s -> behind(t, s))
          .ifPresent(why -> out.putIfAbsent(incident.oldPrimary, new Fence(Kind.BEHIND, why)));
    }
    String ref = phase.primaryOfRecord(knownPrimary);
    previous.forEach((name, fence) -> {
      TargetStatus s = t.target(name).orElse(null);
      if (fence.kind() != Kind.NO_QUORUM && s != null && s.role() == Role.REPLICA && !s.following()) {
        out.putIfAbsent(name, new Fence(Kind.REJOINING, "rejoined as a replica but does not follow the primary yet"
            + (s.readReason() == null ? "" : " (" + s.readReason() + ")")));
      }
    });
    if (ref == null || (!phase.busy() && t.target(ref).map(s -> s.role() == Role.REPLICA).orElse(true))) {
      // no primary of record, or it has since been observed as a replica (demoted or rebuilt): it fences nobody
      return out;
    }
    long refTimeline = t.target(ref).map(TargetStatus::timeline).orElse(-1L);
    for (TargetStatus s : t.targets()) {
      if (s.name().equals(ref) || s.role() != Role.PRIMARY || out.containsKey(s.name())) {
        continue;
      }
      if (phase.busy() || refTimeline < 0 || s.timeline() <= refTimeline) {
        out.put(s.name(), new Fence(Kind.ONE_PRIMARY, "reports primary (timeline " + s.timeline() + ") while " + ref
            + " is the primary (timeline " + refTimeline + ")"));
      }
    }
    return out;
  }

  /** Why {@code primary}, back as primary, should not simply lead again, or {@code null} if it may. */
  static String behind(Topology t, TargetStatus primary) {
    for (TargetStatus s : t.targets()) {
      if (s.name().equals(primary.name()) || !s.healthyNow()) {
        continue;
      }
      if (s.timeline() > primary.timeline()) {
        return primary.name() + " is back on timeline " + primary.timeline() + " but " + s.name() + " is on timeline "
            + s.timeline();
      }
      if (s.role() == Role.REPLICA && s.promotableLsn() > primary.positionLsn()) {
        return primary.name() + " is back at " + Lsn.format(primary.positionLsn()) + " but " + s.name() + " has received "
            + Lsn.format(s.promotableLsn());
      }
    }
    return null;
  }
}
