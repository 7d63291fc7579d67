package io.cutover.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code proxy.startup_timeout} (300 ms here): a client that never completes its startup is closed, with a FATAL 08P01
 * ErrorResponse saying what timed out, and counted; a client that does complete it is not affected.
 */
class StartupTimeoutIntegrationTest {

  /** Far above the 300 ms timeout, so a slow machine does not fail the test; a missing timeout still does. */
  private static final int DEADLINE_MILLIS = 10_000;

  private static Harness h;

  @BeforeAll
  static void start() throws Exception {
    h = Harness.startWithoutBackend("proxy: {startup_timeout: 300ms}\n");
  }

  @AfterAll
  static void stop() throws Exception {
    h.close();
  }

  @Test
  void aConnectionThatSendsNothingIsClosed() throws Exception {
    long before = timeouts();
    try (Socket s = open(h.cutover.writePort())) {
      assertEquals("cutover: no complete startup packet within proxy.startup_timeout 300 ms (nothing received)",
          protocolViolation(s));
    }
    assertEquals(before + 1, timeouts());
  }

  @Test
  void aTruncatedStartupPacketIsClosed() throws Exception {
    long before = timeouts();
    try (Socket s = open(h.cutover.writePort())) {
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      out.writeInt(40);
      out.writeInt(PgWire.PROTOCOL_3_0);
      out.write("user\0post".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      assertEquals("cutover: no complete startup packet within proxy.startup_timeout 300 ms (received 17 of 40 bytes)",
          protocolViolation(s));
    }
    assertEquals(before + 1, timeouts());
  }

  @Test
  void aLengthThenSilenceIsClosed() throws Exception {
    long before = timeoutsOn(Endpoint.READ);
    try (Socket s = open(h.cutover.readPort())) {
      new DataOutputStream(s.getOutputStream()).writeInt(84);
      assertEquals("cutover: no complete startup packet within proxy.startup_timeout 300 ms (received 4 of 84 bytes)",
          protocolViolation(s));
    }
    assertEquals(before + 1, timeoutsOn(Endpoint.READ), "counted on the read endpoint");
  }

  @Test
  void anSslRequestDeclinedThenSilenceIsClosed() throws Exception {
    long before = timeouts();
    try (Socket s = open(h.cutover.writePort())) {
      sslRequestDeclined(s);
      assertEquals("cutover: no complete startup packet after the encryption request was declined within"
          + " proxy.startup_timeout 300 ms (nothing received)", protocolViolation(s));
    }
    assertEquals(before + 1, timeouts());
  }

  @Test
  void anSslRequestDeclinedThenGarbageIsClosed() throws Exception {
    long before = timeouts();
    try (Socket s = open(h.cutover.writePort())) {
      DataOutputStream out = sslRequestDeclined(s);
      out.write(new byte[] {0x16, 0x03});  // the start of a TLS record: not a length Cutover can read
      out.flush();
      assertEquals("cutover: no complete startup packet after the encryption request was declined within"
          + " proxy.startup_timeout 300 ms (received 2 bytes)", protocolViolation(s));
    }
    assertEquals(before + 1, timeouts());
  }

  @Test
  void aCompleteStartupIsNotTimedOut() {
    long before = timeouts();
    // pgjdbc completes its startup at once: it gets Cutover's 57P03 (no backend), not the startup timeout's 08P01
    SQLException e = assertThrows(SQLException.class, () -> h.write());
    assertEquals("57P03", e.getSQLState(), e.getMessage());
    SQLException ssl = assertThrows(SQLException.class, () -> h.write("sslmode", "prefer"));
    assertEquals("57P03", ssl.getSQLState(), ssl.getMessage());
    assertEquals(before, timeouts());
  }

  @Test
  void theMetricIsExported() throws Exception {
    try (Socket s = open(h.cutover.writePort())) {
      protocolViolation(s);
    }
    String series = "cutover_sessions_startup_timeouts_total{endpoint=\"write\"} ";
    String metrics;
    try (Http http = new Http(h.cutover.httpPort())) {
      metrics = http.get("/metrics").bodyAsString();
    }
    String line = metrics.lines().filter(l -> l.startsWith(series)).findFirst().orElseThrow(() -> new AssertionError(metrics));
    // other tests of this class may have added theirs: at least this one, and never more than the counter says
    double exported = Double.parseDouble(line.substring(series.length()));
    assertTrue(exported >= 1 && exported <= timeoutsOn(Endpoint.WRITE), line);
    assertTrue(metrics.contains("cutover_sessions_startup_timeouts_total{endpoint=\"read\"}"), metrics);
  }

  private static long timeouts() {
    return timeoutsOn(Endpoint.WRITE) + timeoutsOn(Endpoint.READ);
  }

  private static long timeoutsOn(Endpoint e) {
    return h.cutover.traffic().startupTimeouts(e).sum();
  }

  private static Socket open(int port) throws IOException {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
    s.setSoTimeout(DEADLINE_MILLIS);
    return s;
  }

  /**
   * Reads the FATAL 08P01 ErrorResponse Cutover sends on a startup timeout and checks that the connection is then
   * closed, all within {@link #DEADLINE_MILLIS}; returns the message.
   */
  private static String protocolViolation(Socket s) throws IOException {
    DataInputStream in = new DataInputStream(s.getInputStream());
    try {
      assertEquals('E', in.readByte(), "an ErrorResponse");
      byte[] body = new byte[in.readInt() - 4];
      in.readFully(body);
      String text = new String(body, StandardCharsets.UTF_8);
      assertTrue(text.startsWith("SFATAL\0VFATAL\0C08P01\0M"), text);
      assertEquals(-1, in.read(), "then the connection is closed");
      return text.substring("SFATAL\0VFATAL\0C08P01\0M".length(), text.length() - 2);
    } catch (SocketTimeoutException e) {
      fail("not closed within " + DEADLINE_MILLIS + " ms");
      throw e;
    }
  }

  /** Sends an SSLRequest on {@code s} and reads Cutover's {@code N} (no backend to take it). */
  private static DataOutputStream sslRequestDeclined(Socket s) throws IOException {
    DataOutputStream out = new DataOutputStream(s.getOutputStream());
    out.writeInt(8);
    out.writeInt(PgWire.SSL_REQUEST_CODE);
    out.flush();
    assertEquals('N', s.getInputStream().read(), "encryption declined (no backend)");
    return out;
  }
}
