package io.cutover.monitor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real local PostgreSQL cluster of {@code scripts/pg-cluster} (primary pg1, replicas pg2 and pg3 on
 * 127.0.0.1), for tests. Ports follow the script's environment variables.
 */
public final class PgCluster {

  private static boolean started;

  private PgCluster() {
  }

  /** The project's top directory: the nearest directory at or above the working directory with {@code scripts/pg-cluster}. */
  public static Path projectRoot() {
    String hint = System.getProperty("cutover.project.root");
    for (Path start : new Path[] {hint == null ? null : Path.of(hint), Path.of("")}) {
      for (Path p = start == null ? null : start.toAbsolutePath().normalize(); p != null; p = p.getParent()) {
        if (java.nio.file.Files.isRegularFile(p.resolve("scripts/pg-cluster")) && java.nio.file.Files.isDirectory(p.resolve("monitor"))) {
          return p;
        }
      }
    }
    throw new IllegalStateException("cannot find the project root (a directory with scripts/pg-cluster) above " + Path.of("").toAbsolutePath());
  }

  public static int port(String name) {
    return switch (name) {
      case "pg1" -> envPort("CUTOVER_PG_PORT1", 15432);
      case "pg2" -> envPort("CUTOVER_PG_PORT2", 15433);
      case "pg3" -> envPort("CUTOVER_PG_PORT3", 15434);
      default -> throw new IllegalArgumentException(name);
    };
  }

  public static List<Target> targets() {
    return List.of(new Target("pg1", "127.0.0.1", port("pg1")), new Target("pg2", "127.0.0.1", port("pg2")),
        new Target("pg3", "127.0.0.1", port("pg3")));
  }

  /**
   * Starts every node (idempotent; creates the cluster on first use; rebuilds it when a node cannot start). If the cluster was not already
   * running, this JVM started it and stops it again when it exits (the script stops each postmaster by
   * its data directory's PID), so a test run leaves no server behind.
   */
  public static synchronized void ensureStarted() {
    if (started) {
      return;
    }
    boolean wasRunning = targets().stream().allMatch(t -> listening(t.port()));
    try {
      run("start");
    } catch (IllegalStateException e) {
      // a node that cannot start (left mid-failover by an earlier run, e.g. on a timeline its data does not
      // know): rebuild the cluster rather than fail every test that follows
      run("reset");
    }
    started = true;
    if (!wasRunning) {
      Runtime.getRuntime().addShutdownHook(new Thread(() -> run("stop"), "pg-cluster-stop"));
    }
  }

  private static boolean listening(int port) {
    try (java.net.Socket s = new java.net.Socket()) {
      s.connect(new java.net.InetSocketAddress("127.0.0.1", port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Starts the cluster if needed and makes sure pg1 is the primary with pg2 and pg3 streaming from it
   * ({@code scripts/pg-cluster reset}: cheap when it already is, a rebuild after a failover test).
   */
  public static synchronized void ensureCanonical() {
    ensureStarted();
    run("reset");
  }

  public static synchronized void stop(String node) {
    run("stop", node);
  }

  public static synchronized void start(String node) {
    run("start", node);
  }

  /** Runs {@code scripts/pg-cluster ARGS}; fails the test with the script's output if it exits non-zero. */
  public static String run(String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(projectRoot().resolve("scripts/pg-cluster").toString());
    cmd.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(180, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("timed out: " + cmd);
      }
      String text = new String(out, StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new IllegalStateException(cmd + " exited " + p.exitValue() + ":\n" + text);
      }
      return text;
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + cmd, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static int envPort(String var, int def) {
    String v = System.getenv(var);
    return v == null || v.isBlank() ? def : Integer.parseInt(v.trim());
  }
}
