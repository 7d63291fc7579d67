package io.cutover.proxy.config;

import io.cutover.proxy.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line's contract: exit code 2 and one line per problem, never a stack trace. */
class MainExitCodeTest {

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    return Main.run(args, Map.of(), new PrintWriter(out, true), new PrintWriter(err, true));
  }

  @Test
  void invalidConfigurationExitsWithTwoAndOneLinePerProblem(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("bad.yaml");
    Files.writeString(file, "targets: []\nchecks: {fall: 0, interval: soon}\nextra: 1\n");
    assertEquals(2, run("--config", file.toString()));
    String[] lines = err.toString().strip().split("\n");
    assertEquals("cutover: invalid configuration in " + file + ":", lines[0]);
    assertEquals(5, lines.length, err.toString());
    assertTrue(err.toString().contains("  checks.fall: must be between 1 and 1000 (got 0)"));
    assertTrue(err.toString().contains("  extra: unknown key"));
    assertFalse(err.toString().contains("Exception"), "no stack trace");
    assertFalse(err.toString().contains("\tat "), "no stack trace");
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
  void checkPrintsTheEffectiveConfiguration(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("ok.yaml");
    Files.writeString(file, ConfigLoaderTest.TARGETS);
    assertEquals(0, run("--config", file.toString(), "--check"));
    assertTrue(out.toString().contains("\"fall\" : 3"), out.toString());
  }
}
