package io.cutover.proxy;

import io.vertx.core.buffer.Buffer;

/**
 * Classifies the first packet a client sends (the only one Cutover looks at): every such packet is
 * an int32 length (including itself) followed by an int32 code.
 */
public final class StartupPacket {

  /** What the first packet is. */
  public enum Kind { SSL_REQUEST, GSSENC_REQUEST, CANCEL_REQUEST, STARTUP, INVALID }

  private StartupPacket() {
  }

  /**
   * How many bytes the first packet has, once at least 4 bytes arrived.
   *
   * @return the packet length, {@code -1} if fewer than 4 bytes are available, or {@code -2} if the length
   *         is outside {@code 8 .. }{@value PgWire#MAX_STARTUP_PACKET_LENGTH}
   */
  public static int length(Buffer buf) {
    if (buf.length() < 4) {
      return -1;
    }
    int len = buf.getInt(0);
    return len < 8 || len > PgWire.MAX_STARTUP_PACKET_LENGTH ? -2 : len;
  }

  /** Classifies a complete packet of {@link #length(Buffer)} bytes (at the start of {@code buf}). */
  public static Kind classify(Buffer buf) {
    int len = buf.getInt(0);
    int code = buf.getInt(4);
    return switch (code) {
      case PgWire.SSL_REQUEST_CODE -> len == 8 ? Kind.SSL_REQUEST : Kind.INVALID;
      case PgWire.GSSENC_REQUEST_CODE -> len == 8 ? Kind.GSSENC_REQUEST : Kind.INVALID;
      case PgWire.CANCEL_REQUEST_CODE -> len == 16 ? Kind.CANCEL_REQUEST : Kind.INVALID;
      default -> (code >>> 16) == 3 ? Kind.STARTUP : Kind.INVALID;
    };
  }
}
