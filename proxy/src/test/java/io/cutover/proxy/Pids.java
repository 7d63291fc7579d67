package io.cutover.proxy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Signals to a node's postmaster and its children, by PID (fault injection for tests). */
final class Pids {

  private Pids() {
  }

  /** The postmaster of {@code node} (first line of its postmaster.pid) and all its descendants. */
  static List<Long> postmasterTree(Path projectRoot, String node) throws IOException {
    String root = io.cutover.monitor.PgCluster.run("env").lines().filter(l -> l.startsWith("CUTOVER_PG_ROOT="))
        .map(l -> l.substring("CUTOVER_PG_ROOT=".length())).findFirst().orElseThrow();
    Path data = Path.of(root).resolve(node);
    long pid = Long.parseLong(Files.readAllLines(data.resolve("postmaster.pid")).get(0).trim());
    List<Long> out = new ArrayList<>();
    out.add(pid);
    ProcessHandle.of(pid).ifPresent(p -> p.descendants().forEach(d -> out.add(d.pid())));
    return out;
  }

  /** {@code kill -SIGNAL pid...} */
  static void signal(String signal, List<Long> pids) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("kill", "-" + signal));
    pids.forEach(p -> cmd.add(String.valueOf(p)));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    p.waitFor(10, TimeUnit.SECONDS);
  }
}
