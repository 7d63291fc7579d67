package io.cutover.proxy;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Without a backend, clients get a PostgreSQL ErrorResponse (FATAL 57P03), never a bare reset. */
class NoBackendIntegrationTest {

  private static Harness h;

  @BeforeAll
  static void start() throws Exception {
    h = Harness.startWithoutBackend("");
  }

  @AfterAll
  static void stop() throws Exception {
    h.close();
  }

  @Test
  void writeEndpointAnswersWith57P03() {
    SQLException e = assertThrows(SQLException.class, () -> h.write());
    assertEquals("57P03", e.getSQLState());
    assertTrue(e.getMessage().contains("cutover: no primary available for the write endpoint (no target reports itself primary)"),
        e.getMessage());
  }

  @Test
  void readEndpointAnswersWith57P03AndSaysWhy() {
    SQLException e = assertThrows(SQLException.class, () -> h.read());
    assertEquals("57P03", e.getSQLState());
    assertTrue(e.getMessage().contains("cutover: no replica available for the read endpoint (no replica is readable (gone is down);"
        + " read.fallback_to_primary is off)"), e.getMessage());
  }

  @Test
  void sslRequestIsDeclinedThenTheStartupGets57P03() {
    SQLException prefer = assertThrows(SQLException.class, () -> h.write("sslmode", "prefer"));
    assertEquals("57P03", prefer.getSQLState(), prefer.getMessage());
    SQLException require = assertThrows(SQLException.class, () -> h.write("sslmode", "require"));
    assertTrue(require.getMessage().contains("does not support SSL"), require.getMessage());
  }

  @Test
  void rawProtocolErrorResponse() throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), h.cutover.writePort())) {
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      byte[] params = "user\0postgres\0\0".getBytes(StandardCharsets.US_ASCII);
      out.writeInt(8 + params.length);
      out.writeInt(196608);
      out.write(params);
      out.flush();
      DataInputStream in = new DataInputStream(s.getInputStream());
      assertEquals('E', in.readByte());
      byte[] body = new byte[in.readInt() - 4];
      in.readFully(body);
      String text = new String(body, StandardCharsets.UTF_8);
      assertTrue(text.startsWith("SFATAL\0VFATAL\0C57P03\0Mcutover: no primary available"), text);
      assertEquals(-1, in.read(), "then the connection is closed");
    }
  }

  @Test
  void garbageGetsAProtocolViolation() throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), h.cutover.readPort())) {
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      out.writeInt(3);
      out.writeInt(0);
      out.flush();
      DataInputStream in = new DataInputStream(s.getInputStream());
      assertEquals('E', in.readByte());
      byte[] body = new byte[in.readInt() - 4];
      in.readFully(body);
      assertTrue(new String(body, StandardCharsets.UTF_8).contains("C08P01\0Mcutover: invalid length of startup packet"));
    }
  }
}
