package io.cutover.proxy;

import io.cutover.monitor.Poll;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code io.cutover.proxy.Main} in a JVM of its own (the test's class path), standard output and error in
 * files under a test directory. No {@code CUTOVER_*} variable is inherited, so no environment override applies.
 */
final class MainJvm implements AutoCloseable {

  /** Generous: a JVM start on a loaded machine; a hang is what these tests look for. */
  static final Duration DEADLINE = Duration.ofSeconds(90);

  private final Process process;
  private final Path stderr;

  private MainJvm(Process process, Path stderr) {
    this.process = process;
    this.stderr = stderr;
  }

  static MainJvm start(Path dir, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), "io.cutover.proxy.Main"));
    cmd.addAll(List.of(args));
    Path err = dir.resolve("stderr.txt");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(dir.resolve("stdout.txt").toFile()).redirectError(err.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("CUTOVER_"));
    return new MainJvm(pb.start(), err);
  }

  /** Standard error so far. */
  String stderr() {
    try {
      return Files.readString(stderr, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Waits until standard error has a line containing {@code text}; fails after {@link #DEADLINE}. */
  void awaitLine(String text) {
    Poll.until(DEADLINE, "a line with '" + text + "' on standard error", () -> stderr().contains(text));
  }

  /** Sends {@code signal} (e.g. {@code HUP}) with {@code kill}. */
  void signal(String signal) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(process.pid())).inheritIO().start();
    if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
      fail("kill -" + signal + " " + process.pid() + " failed");
    }
  }

  /** The process's PID. */
  long pid() {
    return process.pid();
  }

  /** SIGTERM, as an operator's stop. */
  void terminate() {
    process.destroy();
  }

  /** The exit code; kills the process and fails when it has not exited within {@link #DEADLINE}. */
  int awaitExit() throws InterruptedException {
    if (!process.waitFor(DEADLINE.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      fail("Cutover did not exit within " + DEADLINE.toSeconds() + " s; standard error:\n" + stderr());
    }
    return process.exitValue();
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static final java.net.http.HttpClient HTTP = java.net.http.HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(5)).build();

  /** {@code GET http://127.0.0.1:httpPort path} (5 s timeout), as a load balancer or an operator asks a Cutover JVM. */
  static java.net.http.HttpResponse<String> get(int httpPort, String path) {
    try {
      return HTTP.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + httpPort + path))
          .timeout(Duration.ofSeconds(5)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** {@code n} distinct ports that were free a moment ago (bound together, then released). */
  static int[] freePorts(int n) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      int[] ports = new int[n];
      for (int i = 0; i < n; i++) {
        ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
        sockets.add(s);
        ports[i] = s.getLocalPort();
      }
      return ports;
    } finally {
      for (ServerSocket s : sockets) {
        s.close();
      }
    }
  }

  /** A configuration with the three listeners on {@code ports[0..2]} and one target on the closed {@code ports[3]}. */
  static Path config(Path dir, int[] ports) throws IOException {
    Path config = dir.resolve("cutover.yaml");
    Files.writeString(config, "listeners: {write: '127.0.0.1:" + ports[0] + "', read: '127.0.0.1:" + ports[1]
        + "', http: '127.0.0.1:" + ports[2] + "'}\n"
        + "targets:\n  - {name: pg1, host: 127.0.0.1, port: " + ports[3] + "}\n");
    return config;
  }
}
