package io.cutover.proxy;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A listener that cannot bind ends the process: Cutover runs as its own JVM ({@code io.cutover.proxy.Main} on
 * the test's classpath) with one of its ports held by a plain {@link ServerSocket}, and must exit with code 1
 * and one line on standard error naming the listener's key, the address and the cause. The targets are
 * closed ports: no PostgreSQL is needed.
 */
class ListenerBindFailureTest {

  /** Generous: a JVM start on a loaded machine; a hang is what this test is about. */
  private static final long EXIT_DEADLINE_SECONDS = 90;

  @ParameterizedTest(name = "listeners.{0} taken")
  @ValueSource(strings = {"write", "read", "http"})
  void aTakenPortEndsTheProcessWithOneLine(String taken, @TempDir Path dir) throws Exception {
    int[] ports = freePorts(4);
    Map<String, Integer> listeners = Map.of("write", ports[0], "read", ports[1], "http", ports[2]);
    int closedTarget = ports[3];
    Path config = dir.resolve("cutover.yaml");
    Files.writeString(config, "listeners: {write: '127.0.0.1:" + ports[0] + "', read: '127.0.0.1:" + ports[1]
        + "', http: '127.0.0.1:" + ports[2] + "'}\n"
        + "targets:\n  - {name: pg1, host: 127.0.0.1, port: " + closedTarget + "}\n");
    int port = listeners.get(taken);
    try (ServerSocket holder = new ServerSocket(port, 50, InetAddress.getByName("127.0.0.1"))) {
      Result r = runMain(dir, "--config", config.toString());
      String expected = "cutover: cannot listen on listeners." + taken + " 127.0.0.1:" + port + ": address already in use";
      assertEquals(1, r.exitCode, r.stderr);
      List<String> mentions = r.stderr.lines().filter(l -> l.contains("cannot listen")).toList();
      assertEquals(List.of(expected), mentions, r.stderr);
      assertFalse(r.stderr.contains("\tat "), "no stack trace:\n" + r.stderr);
      assertFalse(r.stderr.contains("RejectedExecutionException"), r.stderr);
    }
  }

  record Result(int exitCode, String stderr) {
  }

  /**
   * Runs {@code Main} in a child JVM (no {@code CUTOVER_*} variables inherited, so no override applies) and
   * waits for it to exit; kills it and fails if it is still running after {@link #EXIT_DEADLINE_SECONDS}.
   */
  static Result runMain(Path dir, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), "io.cutover.proxy.Main"));
    cmd.addAll(List.of(args));
    Path out = dir.resolve("stdout.txt");
    Path err = dir.resolve("stderr.txt");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("CUTOVER_"));
    Process p = pb.start();
    if (!p.waitFor(EXIT_DEADLINE_SECONDS, TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      fail("Cutover did not exit within " + EXIT_DEADLINE_SECONDS + " s; standard error:\n"
          + Files.readString(err, StandardCharsets.UTF_8));
    }
    return new Result(p.exitValue(), Files.readString(err, StandardCharsets.UTF_8));
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
}
