package io.cutover.monitor;

/**
 * What the {@link FailoverMachine} asks its executor to do. Results come back as inputs
 * ({@link FailoverMachine#onPromoted}, {@link FailoverMachine#onWriteAccepted}, {@link FailoverMachine#onProbeFailed},
 * {@link FailoverMachine#onRepointed}, {@link FailoverMachine#onSwitchoverResult}, {@link RpoFollowUp#onMeasured}); a result that never comes is
 * handled by the deadline of the phase that waits for it.
 */
public sealed interface Action {

  /** An automatic or requested failover was refused (counted by metrics); {@link Alert} carries the text. */
  record Refused(String reason) implements Action {
  }

  /** An incident started (metrics time it until it closes). */
  record IncidentOpened(Incident incident) implements Action {
  }

  /** An incident ended; log it as one JSON line and keep it. */
  record IncidentClosed(Incident incident) implements Action {
  }

  /**
   * An incident's RPO figure changed after the fact (measured, no longer measurable, or why it is not measured yet),
   * possibly long after it closed; keep the new version, and log it as a JSON line once the figure is final.
   */
  record IncidentUpdated(Incident incident) implements Action {
  }

  /**
   * The open incident changed during an input and no other incident action of that input says so: a step of its
   * timeline (candidate chosen, promoted, first write accepted), a promotion attempt, a note. Publish its new version
   * as updated, so that followers of the event bus see the timeline as it happens; no log line (the closing line has
   * it all). Found by {@link IncidentSteps}, not by the machine itself.
   */
  record IncidentStep(Incident incident) implements Action {
  }

  /**
   * Read where {@code oldPrimary}'s WAL ended and where {@code newPrimary}'s timeline forked from it, for incident
   * {@code incident}; report with {@link RpoFollowUp#onMeasured} or {@link RpoFollowUp#onMeasureFailed}.
   *
   * @param sinceMillis time since the old primary's last healthy check, in ms (did it restart since?)
   */
  record MeasureRpo(long incident, Target oldPrimary, Target newPrimary, long sinceMillis) implements Action {
  }

  /**
   * Record the decision (clustered: cluster-wide, every instance fencing {@code oldPrimary}), then run the
   * {@code on_fence} hook when {@code runFenceHook} (once per incident, after the decision is recorded), then
   * promote {@code candidate} with {@code pg_promote()}; report with {@link FailoverMachine#onPromoted}.
   *
   * @param oldPrimary the primary being replaced, {@code null} if none is known
   */
  record Promote(Target candidate, Target oldPrimary, boolean runFenceHook) implements Action {
  }

  /** Make {@code replica} stream from {@code primary}; report with {@link FailoverMachine#onRepointed}. */
  record Repoint(Target replica, Target primary) implements Action {
  }

  /** Check {@code target} now instead of waiting for its interval. */
  record Recheck(String target) implements Action {
  }

  /**
   * Run a write through the write endpoint, retrying until {@code deadlineMillis} (epoch ms of the machine's
   * clock); report with {@link FailoverMachine#onWriteAccepted} or {@link FailoverMachine#onProbeFailed}.
   */
  record ProbeWrite(long deadlineMillis) implements Action {
  }

  /** Run the configured hook for {@code event} ({@code on_failover}, {@code on_fence}, {@code on_switchover}). */
  record Hook(String event, Target oldPrimary, Target newPrimary) implements Action {
  }

  /** Log for operators at {@code level} ({@code info}, {@code warn}, {@code error}). */
  record Alert(String level, String message) implements Action {
  }

  /**
   * Record the switchover decision (clustered: every instance fences {@code from}), then carry out its database
   * steps; report with {@link FailoverMachine#onSwitchoverResult}.
   */
  record Switchover(Target from, Target to) implements Action {
  }
}
