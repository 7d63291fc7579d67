package io.cutover.proxy;

import io.cutover.monitor.PgCluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real local Patroni cluster of {@code scripts/patroni-cluster} (etcd and three Patroni members pg1..pg3 on
 * 127.0.0.1), for tests; ports and root as {@code scripts/patroni-cluster env} reports them (its environment
 * variables, e.g. {@code CUTOVER_PATRONI_PG_PORT1}, choose other ones). If the cluster was not running, this JVM
 * started it and stops it again when it exits.
 */
final class PatroniStack {

  private static PatroniStack started;

  /** Member name → PostgreSQL port. */
  final Map<String, Integer> pgPorts = new LinkedHashMap<>();
  /** Member name → Patroni REST API port. */
  final Map<String, Integer> restPorts = new LinkedHashMap<>();
  /** The script's root (data, configs, logs, PIDs). */
  final Path root;
  private final Map<String, String> env;

  private PatroniStack(Map<String, String> env) {
    this.env = env;
    root = Path.of(env.get("CUTOVER_PATRONI_ROOT"));
    for (int i = 1; i <= 3; i++) {
      pgPorts.put("pg" + i, Integer.parseInt(env.get("CUTOVER_PATRONI_PG_PORT" + i)));
      restPorts.put("pg" + i, Integer.parseInt(env.get("CUTOVER_PATRONI_REST_PORT" + i)));
    }
  }

  /** Starts the cluster if needed and makes pg1 the leader, pg2 and pg3 streaming from it. */
  static synchronized PatroniStack ensureLeaderPg1() {
    if (started == null) {
      boolean wasRunning = run(60, "leader").exit() == 0;
      check(run(600, "start"), "start");
      started = new PatroniStack(env());
      if (!wasRunning) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> run(120, "stop"), "patroni-cluster-stop"));
      }
    }
    check(run(300, "switchover", "pg1"), "switchover pg1");
    return started;
  }

  /** SIGKILL to {@code name}'s Patroni daemon alone: its REST API goes away, its PostgreSQL keeps running. */
  void killDaemon(String name) throws IOException {
    long pid = Long.parseLong(Files.readString(root.resolve("run/" + name + ".pid")).trim());
    ProcessHandle daemon = ProcessHandle.of(pid).orElseThrow(() -> new IllegalStateException(name + "'s Patroni is not running"));
    daemon.destroyForcibly();
    daemon.onExit().orTimeout(30, TimeUnit.SECONDS).join();
  }

  /** A crash of member {@code name}: SIGKILL to its Patroni daemon and its postmaster at once. */
  void kill(String name) {
    check(run(120, "kill", name), "kill " + name);
  }

  /** Cutover's {@code targets} section: pg1..pg3 on their PostgreSQL ports, checked by {@code kind} on their REST APIs. */
  String targets(String kind) {
    StringBuilder sb = new StringBuilder("targets:\n");
    pgPorts.forEach((name, port) -> sb.append("  - {name: ").append(name).append(", host: 127.0.0.1, port: ")
        .append(port).append(", check: {kind: ").append(kind).append(", port: ").append(restPorts.get(name))
        .append("}}\n"));
    return sb.toString();
  }

  /** Makes {@code name} the leader (Patroni's switchover) and waits until the others stream from it. */
  void switchover(String name) {
    check(run(300, "switchover", name), "switchover " + name);
  }

  /** {@code patronictl ARGS} with the cluster's configuration, e.g. {@code pause --wait}. */
  void ctl(String... args) {
    List<String> all = new ArrayList<>(List.of("ctl"));
    all.addAll(List.of(args));
    check(run(120, all.toArray(String[]::new)), String.join(" ", all));
  }

  /** Stops {@code name}'s PostgreSQL ({@code pg_ctl stop -m fast} as the daemons' user), if it runs. */
  void stopPostgres(String name) throws IOException, InterruptedException {
    pgCtl(name, "fast");
  }

  /** {@code pg_ctl stop -m MODE} of {@code name}'s server as the daemons' user; a server not running is no error. */
  private void pgCtl(String name, String mode) throws IOException, InterruptedException {
    List<String> cmd = List.of("runuser", "-u", env.get("CUTOVER_PATRONI_USER"), "--",
        env.get("CUTOVER_PATRONI_PG_BIN") + "/pg_ctl", "-D", root.resolve(name).toString(), "-m", mode, "-w", "stop");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(cmd + " did not end within 60 s");
    }
  }

  /**
   * Keeps {@code name}'s PostgreSQL down while its Patroni runs: stops the server ({@code -m immediate}) and takes
   * its port before Patroni restarts it (Patroni 3.0.2 restarts a stopped server within its next loop, even in
   * pause), retrying until the port is won; Patroni's starts then fail. Closing the socket lets it start again.
   *
   * @return the socket holding the port
   */
  java.net.ServerSocket keepPostgresDown(String name) throws IOException, InterruptedException {
    int port = pgPorts.get(name);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      pgCtl(name, "immediate");
      java.net.ServerSocket s = new java.net.ServerSocket();
      s.setReuseAddress(true);
      try {
        s.bind(new java.net.InetSocketAddress("127.0.0.1", port));
        return s;
      } catch (IOException lost) {
        s.close(); // Patroni restarted it first: again
      }
    }
    throw new IllegalStateException("could not keep " + name + "'s PostgreSQL down within 60 s");
  }

  /** Starts {@code name}'s Patroni daemon (and PostgreSQL, if it is not running) and waits until it streams. */
  void start(String name) {
    check(run(300, "start", name), "start " + name);
  }

  private static Map<String, String> env() {
    Map<String, String> env = new LinkedHashMap<>();
    check(run(60, "env"), "env").lines().filter(l -> l.contains("="))
        .forEach(l -> env.put(l.substring(0, l.indexOf('=')), l.substring(l.indexOf('=') + 1)));
    return env;
  }

  private record Result(int exit, String output) {
  }

  private static String check(Result r, String what) {
    if (r.exit() != 0) {
      throw new IllegalStateException("scripts/patroni-cluster " + what + " exited " + r.exit() + ":\n" + r.output());
    }
    return r.output();
  }

  /** Runs the script with output to a file, so that a hung script is still bounded by {@code seconds}. */
  private static Result run(long seconds, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(PgCluster.projectRoot().resolve("scripts/patroni-cluster").toString());
    cmd.addAll(List.of(args));
    try {
      Path out = Files.createTempFile("patroni-cluster", ".out");
      try {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          return new Result(-1, "timed out after " + seconds + " s:\n" + Files.readString(out, StandardCharsets.UTF_8));
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(out);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + cmd, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
