package io.cutover.proxy;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A minimal PostgreSQL protocol client over a plain socket (trust authentication, simple queries), for tests that
 * must see exactly when a connection ends: unlike a driver it never writes unless asked to, so an idle session
 * stays idle (no data in flight), and {@link #awaitEnd} notices the end of the stream without sending anything.
 */
final class WireClient implements AutoCloseable {

  private final Socket socket;
  private final DataInputStream in;
  private final DataOutputStream out;

  private WireClient(Socket socket) throws IOException {
    this.socket = socket;
    this.in = new DataInputStream(socket.getInputStream());
    this.out = new DataOutputStream(socket.getOutputStream());
  }

  /** Connects as {@code postgres} to database {@code postgres} and waits for the first ReadyForQuery (10 s at most). */
  static WireClient connect(String host, int port, String applicationName) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress(host, port), 10_000);
    s.setSoTimeout(10_000);
    WireClient c = new WireClient(s);
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    DataOutputStream b = new DataOutputStream(body);
    b.writeInt(196608);
    for (String p : new String[] {"user", "postgres", "database", "postgres", "application_name", applicationName}) {
      b.write(p.getBytes(StandardCharsets.UTF_8));
      b.write(0);
    }
    b.write(0);
    c.out.writeInt(body.size() + 4);
    body.writeTo(c.out);
    c.out.flush();
    c.untilReady();
    return c;
  }

  /** Sends a simple query without waiting for its answer. */
  void send(String sql) throws IOException {
    byte[] text = sql.getBytes(StandardCharsets.UTF_8);
    out.write('Q');
    out.writeInt(4 + text.length + 1);
    out.write(text);
    out.write(0);
    out.flush();
  }

  /** Runs a simple query; the first column of its first row (10 s at most). */
  String query(String sql) throws IOException {
    send(sql);
    return untilReady();
  }

  /** Reads messages up to ReadyForQuery; returns the first column of the first DataRow, if any. */
  private String untilReady() throws IOException {
    String first = null;
    while (true) {
      int type = in.readUnsignedByte();
      byte[] payload = new byte[in.readInt() - 4];
      in.readFully(payload);
      switch (type) {
        case 'Z':
          return first;
        case 'E':
          throw new IOException("server error: " + new String(payload, StandardCharsets.UTF_8).replace('\0', ' ').trim());
        case 'R':
          if (payload[0] != 0 || payload[1] != 0 || payload[2] != 0 || payload[3] != 0) {
            throw new IOException("authentication other than trust requested");
          }
          break;
        case 'D':
          if (first == null) {
            int len = ((payload[2] & 0xff) << 24) | ((payload[3] & 0xff) << 16) | ((payload[4] & 0xff) << 8) | (payload[5] & 0xff);
            first = len < 0 ? null : new String(payload, 6, len, StandardCharsets.UTF_8);
          }
          break;
        default:
          break;
      }
    }
  }

  /**
   * Waits, without writing, until the connection ends (end of stream, or an error such as a reset); bytes that
   * arrive meanwhile are skipped.
   *
   * @return how long it took, in milliseconds
   * @throws AssertionError when the connection is still open after {@code deadline}
   */
  long awaitEnd(Duration deadline) throws IOException {
    long start = System.nanoTime();
    long end = start + deadline.toNanos();
    byte[] buf = new byte[8192];
    while (true) {
      long left = (end - System.nanoTime()) / 1_000_000;
      if (left <= 0) {
        throw new AssertionError("the connection is still open after " + deadline.toMillis() + " ms");
      }
      socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, left));
      try {
        if (in.read(buf) < 0) {
          break;
        }
      } catch (SocketTimeoutException e) {
        // the loop checks the deadline
      } catch (IOException e) {
        break;
      }
    }
    return (System.nanoTime() - start) / 1_000_000;
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
