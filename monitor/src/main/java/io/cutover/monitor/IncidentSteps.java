package io.cutover.monitor;

import io.vertx.core.json.JsonObject;

import java.util.List;

/**
 * Notices the steps of the open incident as they happen. The failover machine changes its open incident in many
 * places (a candidate chosen, a promotion attempt started or ended, promoted, first seen as primary, a note, the
 * first write accepted) and says so with an action only when the incident opens, closes or its RPO is measured
 * after the fact; this compares the open incident's JSON after every input with its version after the previous one
 * and, when it changed and no action of the input names the incident already, adds {@link Action.IncidentStep}.
 *
 * <p>{@code notes_dropped} alone is no step: past {@value Incident#NOTES_KEPT} notes an incident only counts them,
 * and an incident open for hours must not be re-published for every note it no longer keeps. So an incident gives at
 * most a step per kept note, per timeline step and per attempt. Pure; not thread-safe (driven with the machine).
 */
final class IncidentSteps {

  private Incident seen;
  private JsonObject seenJson;

  /**
   * After an input: the step to add to its actions, or {@code null}.
   *
   * @param open     the machine's open incident now, or {@code null}
   * @param produced the actions the input produced
   */
  Action after(Incident open, List<Action> produced) {
    if (open == null) {
      seen = null;
      seenJson = null;
      return null;
    }
    JsonObject now = fingerprint(open);
    boolean changed = open == seen && !now.equals(seenJson);
    seen = open;
    seenJson = now;
    return changed && !named(open, produced) ? new Action.IncidentStep(open) : null;
  }

  /** Whether an action of {@code produced} already publishes {@code incident}. */
  private static boolean named(Incident incident, List<Action> produced) {
    for (Action a : produced) {
      Incident i = a instanceof Action.IncidentOpened o ? o.incident()
          : a instanceof Action.IncidentUpdated u ? u.incident()
          : a instanceof Action.IncidentClosed c ? c.incident()
          : a instanceof Action.IncidentStep st ? st.incident() : null;
      if (i == incident) {
        return true;
      }
    }
    return false;
  }

  private static JsonObject fingerprint(Incident i) {
    JsonObject json = i.toJson();
    json.remove("notes_dropped");
    return json;
  }
}
