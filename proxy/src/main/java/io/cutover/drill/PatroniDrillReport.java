package io.cutover.drill;

import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Objects;

/**
 * {@code scripts/drill --patroni} results side by side: per run one row with each writer's client-seen RTO, failed
 * attempts and acknowledged writes lost (Cutover's, HAProxy's), Cutover's incident; median/min/max per writer.
 */
final class PatroniDrillReport {

  private static final List<String> WRITERS = List.of("cutover", "haproxy");

  private PatroniDrillReport() {
  }

  static JsonObject summarize(List<JsonObject> runs) {
    JsonObject out = new JsonObject().put("fault", "patroni-kill").put("runs", runs.size());
    for (String w : WRITERS) {
      List<JsonObject> of = runs.stream().map(r -> r.getJsonObject(w)).filter(Objects::nonNull).toList();
      out.put(w, new JsonObject()
          .put("client_rto_ms", DrillReport.stats(of.stream().map(x -> x.getLong("rto_ms")).filter(Objects::nonNull)
              .sorted().toList()))
          .put("runs_without_resumed_writes", runs.size() - of.stream().filter(x -> x.getLong("rto_ms") != null).count())
          .put("failed_attempts", of.stream().mapToLong(x -> x.getLong("failed_attempts", 0L)).sum())
          .put("lost_acknowledged", of.stream().anyMatch(x -> x.getValue("lost_acknowledged") == null) ? null
              : of.stream().mapToLong(x -> x.getLong("lost_acknowledged")).sum()));
    }
    return out.put("expectations_held", runs.stream().allMatch(r -> Expectations.allHeld(r.getJsonArray("expectations"))));
  }

  static String markdown(List<JsonObject> runs, JsonObject summary) {
    StringBuilder sb = new StringBuilder("### drill: kill -9 of the Patroni leader, Cutover and HAProxy side by side\n\n");
    sb.append("| run | new leader | client-seen RTO via Cutover | via HAProxy | failed attempts via Cutover | via HAProxy"
        + " | acknowledged writes lost via Cutover | via HAProxy | Cutover's incident |\n");
    sb.append("|---|---|---|---|---|---|---|---|---|\n");
    for (JsonObject r : runs) {
      JsonObject c = r.getJsonObject("cutover");
      JsonObject h = r.getJsonObject("haproxy");
      if (c == null || h == null) {
        sb.append("| ").append(r.getInteger("run")).append(" | run failed: ").append(DrillReport.cell(r.getString("error")))
            .append(" |\n");
        continue;
      }
      JsonObject i = r.getJsonObject("incident");
      String incident = i == null ? "none" : i.getString("kind") + " " + i.getString("old_primary") + " → "
          + i.getString("new_primary") + ", " + DrillReport.ms(i.getLong("duration_ms")) + " ("
          + i.getString("rto_verdict") + "), RPO " + i.getJsonObject("rpo", new JsonObject()).getString("display");
      sb.append(String.format("| %d | %s | %s | %s | %d | %d | %s | %s | %s |%n", r.getInteger("run"),
          DrillReport.cell(c.getString("new_leader")), DrillReport.ms(c.getLong("rto_ms")), DrillReport.ms(h.getLong("rto_ms")),
          c.getLong("failed_attempts"), h.getLong("failed_attempts"), DrillReport.cell(c.getValue("lost_acknowledged")),
          DrillReport.cell(h.getValue("lost_acknowledged")), DrillReport.cell(incident)));
    }
    sb.append('\n');
    for (String w : WRITERS) {
      JsonObject x = summary.getJsonObject(w);
      JsonObject rto = x.getJsonObject("client_rto_ms");
      sb.append(String.format("- %s: client-seen RTO %s, failed attempts %d, acknowledged writes lost %s%n",
          w.equals("cutover") ? "Cutover" : "HAProxy", rto == null ? "never"
              : "median " + rto.getLong("median") + " ms (min " + rto.getLong("min") + ", max " + rto.getLong("max") + ")",
          x.getLong("failed_attempts"), DrillReport.cell(x.getValue("lost_acknowledged"))));
    }
    sb.append('\n');
    DrillReport.expectations(sb, runs);
    sb.append('\n').append("summary: ").append(summary.encode()).append('\n');
    return sb.toString();
  }
}
