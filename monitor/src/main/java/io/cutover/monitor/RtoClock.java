package io.cutover.monitor;

import java.util.List;
import java.util.Locale;

/**
 * The RTO clock of an open incident: a warning at 75% of {@code rto} and an error at the breach, each logged
 * once, measured from the old primary's last healthy check. Pure.
 */
final class RtoClock {

  private RtoClock() {
  }

  /** The alerts due for {@code incident} at {@code now} (none, the 75% warning, or the breach). */
  static List<Action> check(Incident incident, long now) {
    if (incident == null || incident.lastHealthyAt < 0) {
      return List.of();
    }
    long elapsed = now - incident.lastHealthyAt;
    long rto = incident.rtoMillis;
    String what = incident.kind.name().toLowerCase(Locale.ROOT) + " of " + incident.oldPrimary + " open for " + elapsed
        + " ms, rto " + rto + " ms";
    if (!incident.breachLogged && elapsed >= rto) {
      incident.breachLogged = true;
      incident.warned = true;
      return List.of(new Action.Alert("error", "RTO breached: " + what));
    }
    if (!incident.warned && elapsed * 4 >= rto * 3) {
      incident.warned = true;
      return List.of(new Action.Alert("warn", "RTO at 75%: " + what));
    }
    return List.of();
  }
}
