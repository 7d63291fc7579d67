package io.cutover.proxy;

import io.cutover.monitor.PgCluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** {@code scripts/netns} (separate network hosts on this machine; needs root): see its usage text. */
final class Netns {

  private Netns() {
  }

  /** The command line of {@code scripts/netns ARGS...}. */
  static List<String> command(String... args) {
    List<String> cmd = new ArrayList<>(List.of(PgCluster.projectRoot().resolve("scripts/netns").toString()));
    cmd.addAll(List.of(args));
    return cmd;
  }

  /**
   * Runs {@code scripts/netns ARGS...} to its end (2 minutes at most).
   *
   * @return its output (standard output and error)
   * @throws IllegalStateException with the output when it fails or does not end in time
   */
  static String run(String... args) throws IOException, InterruptedException {
    List<String> cmd = command(args);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IllegalStateException(cmd + " failed:\n" + out);
    }
    return out;
  }
}
