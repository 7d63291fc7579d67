package io.cutover.proxy;

import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PgWireTest {

  @Test
  void errorResponseLayout() {
    Buffer b = PgWire.fatal("57P03", "cutover: no primary");
    assertEquals('E', b.getByte(0));
    assertEquals(b.length() - 1, b.getInt(1));
    String body = b.getString(5, b.length(), StandardCharsets.UTF_8.name());
    assertEquals("SFATAL\0VFATAL\0C57P03\0Mcutover: no primary\0\0", body);
  }

  @Test
  void classifiesFirstPackets() {
    assertEquals(StartupPacket.Kind.SSL_REQUEST, StartupPacket.classify(Buffer.buffer().appendInt(8).appendInt(80877103)));
    assertEquals(StartupPacket.Kind.GSSENC_REQUEST, StartupPacket.classify(Buffer.buffer().appendInt(8).appendInt(80877104)));
    assertEquals(StartupPacket.Kind.CANCEL_REQUEST,
        StartupPacket.classify(Buffer.buffer().appendInt(16).appendInt(80877102).appendInt(1).appendInt(2)));
    assertEquals(StartupPacket.Kind.STARTUP, StartupPacket.classify(Buffer.buffer().appendInt(9).appendInt(196608).appendByte((byte) 0)));
    assertEquals(StartupPacket.Kind.INVALID, StartupPacket.classify(Buffer.buffer().appendInt(9).appendInt(131072).appendByte((byte) 0)),
        "protocol 2 is not supported");
    assertEquals(StartupPacket.Kind.INVALID, StartupPacket.classify(Buffer.buffer().appendInt(12).appendInt(80877103).appendInt(0)));
    assertEquals(-1, StartupPacket.length(Buffer.buffer().appendShort((short) 0)));
    assertEquals(-2, StartupPacket.length(Buffer.buffer().appendInt(4)));
    assertEquals(-2, StartupPacket.length(Buffer.buffer().appendInt(10001)));
    assertEquals(8, StartupPacket.length(Buffer.buffer().appendInt(8)));
  }

  @Test
  void cancelRequestsCarryASecretKeyOf4To256Bytes() {
    for (int len : new int[] {16, 12 + 32, 12 + 256}) {
      Buffer cancel = cancel(len);
      assertEquals(len, StartupPacket.length(cancel));
      assertEquals(StartupPacket.Kind.CANCEL_REQUEST, StartupPacket.classify(cancel), "length " + len);
    }
    for (int len : new int[] {11, 12 + 257}) {
      Buffer cancel = cancel(len);
      assertEquals(len, StartupPacket.length(cancel));
      assertEquals(StartupPacket.Kind.INVALID, StartupPacket.classify(cancel), "length " + len);
      assertEquals("invalid length " + len + " of CancelRequest (must be 12 bytes plus a secret key of 4 to 256 bytes)",
          StartupPacket.invalidReason(cancel));
    }
    assertEquals("unsupported frontend protocol or request code 131072",
        StartupPacket.invalidReason(Buffer.buffer().appendInt(9).appendInt(131072).appendByte((byte) 0)));
  }

  /** A CancelRequest of {@code len} bytes: length, code, process ID and a key of {@code len - 12} bytes. */
  private static Buffer cancel(int len) {
    Buffer b = Buffer.buffer().appendInt(len).appendInt(PgWire.CANCEL_REQUEST_CODE);
    while (b.length() < len) {
      b.appendByte((byte) b.length());
    }
    return b;
  }
}
