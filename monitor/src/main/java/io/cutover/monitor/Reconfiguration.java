package io.cutover.monitor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a configuration reload may do to the monitor's targets (pure). A target that stays under its name and address
 * keeps everything known about it; a target that leaves — removed, or re-addressed (the same name on another host or
 * port: another server) — is forgotten. A reload must not make a target leave while the failover relies on it: the
 * routed primary, the primary of record, and the old primary or candidate of an open incident or of a promotion or
 * switchover in flight. Such a reload is refused whole ({@link Refused}); switch over (or let the incident close) first.
 */
public final class Reconfiguration {

  private Reconfiguration() {
  }

  /** A reload refused because of the monitor's state; {@link #problems()} has one line per target. */
  public static final class Refused extends IllegalStateException {
    private final List<String> problems;

    public Refused(List<String> problems) {
      super(String.join("; ", problems));
      this.problems = List.copyOf(problems);
    }

    /** One line per problem, e.g. {@code targets: pg1 is the primary of record: ...}. */
    public List<String> problems() {
      return problems;
    }
  }

  /** Names in {@code before} that are not in {@code after}, in {@code before}'s order. */
  public static Set<String> removed(List<Target> before, List<Target> after) {
    Set<String> out = new LinkedHashSet<>();
    Set<String> names = names(after).keySet();
    before.forEach(t -> {
      if (!names.contains(t.name())) {
        out.add(t.name());
      }
    });
    return out;
  }

  /** Names in both lists whose host or port differ (re-addressed), in {@code after}'s order. */
  public static Set<String> readdressed(List<Target> before, List<Target> after) {
    Map<String, Target> old = names(before);
    Set<String> out = new LinkedHashSet<>();
    after.forEach(t -> {
      Target o = old.get(t.name());
      if (o != null && !o.equals(t)) {
        out.add(t.name());
      }
    });
    return out;
  }

  /**
   * Why {@code leaving} (removed or re-addressed targets) may not leave now, one line per target in name order; empty when they may.
   *
   * @param machine the failover machine (primary of record, open incident, phase)
   * @param current the current snapshot (the routed primary)
   */
  public static List<String> conflicts(FailoverMachine machine, Topology current, Set<String> leaving) {
    Map<String, String> roles = new LinkedHashMap<>();
    Incident open = machine.openIncident();
    if (open != null) {
      put(roles, open.oldPrimary, "the old primary of the open incident " + open.id);
      put(roles, open.candidate, "the candidate of the open incident " + open.id);
    }
    Phase phase = machine.phase();
    if (phase instanceof Phase.Promoting p) {
      put(roles, p.candidate(), "being promoted");
    } else if (phase instanceof Phase.SwitchingOver sw) {
      put(roles, sw.to(), "the candidate of the switchover in flight");
    }
    put(roles, machine.knownPrimary(), "the primary of record");
    put(roles, current.primary(), "the routed primary");
    List<String> out = new ArrayList<>();
    for (String name : new TreeSet<>(leaving)) {
      String role = roles.get(name);
      if (role != null) {
        out.add("targets: " + name + " is " + role + ": a reload cannot remove or re-address it (switch over to "
            + "another target, or wait until the incident closes, then reload)");
      }
    }
    return out;
  }

  private static void put(Map<String, String> roles, String name, String role) {
    if (name != null) {
      roles.putIfAbsent(name, role);
    }
  }

  private static Map<String, Target> names(List<Target> targets) {
    Map<String, Target> out = new LinkedHashMap<>();
    targets.forEach(t -> out.put(t.name(), t));
    return out;
  }
}
