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
}
