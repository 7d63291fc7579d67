package io.cutover.proxy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cutover as its own JVM starts without a warning in its log and stops on SIGTERM (gracefully, with the default
 * announce period: see {@code GracefulShutdownJvmTest}). No PostgreSQL is needed.
 */
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
      assertEquals(0, code, "SIGTERM ends the JVM after a graceful shutdown\n" + cutover.stderr());
      assertTrue(cutover.stderr().contains("shutdown (SIGTERM): readiness answers 503"), cutover.stderr());
      assertTrue(cutover.stderr().contains("cutover stopped"), cutover.stderr());
    }
  }
}
