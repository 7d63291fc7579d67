package io.cutover.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * HTTP/1.1 over a raw socket, for requests an HTTP client library would not send as they are (any method token,
 * lowercase included, any path and body bytes). One request per connection ({@code Connection: close}), read to the
 * end, so that a body the server sends where it must not (after a {@code HEAD}) is seen.
 */
final class RawHttp {

  private RawHttp() {
  }

  /** A response: its status, its headers (names in lowercase; the last of repeated ones) and its body. */
  record Response(int status, Map<String, String> headers, String body) {
    /** The header's value, or {@code null}. */
    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  static Response send(int port, String method, String path) throws IOException {
    return send(port, method, path, null, null, null);
  }

  /**
   * Sends one request and reads the whole response, bounded by 10 s.
   *
   * @param token a bearer token, or {@code null} for no {@code Authorization}
   * @param type  the {@code Content-Type}, or {@code null} for none
   * @param body  the body (with its {@code Content-Length}), or {@code null} for none
   */
  static Response send(int port, String method, String path, String token, String type, byte[] body) throws IOException {
    StringBuilder head = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\n")
        .append("Host: 127.0.0.1\r\nConnection: close\r\n");
    if (token != null) {
      head.append("Authorization: Bearer ").append(token).append("\r\n");
    }
    if (type != null) {
      head.append("Content-Type: ").append(type).append("\r\n");
    }
    if (body != null) {
      head.append("Content-Length: ").append(body.length).append("\r\n");
    }
    head.append("\r\n");
    ByteArrayOutputStream request = new ByteArrayOutputStream();
    request.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
    if (body != null) {
      request.write(body);
    }
    return exchange(port, request.toByteArray(), method + " " + path);
  }

  /**
   * Sends {@code request} as it is (a request line, headers and any body, well-formed or not) and reads the whole
   * response until the server closes the connection, bounded by 10 s.
   */
  static Response exchange(int port, byte[] request, String what) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(request);
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      for (int n; (n = in.read(buf)) > 0; ) {
        all.write(buf, 0, n);
      }
      String text = all.toString(StandardCharsets.UTF_8);
      if (!text.matches("(?s)HTTP/1\\.[01] [0-9]{3}.*")) {
        fail("no HTTP response to " + what + ": [" + text + "]");
      }
      int split = text.indexOf("\r\n\r\n");
      String[] lines = (split < 0 ? text : text.substring(0, split)).split("\r\n");
      Map<String, String> headers = new TreeMap<>();
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        if (colon > 0) {
          headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
        }
      }
      return new Response(Integer.parseInt(text.substring(9, 12)), headers, split < 0 ? "" : text.substring(split + 4));
    }
  }
}
