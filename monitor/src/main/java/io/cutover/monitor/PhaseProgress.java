package io.cutover.monitor;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The steps of one evaluation that move a cutover along from observations and time: give up a phase whose
 * deadline passed (with the reason recorded), follow a node that is routed as primary, move a promotion on once
 * its candidate reports primary, notice a new primary lost during the write probe, and re-derive the fences.
 */
final class PhaseProgress {

  private final CutoverState s;

  PhaseProgress(CutoverState state) {
    this.s = state;
  }

  /** Gives up a phase whose deadline passed, with the reason recorded; the evaluation then decides afresh. */
  void expire(long now, List<Action> out) {
    Phase phase = s.phase;
    if (now < phase.deadline()) {
      return;
    }
    long waited = now - phase.since();
    if (phase instanceof Phase.WaitingForAuthority w) {
      s.note("the failover authority has not promoted after " + waited + " ms (" + s.authorityReason + "); still waiting");
      s.phase = new Phase.WaitingForAuthority(w.authority(), w.since(), now + s.authorityMillis());
    } else if (phase instanceof Phase.Promoting p) {
      if (p.promoted()) {
        promotedButSilent(p.candidate(), waited);
      } else {
        s.attemptFailed(p.candidate(), "timed out: no result within " + waited + " ms", now, out);
      }
    } else if (phase instanceof Phase.Probing p) {
      s.note("no write through the write endpoint to " + p.primary() + " within " + waited + " ms; probing again");
      s.phase = new Phase.Idle();
    } else if (phase instanceof Phase.SwitchingOver sw) {
      if (sw.promoted()) {
        promotedButSilent(sw.to(), waited);
      } else {
        s.abortSwitchover("no result within " + waited + " ms", now, out);
      }
    }
  }

  private void promotedButSilent(String candidate, long waited) {
    s.note(candidate + " was promoted but has not reported primary within " + waited + " ms; deciding again");
    s.knownPrimary = candidate;
    s.phase = new Phase.Idle();
  }

  /** A node other than the primary of record is routed (newest timeline): follow it, and measure it if an incident is open. */
  void followRoutedPrimary(Topology t, long now, List<Action> out) {
    if (s.phase.busy()) {
      return;
    }
    String routed = t.primary() != null && !t.primary().equals(s.knownPrimary) ? t.primary() : newerPrimary(t, now);
    if (routed == null) {
      return;
    }
    String before = s.knownPrimary;
    TargetStatus st = t.target(routed).orElseThrow();
    if (before != null && s.incident == null) {
      // the primary changed without a failover of Cutover's: the failover authority (mode follow) or someone else
      // promoted. Recorded and timed like any cutover, from the old primary's last healthy check.
      boolean oldDown = t.target(before).map(o -> o.state() == TargetState.DOWN).orElse(true);
      s.open(oldDown ? Incident.Kind.FAILOVER : Incident.Kind.SWITCHOVER, s.lastHealthyAt >= 0 ? s.lastHealthyAt : now,
          out);
      s.incident.external = true;
      s.incident.note(routed + " reports primary while " + before + " was " + (oldDown ? "DOWN" : "still UP here")
          + ": a " + (oldDown ? "failover" : "switchover") + " by the failover authority");
    }
    s.knownPrimary = routed;
    s.lastHealthyAt = st.healthyNow() ? now : -1;
    s.lastPrimaryLsn = st.positionLsn();
    s.lastPrimaryTimeline = st.timeline();
    if (before == null) {
      return;
    }
    String by = s.authority == Authority.FOLLOW ? "promoted by the failover authority" : "promoted outside Cutover";
    long oldLsn = s.incident != null && before.equals(s.incident.oldPrimary) ? s.incident.oldPrimaryLsn : -1;
    String text = routed + " reports primary on timeline " + st.timeline() + " (was " + before + "), " + by
        + "; its WAL position " + Lsn.format(st.positionLsn()) + (oldLsn < 0 ? ""
        : ", " + Math.max(0, oldLsn - st.positionLsn()) + " bytes behind the old primary's last known " + Lsn.format(oldLsn));
    out.add(new Action.Alert(s.incident == null ? "warn" : "info", text));
    if (s.incident != null) {
      s.incident.note(text);
      s.startProbe(routed, st, now, out);
    }
  }

  /**
   * A healthy node reporting primary on a newer timeline than the primary of record, which a fence derived at the
   * previous input (when it was still on an older timeline) hides from routing; {@code null} if none.
   */
  private String newerPrimary(Topology t, long now) {
    long knownTimeline = s.knownPrimary == null ? Long.MAX_VALUE
        : t.target(s.knownPrimary).map(TargetStatus::timeline).orElse(Long.MAX_VALUE);
    return t.targets().stream()
        .filter(st -> st.healthyNow() && st.role() == Role.PRIMARY && st.timeline() > knownTimeline
            && !s.authorityFenced(st.name(), now) && !st.drained())
        .max(java.util.Comparator.comparingLong(TargetStatus::timeline))
        .map(TargetStatus::name).orElse(null);
  }

  /** Moves a promotion or switchover on once its candidate reports primary; notices a new primary lost during the probe. */
  void advance(Topology t, long now, List<Action> out) {
    String candidate = null;
    if (s.phase instanceof Phase.Promoting p) {
      candidate = p.candidate();
    } else if (s.phase instanceof Phase.SwitchingOver sw && sw.promoted()) {
      candidate = sw.to();
    }
    boolean promoted = s.phase instanceof Phase.Promoting p ? p.promoted() : candidate != null;
    if (candidate != null) {
      TargetStatus c = t.target(candidate).orElseThrow();
      if (promoted && c.state() == TargetState.DOWN) {
        // promoted, then lost before it served a write: it is the primary that failed now
        String text = "new primary " + candidate + " lost right after its promotion (" + c.lastError() + "); deciding again";
        s.incident.attemptEnded(candidate, "promoted, then lost", now);
        s.note(text);
        out.add(new Action.Alert("error", text));
        s.knownPrimary = candidate;
        s.phase = new Phase.Idle();
      } else if (c.healthyNow() && c.role() == Role.PRIMARY) {
        s.incident.attemptEnded(candidate, "promoted", now);
        if (s.phase instanceof Phase.Promoting) {
          out.add(new Action.Hook("on_failover", s.targets.get(s.incident.oldPrimary), s.targets.get(candidate)));
        }
        s.knownPrimary = candidate;
        out.add(new Action.Alert("info", candidate + " reports primary (timeline " + c.timeline() + "); routing writes to it"));
        s.startProbe(candidate, c, now, out);
        for (TargetStatus r : t.targets()) {
          if (!r.name().equals(candidate) && r.healthyNow() && r.role() == Role.REPLICA) {
            out.add(new Action.Repoint(r.target(), s.targets.get(candidate)));
          }
        }
      }
    } else if (s.phase instanceof Phase.Probing p
        && t.target(p.primary()).map(st -> st.state() == TargetState.DOWN).orElse(false)) {
      String text = "new primary " + p.primary() + " lost during the write probe ("
          + t.target(p.primary()).map(TargetStatus::lastError).orElse("") + "); deciding again";
      s.note(text);
      out.add(new Action.Alert("error", text));
      s.phase = new Phase.Idle();
    }
  }

  /** Re-derives the fences ({@link FenceRules}): alerts for new ones, the failback delay for lifted ones. */
  void refreshFences(Topology t, long now, List<Action> out) {
    Map<String, FenceRules.Fence> next = FenceRules.derive(t, s.knownPrimary, s.phase, s.authorityFences, s.incident, s.minority, s.fenced,
        now);
    Set<String> lifted = new HashSet<>(s.fenced.keySet());
    lifted.removeAll(next.keySet());
    for (Map.Entry<String, FenceRules.Fence> e : next.entrySet()) {
      if (!s.fenced.containsKey(e.getKey())) {
        fencedNow(t, e.getKey(), e.getValue(), out);
      }
    }
    for (String name : lifted) {
      boolean replica = t.target(name).map(st -> st.role() == Role.REPLICA).orElse(false);
      out.add(new Action.Alert("info", name + " unfenced: " + (replica
          ? "rejoined as a replica following the primary; back in the read pool after failback_delay" : "the reason for its fence no longer holds")));
    }
    s.fenced = next;
    s.failback.track(t, lifted, now);
  }

  private void fencedNow(Topology t, String name, FenceRules.Fence fence, List<Action> out) {
    if (name.equals(s.phase.fences())) {
      return; // announced with the decision
    }
    TargetStatus st = t.target(name).orElse(null);
    if (st != null && st.state() == TargetState.UP && fence.kind() == FenceRules.Kind.ONE_PRIMARY) {
      out.add(new Action.Alert("error", "split brain: " + name + " " + fence.reason() + "; " + name + " fenced"));
      out.add(new Action.Hook("on_fence", st.target(), s.targets.get(s.phase.primaryOfRecord(s.knownPrimary))));
    } else {
      out.add(new Action.Alert("warn", name + " fenced: " + fence.reason()));
    }
  }
}
