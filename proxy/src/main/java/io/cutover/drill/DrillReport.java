package io.cutover.drill;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Objects;

/** Summaries of drill runs: median/min/max of the RTOs, totals of failures and losses, as JSON and markdown. */
final class DrillReport {

  private DrillReport() {
  }

  static JsonObject summarize(List<JsonObject> runs, boolean flap, boolean sync) {
    List<Long> client = runs.stream().map(r -> r.getLong("client_rto_ms")).filter(Objects::nonNull).sorted().toList();
    List<Long> cutover = runs.stream().map(DrillReport::lastIncident).filter(Objects::nonNull)
        .map(i -> i.getLong("duration_ms")).filter(Objects::nonNull).sorted().toList();
    return new JsonObject()
        .put("mode", flap ? "flap" : "kill")
        .put("synchronous_replication", sync)
        .put("runs", runs.size())
        .put("client_rto_ms", stats(client))
        .put("cutover_duration_ms", stats(cutover))
        .put("failed_attempts", runs.stream().mapToLong(r -> r.getLong("failed_attempts", 0L)).sum())
        .put("missing_acknowledged", runs.stream().mapToLong(r -> r.getLong("missing_acknowledged", 0L)).sum())
        .put("failovers", runs.stream().mapToLong(r -> r.getLong("failovers", 0L)).sum());
  }

  static JsonObject lastIncident(JsonObject run) {
    JsonArray incidents = run.getJsonArray("incidents");
    return incidents == null || incidents.isEmpty() ? null : incidents.getJsonObject(incidents.size() - 1);
  }

  private static JsonObject stats(List<Long> sorted) {
    if (sorted.isEmpty()) {
      return null;
    }
    int n = sorted.size();
    long median = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    return new JsonObject().put("median", median).put("min", sorted.get(0)).put("max", sorted.get(n - 1));
  }

  static String markdown(List<JsonObject> runs, JsonObject summary, boolean flap) {
    StringBuilder sb = new StringBuilder();
    if (flap) {
      sb.append("| run | failovers | acknowledged writes | failed attempts | missing acknowledged |\n|---|---|---|---|---|\n");
      for (JsonObject r : runs) {
        sb.append(String.format("| %d | %d | %d | %d | %d |%n", r.getInteger("run"), r.getInteger("failovers"),
            r.getInteger("acknowledged"), r.getLong("failed_attempts"), r.getLong("missing_acknowledged")));
      }
    } else {
      sb.append("| run | client-seen RTO (kill → first ack) | Cutover cutover (last healthy → write accepted) | RTO verdict "
          + "| DOWN declared after last healthy | promoted after DOWN | RPO bytes | failed attempts | acked by old primary after kill | missing acknowledged |\n");
      sb.append("|---|---|---|---|---|---|---|---|---|---|\n");
      for (JsonObject r : runs) {
        JsonObject i = lastIncident(r);
        JsonObject t = i == null ? new JsonObject() : i.getJsonObject("timeline");
        sb.append(String.format("| %d | %s ms | %s ms | %s | %s | %s | %s | %d | %d | %d |%n", r.getInteger("run"),
            r.getValue("client_rto_ms"), i == null ? "-" : i.getValue("duration_ms"),
            i == null ? "-" : i.getString("rto_verdict"),
            between(t.getString("last_healthy"), t.getString("down_declared")),
            between(t.getString("down_declared"), t.getString("promoted")),
            i == null ? "-" : i.getValue("rpo_bytes"), r.getLong("failed_attempts"),
            r.getLong("acknowledged_by_old_primary_after_kill", 0L), r.getLong("missing_acknowledged")));
      }
    }
    if (runs.stream().anyMatch(r -> r.getInteger("instances", 1) > 1)) {
      sb.append("\n| run | instance | client-seen RTO | acknowledged | failed attempts | missing acknowledged |\n|---|---|---|---|---|---|\n");
      for (JsonObject r : runs) {
        JsonArray per = r.getJsonArray("per_instance", new JsonArray());
        for (int i = 0; i < per.size(); i++) {
          JsonObject x = per.getJsonObject(i);
          sb.append(String.format("| %d | %d | %s ms | %s | %s | %s |%n", r.getInteger("run"), x.getInteger("instance"),
              x.getValue("client_rto_ms"), x.getValue("acknowledged"), x.getValue("failed_attempts"),
              x.getValue("missing_acknowledged")));
        }
      }
    }
    sb.append('\n');
    sb.append("summary: ").append(summary.encode()).append('\n');
    return sb.toString();
  }

  private static String between(String from, String to) {
    if (from == null || to == null) {
      return "-";
    }
    return (java.time.Instant.parse(to).toEpochMilli() - java.time.Instant.parse(from).toEpochMilli()) + " ms";
  }
}
