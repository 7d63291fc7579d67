package io.cutover.drill;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * Drill results as markdown and JSON: one table row per run (the columns each fault chose, in its result's
 * {@code table}), a table per instance when there are several, and every expectation with "held" or "NOT held".
 */
final class DrillReport {

  private DrillReport() {
  }

  static JsonObject summarize(List<JsonObject> runs, Fault fault, boolean sync) {
    List<Long> client = runs.stream().map(DrillReport::clientRto).filter(Objects::nonNull).sorted().toList();
    return new JsonObject()
        .put("fault", fault.label)
        .put("synchronous_replication", sync)
        .put("runs", runs.size())
        .put("client_rto_ms", stats(client))
        .put("runs_without_resumed_writes", runs.stream().filter(r -> r.containsKey("client_rto_ms")
            || r.containsKey("client_rto_from_restart_ms")).filter(r -> clientRto(r) == null).count())
        .put("failed_attempts", runs.stream().mapToLong(r -> number(r, "failed_attempts")).sum())
        .put("lost_acknowledged", runs.stream().anyMatch(r -> r.getValue("lost_acknowledged") == null) ? null
            : runs.stream().mapToLong(r -> number(r, "lost_acknowledged")).sum())
        .put("promotions", runs.stream().mapToLong(r -> number(r, "promotions")).sum())
        .put("expectations_held", runs.stream().allMatch(r -> Expectations.allHeld(r.getJsonArray("expectations"))));
  }

  private static long number(JsonObject run, String key) {
    Number n = (Number) run.getValue(key);
    return n == null ? 0 : n.longValue();
  }

  private static Long clientRto(JsonObject run) {
    return run.containsKey("client_rto_from_restart_ms") ? run.getLong("client_rto_from_restart_ms") : run.getLong("client_rto_ms");
  }

  static JsonObject stats(List<Long> sorted) {
    if (sorted.isEmpty()) {
      return null;
    }
    int n = sorted.size();
    long median = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    return new JsonObject().put("median", median).put("min", sorted.get(0)).put("max", sorted.get(n - 1));
  }

  static String markdown(List<JsonObject> runs, JsonObject summary, Fault fault) {
    StringBuilder sb = new StringBuilder("### drill: ").append(fault.label).append('\n').append('\n');
    JsonObject first = runs.stream().map(r -> r.getJsonObject("table")).filter(Objects::nonNull).findFirst()
        .orElse(new JsonObject().put("error", null));
    sb.append("| run |");
    first.fieldNames().forEach(c -> sb.append(' ').append(c).append(" |"));
    sb.append("\n|---|").append("---|".repeat(first.size())).append('\n');
    for (JsonObject r : runs) {
      sb.append("| ").append(r.getInteger("run")).append(" |");
      if (r.getJsonObject("table") == null) {
        sb.append(" run failed: ").append(cell(r.getString("error"))).append(" |");
      } else {
        r.getJsonObject("table").forEach(e -> sb.append(' ').append(cell(e.getValue())).append(" |"));
      }
      sb.append('\n');
    }
    if (runs.stream().anyMatch(r -> r.getJsonArray("per_instance") != null)) {
      boolean roles = runs.stream().anyMatch(r -> r.getJsonArray("per_instance", new JsonArray()).stream()
          .anyMatch(x -> ((JsonObject) x).containsKey("role")));
      sb.append("\n| run | instance |").append(roles ? " role |" : "")
          .append(" client-seen RTO | acknowledged | failed attempts | acknowledged writes lost |\n|---|---|")
          .append(roles ? "---|" : "").append("---|---|---|---|\n");
      for (JsonObject r : runs) {
        for (Object o : r.getJsonArray("per_instance", new JsonArray())) {
          JsonObject x = (JsonObject) o;
          sb.append(String.format("| %d | %d |%s %s | %s | %s | %s |%n", r.getInteger("run"), x.getInteger("instance"),
              roles ? " " + x.getString("role") + " |" : "", cell(x.getString("role", "").startsWith("old leader") ? null : ms(x.getLong("client_rto_ms"))),
              x.getValue("acknowledged"), x.getValue("failed_attempts"), cell(x.getValue("lost_acknowledged"))));
        }
      }
    }
    sb.append('\n');
    expectations(sb, runs);
    sb.append('\n').append("summary: ").append(summary.encode()).append('\n');
    return sb.toString();
  }

  /** Every run's expectations, one line each: "- run N: expected ...: held (observed: ...)". */
  static void expectations(StringBuilder sb, List<JsonObject> runs) {
    for (JsonObject r : runs) {
      for (Object o : r.getJsonArray("expectations")) {
        JsonObject e = (JsonObject) o;
        sb.append(String.format("- run %d: expected %s: %s (observed: %s)%n", r.getInteger("run"),
            e.getString("expected"), e.getBoolean("held") ? "held" : "NOT held", e.getString("observed")));
      }
    }
  }

  static String cell(Object value) {
    return value == null ? "-" : String.valueOf(value).replace("|", "\\|");
  }

  /** "N ms", or "never" for null. */
  static String ms(Long millis) {
    return millis == null ? "never" : millis + " ms";
  }

  static String between(String from, String to) {
    if (from == null || to == null) {
      return "-";
    }
    return (Instant.parse(to).toEpochMilli() - Instant.parse(from).toEpochMilli()) + " ms";
  }
}
