package io.cutover.monitor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A local TCP relay for one connection to a real server: the client's bytes pass at once, the server's are
 * held back until {@link #release()} and then passed on (and every later byte too). So a connect through it
 * completes only when the test says, after its caller's timeout. It also records when the client closed its
 * side.
 */
final class DelayingRelay implements AutoCloseable {

  private final ServerSocket listener;
  private final String serverHost;
  private final int serverPort;
  private final CountDownLatch released = new CountDownLatch(1);
  private final CountDownLatch clientClosed = new CountDownLatch(1);
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile Socket client;
  private volatile Socket server;

  DelayingRelay(String serverHost, int serverPort) throws IOException {
    this.listener = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
    this.serverHost = serverHost;
    this.serverPort = serverPort;
    Thread acceptor = new Thread(this::acceptOne, "relay-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return listener.getLocalPort();
  }

  /** Lets the server's held and future bytes through. */
  void release() {
    released.countDown();
  }

  /** Whether the client closed its end (EOF or reset seen by the relay). */
  boolean clientClosed() {
    return clientClosed.getCount() == 0;
  }

  private void acceptOne() {
    try {
      client = listener.accept();
      server = new Socket(serverHost, serverPort);
      Thread up = new Thread(() -> pipe(client, server, false), "relay-up");
      Thread down = new Thread(() -> pipe(server, client, true), "relay-down");
      up.setDaemon(true);
      down.setDaemon(true);
      up.start();
      down.start();
    } catch (IOException e) {
      // closed by the test
    }
  }

  private void pipe(Socket from, Socket to, boolean hold) {
    byte[] buf = new byte[8192];
    ByteArrayOutputStream held = new ByteArrayOutputStream();
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      int n;
      while ((n = in.read(buf)) >= 0) {
        held.write(buf, 0, n);
        if (hold && released.getCount() > 0 && in.available() > 0) {
          continue; // more of the burst is on its way: keep collecting
        }
        if (hold) {
          released.await();
        }
        out.write(held.toByteArray());
        out.flush();
        held.reset();
      }
    } catch (IOException e) {
      // one side went away
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      if (!hold) {
        clientClosed.countDown();
      }
      closeQuietly(to);
      closeQuietly(from);
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      if (s != null) {
        s.close();
      }
    } catch (IOException ignored) {
      // closing
    }
  }

  @Override
  public void close() throws IOException {
    if (closed.compareAndSet(false, true)) {
      released.countDown();
      listener.close();
      closeQuietly(client);
      closeQuietly(server);
    }
  }
}
