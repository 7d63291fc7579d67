package io.cutover.proxy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Cutover as its own JVM starts without a warning in its log and stops on SIGTERM. No PostgreSQL is needed. */
class StartStopJvmTest {

  @Test
  void startsWithoutWarningsAndStopsOnSigterm(@TempDir Path dir) throws Exception {
    Path config = MainJvm.config(dir, MainJvm.freePorts(4));
    try (MainJvm cutover = MainJvm.start(dir, "--config", config.toString())) {
      cutover.awaitLine("cutover started");
      cutover.awaitLine("topology v1");
      String started = cutover.stderr();
      List<String> warnings = started.lines().filter(l -> l.contains(" WARN ") || l.contains(" ERROR ")).toList();
      assertEquals(List.of(), warnings, started);
      cutover.terminate();
      int code = cutover.awaitExit();
      assertEquals(143, code, "SIGTERM ends the JVM through its shutdown hook\n" + cutover.stderr());
      assertTrue(cutover.stderr().contains("stopping"), cutover.stderr());
    }
  }
}
