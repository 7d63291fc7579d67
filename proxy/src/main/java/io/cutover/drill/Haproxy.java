package io.cutover.drill;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * HAProxy (Debian's package) in front of the Patroni cluster as Patroni's documentation configures it
 * ({@code haproxy.cfg} of the Patroni repository): TCP mode, the write listener checked with
 * {@code option httpchk OPTIONS /primary} on each member's REST API, {@code inter 3s fall 3 rise 2
 * on-marked-down shutdown-sessions}. Runs in the foreground as a child process, stopped by its PID.
 */
final class Haproxy implements AutoCloseable {

  private final Process process;
  final int port;

  private Haproxy(Process process, int port) {
    this.process = process;
    this.port = port;
  }

  /** Patroni's documented configuration, with the write listener on 127.0.0.1:{@code port}. */
  static String config(int port, Map<String, Integer> pgPorts, Map<String, Integer> restPorts) {
    StringBuilder sb = new StringBuilder("""
        # Patroni's documented haproxy.cfg (the primary listener), written by scripts/drill --patroni
        global
            maxconn 100

        defaults
            mode tcp
            retries 2
            timeout client 30m
            timeout connect 4s
            timeout server 30m
            timeout check 5s

        listen primary
        """);
    sb.append("    bind 127.0.0.1:").append(port).append('\n');
    sb.append("""
            option httpchk OPTIONS /primary
            http-check expect status 200
            default-server inter 3s fall 3 rise 2 on-marked-down shutdown-sessions
        """);
    pgPorts.forEach((name, pg) -> sb.append("    server ").append(name).append(" 127.0.0.1:").append(pg)
        .append(" maxconn 100 check port ").append(restPorts.get(name)).append('\n'));
    return sb.toString();
  }

  /** Writes the configuration to {@code dir/haproxy.cfg} and starts {@code haproxy -db} with it, output to {@code log}. */
  static Haproxy start(Path dir, int port, Map<String, Integer> pgPorts, Map<String, Integer> restPorts, Path log)
      throws IOException {
    Path cfg = dir.resolve("haproxy.cfg");
    Files.writeString(cfg, config(port, pgPorts, restPorts));
    Process p = new ProcessBuilder("haproxy", "-db", "-f", cfg.toString()).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start();
    p.getOutputStream().close();
    return new Haproxy(p, port);
  }

  long pid() {
    return process.pid();
  }

  boolean alive() {
    return process.isAlive();
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }
}
