package io.cutover.proxy;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.ServerSocket;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * A listener that cannot bind ends the process: Cutover runs as its own JVM with one of its ports held by a
 * plain {@link ServerSocket}, and must exit with code 1 and one line on standard error naming the listener's
 * key, the address and the cause. The target is a closed port: no PostgreSQL is needed.
 */
class ListenerBindFailureTest {

  @ParameterizedTest(name = "listeners.{0} taken")
  @ValueSource(strings = {"write", "read", "http"})
  void aTakenPortEndsTheProcessWithOneLine(String taken, @TempDir Path dir) throws Exception {
    int[] ports = MainJvm.freePorts(4);
    int port = port(taken, ports);
    try (ServerSocket holder = new ServerSocket(port, 50, InetAddress.getByName("127.0.0.1"))) {
      String stderr = refusedWithOneLine(taken, port, dir, ports);
      assertFalse(stderr.contains("\tat "), "no stack trace:\n" + stderr);
      assertFalse(stderr.contains("RejectedExecutionException"), stderr);
    }
  }

  /**
   * Cutover's listeners bind with {@code SO_REUSEPORT} (for a takeover), which Linux would let share a port held the
   * same way by the same user: a plain start must still refuse a port another Cutover holds ({@link PortProbe}).
   */
  @ParameterizedTest(name = "listeners.{0} held with SO_REUSEPORT")
  @ValueSource(strings = {"write", "read", "http"})
  void aPortHeldWithReusePortIsNotShared(String taken, @TempDir Path dir) throws Exception {
    int[] ports = MainJvm.freePorts(4);
    int port = port(taken, ports);
    try (ServerSocketChannel holder = ServerSocketChannel.open()) {
      holder.setOption(StandardSocketOptions.SO_REUSEPORT, true);
      holder.bind(new InetSocketAddress("127.0.0.1", port));
      refusedWithOneLine(taken, port, dir, ports);
    }
  }

  private static int port(String listener, int[] ports) {
    return Map.of("write", ports[0], "read", ports[1], "http", ports[2]).get(listener);
  }

  /** Starts Cutover on {@code ports}; it must exit 1 with one line naming {@code listeners.taken}. Its stderr. */
  private static String refusedWithOneLine(String taken, int port, Path dir, int[] ports) throws Exception {
    try (MainJvm cutover = MainJvm.start(dir, "--config", MainJvm.config(dir, ports).toString())) {
      int code = cutover.awaitExit();
      String stderr = cutover.stderr();
      assertEquals(1, code, stderr);
      assertEquals(List.of("cutover: cannot listen on listeners." + taken + " 127.0.0.1:" + port + ": address already in use"),
          stderr.lines().filter(l -> l.contains("cannot listen")).toList(), stderr);
      return stderr;
    }
  }
}
