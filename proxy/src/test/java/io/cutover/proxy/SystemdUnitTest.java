package io.cutover.proxy;

import io.cutover.proxy.config.ShutdownOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.cutover.monitor.PgCluster.projectRoot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code cluster-config/cutover.service}: {@code systemd-analyze verify} finds nothing to say about it (when installed),
 * and the settings Cutover relies on are there: reload by SIGHUP, a stop timeout above the graceful shutdown, no restart
 * after a bad configuration, the sandbox, and no {@code MemoryDenyWriteExecute} (the JIT needs W+X memory).
 */
class SystemdUnitTest {

  static final String UNIT = "cluster-config/cutover.service";
  /**
   * How long Cutover may take to stop with the default {@code shutdown} settings: announce, grace, closing; its watchdog
   * adds 5 s to that. The unit's {@code TimeoutStopSec} must be longer, or systemd kills it in the middle.
   */
  static final Duration LONGEST_STOP = ShutdownOptions.DEFAULT_ANNOUNCE.plus(ShutdownOptions.DEFAULT_GRACE)
      .plus(Cutover.CLOSE_DEADLINE).plusSeconds(5);

  /** The unit's settings: section → key → values in order (a key may repeat), comments and blank lines left out. */
  static Map<String, Map<String, List<String>>> parse(List<String> lines) {
    Map<String, Map<String, List<String>>> unit = new LinkedHashMap<>();
    String section = null;
    StringBuilder pending = new StringBuilder();
    for (String raw : lines) {
      String line = raw.strip();
      if (pending.isEmpty() && (line.isEmpty() || line.startsWith("#") || line.startsWith(";"))) {
        continue;
      }
      if (line.endsWith("\\")) { // continuation
        pending.append(line, 0, line.length() - 1).append(' ');
        continue;
      }
      line = pending.append(line).toString();
      pending.setLength(0);
      if (line.startsWith("[") && line.endsWith("]")) {
        section = line.substring(1, line.length() - 1);
        unit.computeIfAbsent(section, s -> new LinkedHashMap<>());
        continue;
      }
      int eq = line.indexOf('=');
      assertTrue(section != null && eq > 0, "not a setting in a section: " + raw);
      unit.get(section).computeIfAbsent(line.substring(0, eq).strip(), k -> new ArrayList<>()).add(line.substring(eq + 1).strip());
    }
    return unit;
  }

  private static Map<String, List<String>> service() throws IOException {
    Map<String, List<String>> service = parse(Files.readAllLines(projectRoot().resolve(UNIT))).get("Service");
    assertTrue(service != null, "no [Service] section");
    return service;
  }

  /** The one value of {@code key} (the last one wins in systemd; here each is set once). */
  private static String one(Map<String, List<String>> section, String key) {
    List<String> values = section.get(key);
    assertTrue(values != null, key + " is not set");
    assertEquals(1, values.size(), key + " is set more than once: " + values);
    return values.get(0);
  }

  /** A systemd time span: {@code 45s}, {@code 1min 30s}, {@code 2m}, or a bare number of seconds. */
  static Duration timeSpan(String text) {
    if (text.matches("\\d+")) {
      return Duration.ofSeconds(Long.parseLong(text));
    }
    Matcher m = Pattern.compile("(\\d+)\\s*(ms|s|sec|min|m|h)\\s*").matcher(text);
    Duration d = Duration.ZERO;
    int end = 0;
    while (m.lookingAt()) {
      long n = Long.parseLong(m.group(1));
      d = d.plus(switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s", "sec" -> Duration.ofSeconds(n);
        case "min", "m" -> Duration.ofMinutes(n);
        default -> Duration.ofHours(n);
      });
      end = m.end();
      m.region(end, text.length());
    }
    assertEquals(text.length(), end, "not a time span this test reads: " + text);
    return d;
  }

  @Test
  void theUnitStartsCutoverAndStopsAndReloadsItWithSignals() throws IOException {
    Map<String, List<String>> s = service();
    assertTrue(Set.of("simple", "exec").contains(one(s, "Type")), "Type " + one(s, "Type"));
    String exec = one(s, "ExecStart");
    assertTrue(exec.matches("/\\S*/java( \\S+)* -jar /opt/cutover/cutover\\.jar --config /etc/cutover/cutover\\.yaml"), exec);
    assertTrue(one(s, "ExecReload").matches("/bin/kill (-HUP|-s HUP|--signal=HUP|-SIGHUP) \\$MAINPID"), "reload is SIGHUP");
    assertEquals("SIGTERM", one(s, "KillSignal"));
    Duration stop = timeSpan(one(s, "TimeoutStopSec"));
    assertTrue(stop.compareTo(LONGEST_STOP) > 0, "TimeoutStopSec " + stop + " must exceed Cutover's longest stop with "
        + "the default shutdown.announce and shutdown.grace, " + LONGEST_STOP);
    assertEquals("on-failure", one(s, "Restart"));
    assertTrue(List.of(one(s, "RestartPreventExitStatus").split("\\s+")).contains(String.valueOf(Main.EXIT_CONFIG)),
        "no restart after a bad configuration (exit " + Main.EXIT_CONFIG + ")");
    assertFalse(List.of(one(s, "SuccessExitStatus").split("\\s+")).contains("1"), "a failed start is a failure");
    assertEquals("cutover", one(s, "User"));
    assertEquals("-/etc/cutover/env", one(s, "EnvironmentFile"), "optional, for CUTOVER_ADMIN_TOKEN");
    assertEquals("/var/lib/cutover", one(s, "WorkingDirectory"));
    assertEquals("cutover", one(s, "StateDirectory"));
    assertTrue(List.of(one(s, "ReadWritePaths").split("\\s+")).contains("/var/lib/cutover"), "history.dir is writable");
    long files = Long.parseLong(one(s, "LimitNOFILE"));
    long needed = 2L * 2 * io.cutover.proxy.config.ProxyOptions.DEFAULT_MAX_CLIENT_CONNECTIONS + 256;
    assertTrue(files >= needed, "LimitNOFILE " + files + " below two sockets per session on two endpoints: " + needed);
  }

  @Test
  void theUnitIsSandboxedButLetsTheJitWork() throws IOException {
    Map<String, List<String>> s = service();
    for (String key : List.of("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
        "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "RestrictNamespaces", "LockPersonality",
        "RestrictRealtime")) {
      assertEquals("yes", one(s, key), key);
    }
    assertEquals("strict", one(s, "ProtectSystem"));
    assertEquals("native", one(s, "SystemCallArchitectures"));
    assertEquals(Set.of("AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"),
        Set.of(one(s, "RestrictAddressFamilies").split("\\s+")));
    assertEquals("", one(s, "CapabilityBoundingSet"), "no capabilities (the default ports need none)");
    assertFalse(s.containsKey("AmbientCapabilities"));
    assertFalse(s.containsKey("MemoryDenyWriteExecute"), "the JVM's JIT writes and then executes code");
  }

  /**
   * What {@code systemd-analyze verify} says about a copy of the unit with {@code edit} applied: its exit code and the
   * lines naming the unit. Skips the test when systemd-analyze is not installed.
   */
  private static Verdict verify(Path dir, java.util.function.UnaryOperator<String> edit) throws Exception {
    Optional<Path> analyze = Optional.ofNullable(System.getenv("PATH")).stream()
        .flatMap(p -> Pattern.compile(":").splitAsStream(p)).filter(p -> !p.isEmpty())
        .map(p -> Path.of(p, "systemd-analyze")).filter(Files::isExecutable).findFirst();
    assumeTrue(analyze.isPresent(), "systemd-analyze is not installed (Debian: systemd): skipping systemd-analyze verify "
        + "(the settings are checked by the other tests)");
    // verify checks that ExecStart's binary exists: point it at this JVM's java when /usr/bin/java is not there
    String text = Files.readString(projectRoot().resolve(UNIT));
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    if (!Files.isExecutable(Path.of("/usr/bin/java"))) {
      text = text.replace("ExecStart=/usr/bin/java ", "ExecStart=" + java + " ");
    }
    Path unit = Files.writeString(dir.resolve("cutover.service"), edit.apply(text));
    Path out = dir.resolve("verify.log");
    Process p = new ProcessBuilder(analyze.get().toString(), "verify", unit.toString()).redirectErrorStream(true)
        .redirectOutput(out.toFile()).start();
    try {
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "systemd-analyze verify did not finish within 60 s");
    } finally {
      p.destroyForcibly();
    }
    String said = Files.readString(out, StandardCharsets.UTF_8);
    return new Verdict(p.exitValue(), said.lines().filter(l -> l.contains("cutover.service")).toList(), said);
  }

  /** {@code systemd-analyze verify}'s exit code, its lines about the unit, and all it said. */
  private record Verdict(int exit, List<String> aboutTheUnit, String said) {
  }

  @Test
  void systemdAnalyzeVerifyFindsNothingToSay(@TempDir Path dir) throws Exception {
    Verdict v = verify(dir, text -> text);
    assertEquals(List.of(), v.aboutTheUnit(), "systemd-analyze verify on the unit:\n" + v.said());
    assertEquals(0, v.exit(), "systemd-analyze verify:\n" + v.said());
  }

  @Test
  void systemdAnalyzeVerifyWouldReportAMistake(@TempDir Path dir) throws Exception {
    Verdict typo = verify(dir, text -> text.replace("NoNewPrivileges=yes", "NoNewPrivilege=yes"));
    assertTrue(typo.aboutTheUnit().stream().anyMatch(l -> l.contains("Unknown key 'NoNewPrivilege'")), typo.said());
    Verdict noBinary = verify(dir, text -> text.replaceFirst("ExecStart=\\S+", "ExecStart=/nonexistent/java"));
    assertTrue(noBinary.aboutTheUnit().stream().anyMatch(l -> l.contains("/nonexistent/java")), noBinary.said());
    assertTrue(noBinary.exit() != 0, noBinary.said());
  }
}
