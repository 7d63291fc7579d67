package io.cutover.proxy;

import io.cutover.monitor.Poll;
import io.vertx.core.json.JsonObject;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A Server-Sent Events client over a raw socket, as {@code EventSource} reads a stream: HTTP/1.1, the chunked body
 * decoded, lines parsed by the SSE rules ({@code id:}, {@code data:}, {@code retry:}, comments, an empty line
 * dispatches). A thread of its own reads; {@link #close()} drops the connection at once (a client going away).
 */
final class SseClient implements AutoCloseable {

  /** One dispatched event: its id and its data (one JSON object). */
  record Event(String id, JsonObject data) {
    String type() {
      return data.getString("type");
    }

    /** The seq of an id {@code <run>-<seq>}. */
    long seq() {
      return Long.parseLong(id.substring(id.lastIndexOf('-') + 1));
    }

    String run() {
      return id.substring(0, id.lastIndexOf('-'));
    }
  }

  private final Socket socket;
  final int status;
  /** Response headers, names in lowercase. */
  final Map<String, String> headers = new TreeMap<>();
  /** Every event received, in order. */
  final List<Event> events = new CopyOnWriteArrayList<>();
  final AtomicInteger keepalives = new AtomicInteger();
  volatile long retry = -1;
  /** The server ended the stream or the connection. */
  volatile boolean ended;
  private final Thread reader;

  private SseClient(Socket socket, InputStream in) throws IOException {
    this.socket = socket;
    String head = head(in);
    String[] lines = head.split("\r\n");
    status = Integer.parseInt(lines[0].substring(9, 12));
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
    }
    InputStream body = "chunked".equalsIgnoreCase(headers.get("transfer-encoding")) ? new Chunked(in) : in;
    reader = new Thread(() -> read(body), "sse-client");
    reader.setDaemon(true);
    reader.start();
  }

  /**
   * Opens {@code GET path} on the HTTP listener at {@code port}.
   *
   * @param lastEventId sent as {@code Last-Event-ID}, or {@code null}
   */
  static SseClient open(int port, String path, String lastEventId) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    s.setSoTimeout(60_000);
    OutputStream out = s.getOutputStream();
    out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        + (lastEventId == null ? "" : "Last-Event-ID: " + lastEventId + "\r\n") + "\r\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
    return new SseClient(s, s.getInputStream());
  }

  static SseClient open(int port) throws IOException {
    return open(port, "/api/v1/events", null);
  }

  private static String head(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int state = 0;
    for (int c; state < 4 && (c = in.read()) >= 0; ) {
      b.write(c);
      state = (c == '\r' && state % 2 == 0) || (c == '\n' && state % 2 == 1) ? state + 1 : c == '\r' ? 1 : 0;
    }
    return b.toString(StandardCharsets.ISO_8859_1);
  }

  private void read(InputStream body) {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
      String id = null;
      StringBuilder data = null;
      for (String line; (line = r.readLine()) != null; ) {
        if (line.isEmpty()) {
          if (data != null) {
            events.add(new Event(id, new JsonObject(data.toString())));
          }
          data = null;
        } else if (line.startsWith(":")) {
          keepalives.incrementAndGet();
        } else if (line.startsWith("id: ")) {
          id = line.substring(4);
        } else if (line.startsWith("retry: ")) {
          retry = Long.parseLong(line.substring(7));
        } else if (line.startsWith("data: ")) {
          data = data == null ? new StringBuilder(line.substring(6)) : data.append('\n').append(line.substring(6));
        } else {
          throw new IllegalStateException("not an SSE line: " + line);
        }
      }
    } catch (IOException | RuntimeException e) {
      // the connection ended (closed here or by the server)
    } finally {
      ended = true;
    }
  }

  /** Waits for the first event from index {@code from} on that matches, and returns it. */
  Event await(String what, int from, Predicate<Event> p) {
    Event[] found = new Event[1];
    Poll.until(Duration.ofSeconds(60), what + " (received: " + summary() + ")", () -> {
      for (int i = from; i < events.size(); i++) {
        if (p.test(events.get(i))) {
          found[0] = events.get(i);
          return true;
        }
      }
      return false;
    });
    return found[0];
  }

  Event await(String what, Predicate<Event> p) {
    return await(what, 0, p);
  }

  /** Waits until {@code n} events were received. */
  void awaitCount(int n) {
    Poll.until(Duration.ofSeconds(60), n + " events (received: " + summary() + ")", () -> events.size() >= n);
  }

  /** The events' ids and types, shortened. */
  String summary() {
    StringBuilder b = new StringBuilder();
    List<Event> all = List.copyOf(events);
    for (Event e : all.subList(Math.max(0, all.size() - 30), all.size())) {
      b.append(e.id()).append(' ').append(e.type()).append(", ");
    }
    return all.size() + " events, last: " + b + (ended ? "ended" : "open");
  }

  void assertHeaders() {
    assertEquals(200, status);
    assertEquals("text/event-stream; charset=utf-8", headers.get("content-type"));
    assertEquals("no-store", headers.get("cache-control"));
    assertEquals("no", headers.get("x-accel-buffering"));
  }

  @Override
  public void close() throws IOException {
    socket.close();
    try {
      reader.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** An HTTP/1.1 chunked body, decoded. */
  private static final class Chunked extends InputStream {
    private final InputStream in;
    private long left;
    private boolean done;

    Chunked(InputStream in) {
      this.in = in;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (done) {
        return -1;
      }
      if (left == 0) {
        String size = line();
        if (size.isEmpty()) {
          size = line(); // the CRLF after the previous chunk's data
        }
        left = Long.parseLong(size.split(";")[0].trim(), 16);
        if (left == 0) {
          done = true;
          return -1;
        }
      }
      int n = in.read(b, off, (int) Math.min(len, left));
      if (n < 0) {
        throw new IOException("the connection ended inside a chunk");
      }
      left -= n;
      return n;
    }

    private String line() throws IOException {
      StringBuilder s = new StringBuilder();
      for (int c; (c = in.read()) != '\n'; ) {
        if (c < 0) {
          throw new IOException("the connection ended");
        }
        if (c != '\r') {
          s.append((char) c);
        }
      }
      return s.toString();
    }
  }
}
