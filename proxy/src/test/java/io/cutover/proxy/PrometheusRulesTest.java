package io.cutover.proxy;

import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.File;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Checks cluster-config/prometheus-rules.yaml: its structure and alert set always, and with
 * Prometheus's promtool (Debian package {@code prometheus}) when it is installed.
 */
class PrometheusRulesTest {

  static final String RULES = "cluster-config/prometheus-rules.yaml";
  static final String RULE_TESTS = "cluster-config/prometheus-rules.test.yaml";
  static final long PROMTOOL_TIMEOUT_SECONDS = 60;

  /** One alert per required concept; keep in sync with the rules file. */
  static final Set<String> EXPECTED_ALERTS = new TreeSet<>(List.of(
      "CutoverRtoApproaching",
      "CutoverRtoBreached",
      "CutoverRtoBreachRecorded",
      "CutoverReplicaLagAboveRpo",
      "CutoverRpoLossMeasured",
      "CutoverNoReadableReplica",
      "CutoverNoRoutablePrimary",
      "CutoverFailoverRefused",
      "CutoverInstanceDown",
      "CutoverClientConnectionsNearLimit"));

  static final Set<String> SEVERITIES = Set.of("warning", "critical");

  @Test
  void promtoolAcceptsTheRules() throws Exception {
    Optional<Path> promtool = promtool();
    if (promtool.isEmpty()) {
      assumeTrue(false, "promtool not installed (apt-get install prometheus); skipping promtool check rules");
    }
    Path root = projectRoot();
    run(root, promtool.get().toString(), "check", "rules", RULES);
  }

  @Test
  void promtoolUnitTestsPass() throws Exception {
    Optional<Path> promtool = promtool();
    if (promtool.isEmpty()) {
      assumeTrue(false, "promtool not installed (apt-get install prometheus); skipping promtool test rules");
    }
    Path root = projectRoot();
    assumeTrue(Files.isRegularFile(root.resolve(RULE_TESTS)), RULE_TESTS + " not present");
    run(root, promtool.get().toString(), "test", "rules", RULE_TESTS);
  }

  @Test
  @SuppressWarnings("unchecked")
  void everyRequiredAlertIsThereWithSeverityAndAnnotations() throws IOException {
    Path file = projectRoot().resolve(RULES);
    Object doc;
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      doc = new Yaml(new SafeConstructor(new LoaderOptions())).load(r);
    }
    Map<String, Object> top = assertInstanceOf(Map.class, doc, RULES + ": top level must be a mapping");
    List<Object> groups = assertInstanceOf(List.class, top.get("groups"), RULES + ": `groups` must be a list");
    assertFalse(groups.isEmpty(), RULES + ": no rule groups");

    List<String> names = new ArrayList<>();
    for (Object g : groups) {
      Map<String, Object> group = assertInstanceOf(Map.class, g, "a group must be a mapping");
      Object groupName = group.get("name");
      assertTrue(groupName instanceof String s && !s.isBlank(), "every group needs a name: " + group);
      List<Object> rules = assertInstanceOf(List.class, group.get("rules"), "group " + groupName + ": `rules` must be a list");
      for (Object o : rules) {
        Map<String, Object> rule = assertInstanceOf(Map.class, o, "group " + groupName + ": a rule must be a mapping");
        Object alert = rule.get("alert");
        assertTrue(alert instanceof String, "group " + groupName + ": every rule must be an alert: " + rule);
        String name = (String) alert;
        String where = "alert " + name + " (group " + groupName + ")";
        assertTrue(name.matches("Cutover[A-Z][A-Za-z0-9]*"), where + ": name must be CamelCase with a Cutover prefix");
        names.add(name);

        Object expr = rule.get("expr");
        assertTrue(expr instanceof String s && !s.isBlank(), where + ": no expr");

        Map<String, Object> labels = assertInstanceOf(Map.class, rule.get("labels"), where + ": no labels");
        Object severity = labels.get("severity");
        assertTrue(SEVERITIES.contains(severity), where + ": severity must be one of " + SEVERITIES + ", was " + severity);

        Map<String, Object> annotations = assertInstanceOf(Map.class, rule.get("annotations"), where + ": no annotations");
        for (String key : List.of("summary", "description")) {
          Object text = annotations.get(key);
          assertTrue(text instanceof String s && !s.isBlank(), where + ": annotation " + key + " missing or blank");
        }
      }
    }
    assertEquals(names.size(), new TreeSet<>(names).size(), "duplicate alert names: " + names);
    assertEquals(EXPECTED_ALERTS, new TreeSet<>(names), "alert names in " + RULES);
  }

  /** Walks up from the working directory to the directory holding {@link #RULES}. */
  static Path projectRoot() {
    Path start = Paths.get("").toAbsolutePath();
    for (Path dir = start; dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve(RULES))) {
        return dir;
      }
    }
    return fail("no " + RULES + " found in " + start + " or any parent directory");
  }

  /** promtool from the PATH, else /usr/bin/promtool, if executable. */
  static Optional<Path> promtool() {
    List<Path> candidates = new ArrayList<>();
    String path = System.getenv("PATH");
    if (path != null) {
      for (String dir : path.split(File.pathSeparator)) {
        if (!dir.isBlank()) {
          candidates.add(Paths.get(dir, "promtool"));
        }
      }
    }
    candidates.add(Paths.get("/usr/bin/promtool"));
    return candidates.stream()
        .filter(p -> Files.isRegularFile(p) && Files.isExecutable(p))
        .findFirst();
  }

  /** Runs a command in {@code dir}, failing with its output unless it exits 0 within the timeout. */
  static void run(Path dir, String... command) throws IOException, InterruptedException {
    Path out = Files.createTempFile("promtool", ".out");
    try {
      Process p = new ProcessBuilder(command)
          .directory(dir.toFile())
          .redirectErrorStream(true)
          .redirectOutput(out.toFile())
          .start();
      String cmd = String.join(" ", command);
      if (!p.waitFor(PROMTOOL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        fail(cmd + " did not finish within " + PROMTOOL_TIMEOUT_SECONDS + " s; output:\n" + read(out));
      }
      int rc = p.exitValue();
      String output = read(out);
      assertEquals(0, rc, () -> cmd + " exited " + rc + "; output:\n" + output);
    } finally {
      Files.deleteIfExists(out);
    }
  }

  static String read(Path file) throws IOException {
    return Files.readString(file, StandardCharsets.UTF_8);
  }
}
