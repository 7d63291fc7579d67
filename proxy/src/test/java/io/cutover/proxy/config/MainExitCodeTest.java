package io.cutover.proxy.config;

import io.cutover.proxy.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line's contract: exit code 2 and one line per problem, never a stack trace. */
class MainExitCodeTest {

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    return runWith(Map.of(), args);
  }

  private int runWith(Map<String, String> env, String... args) {
    return Main.run(args, env, new PrintWriter(out, true), new PrintWriter(err, true));
  }

  @Test
  void invalidConfigurationExitsWithTwoAndOneLinePerProblem(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("bad.yaml");
    Files.writeString(file, "targets: []\nchecks: {fall: 0, interval: soon}\nextra: 1\n");
    assertEquals(2, run("--config", file.toString()));
    List<String> lines = err.toString().lines().toList();
    assertEquals(4, lines.size(), err.toString());
    String prefix = "cutover: invalid configuration in " + file + ": ";
    assertTrue(lines.stream().allMatch(l -> l.startsWith(prefix)), err.toString());
    assertTrue(lines.contains(prefix + "checks.fall: must be between 1 and 1000 (got 0)"), err.toString());
    assertTrue(lines.contains(prefix + "extra: unknown key"), err.toString());
    assertFalse(err.toString().contains("Exception"), "no stack trace");
    assertFalse(err.toString().contains("\tat "), "no stack trace");
  }

  @Test
  void aBadEnvironmentOverrideNamesTheVariableNotTheFile(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("ok.yaml");
    Files.writeString(file, ConfigLoaderTest.TARGETS + "checks: {rise: 0}\n");
    assertEquals(2, runWith(Map.of("CUTOVER_CHECKS__FALL", "0", "CUTOVER_LISTENERS__READ", "localhost"),
        "--config", file.toString()));
    assertEquals(List.of(
            "cutover: invalid configuration: CUTOVER_LISTENERS__READ (listeners.read): must be host:port, "
                + "e.g. 127.0.0.1:6432 (got 'localhost')",
            "cutover: invalid configuration: CUTOVER_CHECKS__FALL (checks.fall): must be between 1 and 1000 (got '0')",
            "cutover: invalid configuration in " + file + ": checks.rise: must be between 1 and 1000 (got 0)"),
        err.toString().lines().toList());
  }

  @Test
  void missingFileExitsWithTwo(@TempDir Path dir) {
    assertEquals(2, run("--config", dir.resolve("none.yaml").toString()));
    assertTrue(err.toString().contains("cannot read configuration file: no such file"), err.toString());
  }

  @Test
  void badCommandLineExitsWithTwo() {
    assertEquals(2, run("--config", "x.yaml", "--bogus"));
    assertTrue(err.toString().contains("Unknown option: '--bogus'"), err.toString());
    assertEquals(2, run());
    assertTrue(err.toString().contains("Missing required option: '--config=FILE'"), err.toString());
  }

  @Test
  void versionIsTheProjectVersion() {
    String expected = System.getProperty("cutover.project.version");
    assertTrue(expected != null && expected.matches("\\d+\\.\\d+\\.\\d+.*"), "set by the build: " + expected);
    assertEquals(0, run("--version"));
    assertEquals("cutover " + expected, out.toString().strip());
  }

  @Test
  void checkPrintsTheEffectiveConfiguration(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("ok.yaml");
    Files.writeString(file, ConfigLoaderTest.TARGETS);
    assertEquals(0, run("--config", file.toString(), "--check"));
    assertTrue(out.toString().contains("\"fall\" : 3"), out.toString());
  }

  @Test
  void aTakeoverThatCannotBeExitsWithTwoAndOneLinePerProblem(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("ok.yaml");
    Files.writeString(file, ConfigLoaderTest.TARGETS + "listeners: {write: '127.0.0.1:6432', read: '127.0.0.1:0', "
        + "http: '127.0.0.1:9432'}\n");
    assertEquals(2, run("--config", file.toString(), "--takeover", "999999999", "--cluster"));
    assertEquals(List.of(
            "cutover: --takeover 999999999: no such process (give the PID of the running Cutover this one takes over from)",
            "cutover: --takeover: listeners.read has port 0; a takeover shares fixed ports with its predecessor",
            "cutover: --takeover: not for clustered instances (cluster.enabled): restart the members one at a time, each "
                + "leaving the cluster gracefully on SIGTERM"),
        err.toString().lines().toList());
    err.getBuffer().setLength(0);
    assertEquals(2, run("--config", file.toString(), "--takeover", "soon"));
    assertTrue(err.toString().contains("soon"), err.toString());
    assertFalse(err.toString().contains("\tat "), "no stack trace");
  }
}
