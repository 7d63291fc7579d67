package io.cutover.monitor;

import java.util.List;

/**
 * One evaluation of the failover while no promotion or switchover is in flight, from the newest snapshot and
 * this instance's current {@link Authority}: is the primary lost, did it recover without a failover, who may
 * decide, which candidate. Nothing here is remembered between evaluations except through the machine's
 * incident and phase, so the answer is always the one the current observations give.
 */
final class Decision {

  private final CutoverState m;
  private final Topology t;
  private final long now;
  private final List<Action> out;
  private final java.util.function.Function<String, List<Action>> switchover;

  /**
   * @param switchover starts a switchover to the given target (auto_failback), returning its actions
   */
  Decision(CutoverState machine, Topology t, long now, List<Action> out,
           java.util.function.Function<String, List<Action>> switchover) {
    this.switchover = switchover;
    this.m = machine;
    this.t = t;
    this.now = now;
    this.out = out;
  }

  void run() {
    String known = m.knownPrimary;
    TargetStatus primary = known == null ? null : t.target(known).orElse(null);
    Incident incident = m.incident;
    boolean lost = primary != null && primary.state() == TargetState.DOWN && t.primary() == null;
    if (incident != null && incident.kind == Incident.Kind.FAILOVER && incident.promotedAt < 0 && primary != null
        && primary.name().equals(incident.oldPrimary) && primary.healthyNow() && primary.role() == Role.PRIMARY
        && !m.authorityFenced(primary.name(), now)) {
      String behind = FenceRules.behind(t, primary);
      if (behind == null) {
        recovered(primary, incident);
        return;
      }
      m.noteOnce(behind + "; not leading again: the most advanced node is promoted", out);
      lost = true;
    }
    if (!lost) {
      if (m.phase instanceof Phase.WaitingForAuthority) {
        m.phase = new Phase.Idle();
      }
      if (incident != null && incident.promotedAt >= 0 && primary != null && primary.healthyNow()
          && primary.role() == Role.PRIMARY && !m.authorityFenced(known, now)) {
        // a promotion succeeded and the primary of record answers: make sure writes flow through it
        m.startProbe(known, primary, now, out);
      } else if (incident == null) {
        autoFailback(known);
      }
      return;
    }
    if (incident == null) {
      m.open(Incident.Kind.FAILOVER, m.lastHealthyAt, out);
      m.incident.downAt = now;
      out.add(new Action.Alert("error", "primary " + known + " is DOWN (" + primary.lastError() + "); mode "
          + m.options.getMode().label() + (m.operations.maintenance() ? ", maintenance mode" : "")));
    }
    if (m.operations.maintenance()) {
      m.refuse("maintenance mode: automatic failover paused"
          + (m.operations.maintenanceReason() == null ? "" : " (" + m.operations.maintenanceReason() + ")"), out);
      return;
    }
    switch (m.options.getMode()) {
      case MANUAL -> m.refuse("mode manual: no automatic failover; an operator must act", out);
      // not a refusal: promoting is the failover authority's job (e.g. Patroni), and the RTO clock runs meanwhile
      case FOLLOW -> m.noteOnce("mode follow: waiting for the failover authority to promote a replica", out);
      case AUTO -> decideAutomatically(known);
    }
  }

  private void decideAutomatically(String known) {
    Authority authority = m.authority;
    if (authority != Authority.PROMOTE) {
      if (!(m.phase instanceof Phase.WaitingForAuthority)) {
        m.phase = new Phase.WaitingForAuthority(authority, now, now + m.authorityMillis());
        if (authority == Authority.FOLLOW) {
          m.incident.note("follower: the promotion is left to the failover authority (" + m.authorityReason + ")");
          out.add(new Action.Alert("warn", "primary " + known + " DOWN here; waiting for the failover authority to promote"));
        }
      }
      if (authority == Authority.WAIT) {
        m.refuse("no quorum for a failover: " + m.authorityReason, out);
      }
      return;
    }
    if (m.phase instanceof Phase.WaitingForAuthority) {
      m.incident.note("this instance is now the failover authority (" + m.authorityReason + "): deciding");
      m.phase = new Phase.Idle();
    }
    CandidateRules.Choice choice = m.candidateRules(now).choose(t);
    if (choice.candidate() == null) {
      m.refuse("no replica qualifies for promotion: " + choice.reason(), out);
      return;
    }
    m.decide(choice.candidate(), choice.reason(), now, out);
  }

  private void recovered(TargetStatus primary, Incident incident) {
    incident.outcome = "recovered";
    String text = "recovered without failover: " + primary.name() + " is back as primary on timeline " + primary.timeline()
        + " at " + Lsn.format(primary.positionLsn()) + ", at least as far as every healthy replica; no promotion";
    incident.note(text);
    incident.candidate = null;  // the attempts, if any, say who was tried
    incident.candidateLsn = -1;
    out.add(new Action.Alert("info", text));
    m.phase = new Phase.Idle();
    m.close(now, out);
  }

  private void autoFailback(String known) {
    String preferred = m.options.getPreferred();
    boolean eligible = m.options.isAutoFailback() && preferred != null && !preferred.equals(known) && t.primary() != null;
    if (m.failback.autoFailbackDue(t, preferred, eligible, now)) {
      out.add(new Action.Alert("info", "auto_failback: " + preferred + " has been a healthy replica with zero lag for "
          + m.options.getFailbackDelay().toSeconds() + " s; switching over from " + known));
      out.addAll(switchover.apply(preferred));
    }
  }
}
