package io.cutover.proxy;

import io.cutover.monitor.Poll;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Checks cluster-config/grafana-dashboard.json: an importable dashboard whose panels all query the Prometheus data
 * source of its {@code DS_PROMETHEUS} variable, and whose every PromQL expression selects only metrics that a real
 * Cutover on the local PostgreSQL cluster exposes at {@code /metrics}.
 */
class GrafanaDashboardTest {

  static final String DASHBOARD = "cluster-config/grafana-dashboard.json";
  static final String DATASOURCE = "${DS_PROMETHEUS}";
  /** Series Prometheus adds itself to every scrape target, never in {@code /metrics}. */
  static final Set<String> SCRAPE_SERIES = Set.of("up");
  static final Set<String> BYTE_UNITS = Set.of("bytes", "decbytes", "binBps", "Bps");

  @Test
  void dashboardIsImportableAndEveryPanelUsesTheDataSourceVariable() throws Exception {
    JsonObject d = dashboard();
    assertTrue(d.getInteger("schemaVersion", 0) >= 36, "schemaVersion " + d.getValue("schemaVersion"));
    assertTrue(d.getValue("id") == null, "id must be null so that an import creates the dashboard");
    assertFalse(d.getString("uid", "").isBlank(), "uid");
    assertFalse(d.getString("title", "").isBlank(), "title");
    JsonObject input = d.getJsonArray("__inputs").getJsonObject(0);
    assertEquals("DS_PROMETHEUS", input.getString("name"));
    assertEquals("prometheus", input.getString("pluginId"));

    Map<String, JsonObject> vars = new LinkedHashMap<>();
    d.getJsonObject("templating").getJsonArray("list").forEach(o -> vars.put(((JsonObject) o).getString("name"), (JsonObject) o));
    JsonObject ds = vars.get("DS_PROMETHEUS");
    assertTrue(ds != null && "datasource".equals(ds.getString("type")) && "prometheus".equals(ds.getString("query")),
        "a datasource variable DS_PROMETHEUS of type prometheus: " + vars.keySet());
    JsonObject instance = vars.get("instance");
    assertTrue(instance != null && variableQuery(instance).matches("label_values\\(.*, *instance\\)"),
        "an instance variable from label_values(..., instance): " + instance);
    for (JsonObject v : vars.values()) {
      if ("query".equals(v.getString("type"))) {
        assertDataSource(v.getJsonObject("datasource"), "variable " + v.getString("name"));
      }
    }

    List<JsonObject> panels = panels(d);
    assertTrue(panels.size() > 20, "panels: " + panels.size());
    Set<Integer> ids = new HashSet<>();
    for (JsonObject p : panels) {
      String where = "panel " + p.getValue("id") + " \"" + p.getString("title") + "\"";
      assertTrue(p.getValue("id") instanceof Integer && ids.add(p.getInteger("id")), where + ": id missing or not unique");
      assertFalse(p.getString("title", "").isBlank(), where + ": no title");
      JsonObject g = p.getJsonObject("gridPos");
      assertTrue(g != null && g.getInteger("x") >= 0 && g.getInteger("w") >= 1 && g.getInteger("x") + g.getInteger("w") <= 24
          && g.getInteger("h") >= 1 && g.getInteger("y") >= 0, where + ": gridPos " + g);
      if ("row".equals(p.getString("type"))) {
        assertTrue(p.getBoolean("collapsed", false) || p.getJsonArray("panels", new JsonArray()).isEmpty(),
            where + ": an open row holds no panels (they follow it)");
        continue;
      }
      assertDataSource(p.getJsonObject("datasource"), where);
      JsonArray targets = p.getJsonArray("targets", new JsonArray());
      assertFalse(targets.isEmpty(), where + ": no queries");
      Set<String> refIds = new HashSet<>();
      for (Object o : targets) {
        JsonObject t = (JsonObject) o;
        assertTrue(refIds.add(t.getString("refId", "")), where + ": refId missing or repeated: " + t);
        assertFalse(t.getString("expr", "").isBlank(), where + ": query " + t.getString("refId") + " has no expr");
        if (t.containsKey("datasource")) {
          assertDataSource(t.getJsonObject("datasource"), where + " query " + t.getString("refId"));
        }
      }
      assertUnit(p, where);
    }
  }

  /** Every expression, with Grafana's variables replaced by what they could stand for, is valid PromQL. */
  @Test
  void promtoolAcceptsEveryExpression() throws Exception {
    Optional<Path> promtool = PrometheusRulesTest.promtool();
    assumeTrue(promtool.isPresent(), "promtool not installed (apt-get install prometheus); skipping");
    StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
    int n = 0;
    for (String expr : queries(dashboard()).keySet()) {
      String concrete = expr.replace("$__rate_interval", "1m").replace("$__range", "1h").replace("$__interval", "1m")
          .replace("$job", ".*").replace("$instance", ".*");
      // a JSON string is a YAML double-quoted scalar
      rules.append("      - record: dashboard:expr").append(n++).append("\n        expr: ").append(Json.encode(concrete))
          .append('\n');
    }
    Path file = Files.createTempFile("grafana-dashboard", ".rules.yaml");
    try {
      Files.writeString(file, rules, StandardCharsets.UTF_8);
      PrometheusRulesTest.run(file.getParent(), promtool.get().toString(), "check", "rules", file.toString());
    } finally {
      Files.deleteIfExists(file);
    }
  }

  @Test
  void extractsTheMetricNamesOfAnExpression() {
    assertEquals(Set.of("cutover_backend_connect_failures_total"), PromQlMetricNames.of(
        "sum by (job, instance, target) (rate(cutover_backend_connect_failures_total{job=~\"$job\", instance=~\"$instance\"}"
            + "[$__rate_interval]))"));
    assertEquals(Set.of("a_bucket"), PromQlMetricNames.of("histogram_quantile(0.95, sum(rate(a_bucket[5m])) by (le))"));
    assertEquals(Set.of("lag", "rpo"), PromQlMetricNames.of("lag > ignoring(target) group_left() (rpo >= 0)"));
    assertEquals(Set.of("a", "b"), PromQlMetricNames.of("a == bool 0 unless on(job, instance) b offset -5m > 1e-3"));
    assertEquals(Set.of("m"), PromQlMetricNames.of(
        "label_replace(m{role=\"a}\\\" or by (x)\"}, \"dst\", \"$1\", \"src\", \"(.*) sum(no_metric)\")"));
    assertEquals(Set.of("c", "d"), PromQlMetricNames.of("SUM WITHOUT (a) (c) * ON() GROUP_RIGHT(e) d + 0x1F - Inf"));
    assertEquals(Set.of("job:m:rate5m", "n"), PromQlMetricNames.of(
        "max_over_time(rate(job:m:rate5m[1m])[1h:5m]) / ${instance:regex} + n @ end() + time()"));
    assertEquals(Set.of("x"), PromQlMetricNames.of("time() - (x > 0)"));
    assertEquals(Set.of(), PromQlMetricNames.of("vector(1) # a comment naming no_metric"));
    IllegalArgumentException typo = assertThrows(IllegalArgumentException.class, () -> PromQlMetricNames.of("rat(m[5m])"));
    assertTrue(typo.getMessage().contains("rat()"), typo.getMessage());
    assertThrows(IllegalArgumentException.class, () -> PromQlMetricNames.of("{__name__=~\"cutover_.*\"}"));
  }

  @Test
  void reportsEveryQueriedMetricMissingFromMetrics() {
    String exposition = """
        # HELP h_seconds a histogram
        # TYPE h_seconds histogram
        h_seconds_bucket{le="1.0"} 0
        h_seconds_count 0
        h_seconds_sum 0.0
        # TYPE g gauge
        g{target="pg1"} 1.0
        """;
    Map<String, Set<String>> queried = new TreeMap<>();
    for (String expr : List.of("rate(h_seconds_sum[1m]) / rate(h_seconds_count[1m])", "g > 0", "up == 0",
        "cutover_invented_metric_total + g", "h_seconds")) {
      PromQlMetricNames.of(expr).forEach(name -> queried.computeIfAbsent(name, k -> new TreeSet<>()).add("panel " + expr));
    }
    List<String> missing = missing(queried, exposition);
    assertEquals(2, missing.size(), missing.toString());
    assertTrue(missing.get(0).startsWith("cutover_invented_metric_total (panel cutover_invented_metric_total + g)"), missing.get(0));
    assertTrue(missing.get(1).startsWith("h_seconds (panel h_seconds): a histogram, query h_seconds_bucket"), missing.get(1));
  }

  /**
   * Cutover over the real cluster, one session through each endpoint: every metric the dashboard queries (panels
   * and variables) is in {@code /metrics}, and the per-target session gauge counts the sessions.
   */
  @Test
  void everyQueriedMetricIsInMetrics() throws Exception {
    Map<String, Set<String>> queried = new TreeMap<>();
    queries(dashboard()).forEach((expr, where) -> PromQlMetricNames.of(expr)
        .forEach(name -> queried.computeIfAbsent(name, k -> new TreeSet<>()).addAll(where)));
    assertTrue(queried.size() > 30, "metrics queried: " + queried.keySet());
    try (Harness h = Harness.startOnCluster(""); Http http = new Http(h.cutover.httpPort());
         Connection write = h.write(); Connection read = h.read()) {
      Harness.one(write, "select 1");
      Harness.one(read, "select 1");
      String[] metrics = new String[1];
      awaitMetrics(http, metrics, "one session per endpoint",
          lines -> lines.contains("cutover_client_sessions{endpoint=\"write\"} 1.0")
              && lines.contains("cutover_client_sessions{endpoint=\"read\"} 1.0"));
      List<String> missing = missing(queried, metrics[0]);
      assertTrue(missing.isEmpty(), DASHBOARD + " queries metrics that /metrics does not have:\n  "
          + String.join("\n  ", missing));
      awaitMetrics(http, metrics, "cutover_target_sessions: 1 on pg1 (write), 1 on one replica (read), 0 on the other",
          lines -> lines.contains("cutover_target_sessions{target=\"pg1\"} 1.0")
              && (lines.contains("cutover_target_sessions{target=\"pg2\"} 1.0")
                  && lines.contains("cutover_target_sessions{target=\"pg3\"} 0.0")
                  || lines.contains("cutover_target_sessions{target=\"pg2\"} 0.0")
                  && lines.contains("cutover_target_sessions{target=\"pg3\"} 1.0")));
    }
  }

  /** Fetches {@code /metrics} into {@code metrics[0]} until its lines satisfy {@code condition}. */
  private static void awaitMetrics(Http http, String[] metrics, String what,
                                   java.util.function.Predicate<Set<String>> condition) {
    try {
      Poll.until(Duration.ofSeconds(30), what + " in /metrics", () -> {
        try {
          metrics[0] = http.get("/metrics").bodyAsString();
        } catch (Exception e) {
          return false;
        }
        return condition.test(metrics[0].lines().collect(Collectors.toSet()));
      });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; the last /metrics:\n" + metrics[0], e);
    }
  }

  /**
   * The queried names that {@code exposition} (Prometheus text) has no sample of, each with the panels querying it,
   * sorted; a histogram's or summary's own name is reported with the suffixes its samples carry.
   */
  static List<String> missing(Map<String, Set<String>> queried, String exposition) {
    Set<String> samples = new HashSet<>(SCRAPE_SERIES);
    Map<String, String> types = new TreeMap<>();
    for (String line : exposition.lines().toList()) {
      if (line.startsWith("# TYPE ")) {
        String[] f = line.split(" ");
        types.put(f[2], f[3]);
      } else if (!line.isBlank() && !line.startsWith("#")) {
        samples.add(line.split("[{ ]", 2)[0]);
      }
    }
    List<String> out = new ArrayList<>();
    queried.forEach((name, where) -> {
      if (!samples.contains(name)) {
        String type = types.get(name);
        String hint = "histogram".equals(type) ? ": a histogram, query " + name + "_bucket, _count or _sum"
            : "summary".equals(type) ? ": a summary, query " + name + "_count or _sum" : "";
        out.add(name + " (" + String.join(", ", where) + ")" + hint);
      }
    });
    return out;
  }

  static JsonObject dashboard() throws Exception {
    return new JsonObject(Files.readString(PrometheusRulesTest.projectRoot().resolve(DASHBOARD), StandardCharsets.UTF_8));
  }

  /** Every panel, the ones nested in collapsed rows included. */
  static List<JsonObject> panels(JsonObject dashboard) {
    List<JsonObject> out = new ArrayList<>();
    addPanels(dashboard.getJsonArray("panels"), out);
    return out;
  }

  private static void addPanels(JsonArray panels, List<JsonObject> out) {
    for (Object o : panels) {
      JsonObject p = (JsonObject) o;
      out.add(p);
      addPanels(p.getJsonArray("panels", new JsonArray()), out);
    }
  }

  /** Every PromQL expression of the dashboard's panels and query variables, with where it is used. */
  static Map<String, Set<String>> queries(JsonObject dashboard) {
    Map<String, Set<String>> out = new LinkedHashMap<>();
    for (JsonObject p : panels(dashboard)) {
      for (Object o : p.getJsonArray("targets", new JsonArray())) {
        JsonObject t = (JsonObject) o;
        out.computeIfAbsent(t.getString("expr"), k -> new TreeSet<>())
            .add("panel \"" + p.getString("title") + "\" " + t.getString("refId"));
      }
    }
    for (Object o : dashboard.getJsonObject("templating").getJsonArray("list")) {
      JsonObject v = (JsonObject) o;
      if ("query".equals(v.getString("type"))) {
        String q = variableQuery(v);
        String selector = q.replaceFirst("^label_values\\((.*),[^,]*\\)$", "$1");
        out.computeIfAbsent(selector, k -> new TreeSet<>()).add("variable " + v.getString("name"));
      }
    }
    return out;
  }

  static String variableQuery(JsonObject v) {
    Object q = v.getValue("query");
    return q instanceof JsonObject o ? o.getString("query", "") : String.valueOf(q);
  }

  static void assertDataSource(JsonObject ds, String where) {
    assertTrue(ds != null && "prometheus".equals(ds.getString("type")) && DATASOURCE.equals(ds.getString("uid")),
        where + ": datasource must be {type: prometheus, uid: " + DATASOURCE + "}, was " + ds);
  }

  /**
   * A panel whose first query reads seconds or bytes shows them in that unit; a ratio of like quantities has no unit
   * to check, a mean ({@code _sum / _count}) has its sum's.
   */
  static void assertUnit(JsonObject p, String where) {
    String expr = p.getJsonArray("targets").getJsonObject(0).getString("expr");
    boolean ratio = expr.contains(" / ");
    if (ratio && !expr.contains("_sum")) {
      return;
    }
    Set<String> names = new TreeSet<>(PromQlMetricNames.of(expr));
    if (ratio) {
      names.removeIf(n -> n.endsWith("_count"));
    }
    String unit = p.getJsonObject("fieldConfig", new JsonObject()).getJsonObject("defaults", new JsonObject()).getString("unit");
    if (names.isEmpty()) {
      return;
    }
    if (names.stream().allMatch(n -> n.matches(".*_seconds(_max|_sum)?"))) {
      assertEquals("s", unit, where + ": seconds");
    } else if (names.stream().allMatch(n -> n.matches(".*_bytes(_total|_sum|_max)?"))) {
      assertTrue(BYTE_UNITS.contains(unit), where + ": bytes, unit " + unit);
    }
  }
}
