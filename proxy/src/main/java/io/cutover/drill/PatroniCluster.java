package io.cutover.drill;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The local Patroni cluster of {@code scripts/patroni-cluster}, as the environment in effect has it
 * ({@code scripts/patroni-cluster env}): its members' PostgreSQL and REST API ports, and the script's commands.
 */
final class PatroniCluster {

  /** Member name → PostgreSQL port. */
  final Map<String, Integer> pgPorts = new LinkedHashMap<>();
  /** Member name → Patroni REST API port. */
  final Map<String, Integer> restPorts = new LinkedHashMap<>();
  private final Path project;

  PatroniCluster(Path project) throws IOException, InterruptedException {
    this.project = project;
    Map<String, String> env = new LinkedHashMap<>();
    script("env").lines().filter(l -> l.contains("=")).forEach(l -> env.put(l.substring(0, l.indexOf('=')),
        l.substring(l.indexOf('=') + 1)));
    for (int i = 1; i <= 3; i++) {
      pgPorts.put("pg" + i, Integer.parseInt(env.get("CUTOVER_PATRONI_PG_PORT" + i)));
      restPorts.put("pg" + i, Integer.parseInt(env.get("CUTOVER_PATRONI_REST_PORT" + i)));
    }
  }

  /** The member whose PostgreSQL listens on {@code port}, or "port N". */
  String memberOfPort(int port) {
    return pgPorts.entrySet().stream().filter(e -> e.getValue() == port).map(Map.Entry::getKey).findFirst()
        .orElse(port < 0 ? null : "port " + port);
  }

  /** The leader's name, as Patroni reports it; null when there is none. */
  String leader() throws IOException, InterruptedException {
    Process p = start("leader");
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return null;
    }
    return p.exitValue() == 0 && !out.isEmpty() ? out.lines().reduce((a, b) -> b).orElse(null) : null;
  }

  /** Runs {@code scripts/patroni-cluster ARGS}; its output, or an exception when it fails (bounded to 5 min). */
  String script(String... args) throws IOException, InterruptedException {
    Process p = start(args);
    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IllegalStateException("scripts/patroni-cluster " + String.join(" ", args) + " failed:\n" + text);
    }
    return text;
  }

  private Process start(String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(project.resolve("scripts/patroni-cluster").toString());
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectErrorStream(true).start();
  }
}
