package io.cutover.drill;

import io.vertx.core.json.JsonObject;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The faults a drill injects ({@code --fault}); each runs in its own class against a started {@link DrillRig}. */
enum Fault {
  KILL("kill"), FREEZE("freeze"), FLAP("flap"), ZONE_LOSS("zone-loss"), POWER_LOSS("power-loss");

  /** One run of a fault: inject it, measure, and return the run's results with a table row and expectations. */
  interface Run {
    JsonObject run(DrillRig rig) throws Exception;
  }

  final String label;

  Fault(String label) {
    this.label = label;
  }

  static Fault parse(String text) {
    return Arrays.stream(values()).filter(f -> f.label.equals(text)).findFirst().orElseThrow(() ->
        new IllegalArgumentException("unknown fault '" + text + "' (one of "
            + Arrays.stream(values()).map(f -> f.label).collect(Collectors.joining(", ")) + ")"));
  }

  Run create(Drill options) {
    return switch (this) {
      case KILL -> new KillFault(options);
      case FREEZE -> new FreezeFault(options);
      case FLAP -> new FlapFault();
      case ZONE_LOSS -> new ZoneLossFault(options);
      case POWER_LOSS -> new PowerLossFault(options);
    };
  }
}
