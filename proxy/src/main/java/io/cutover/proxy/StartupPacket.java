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

  /**
   * Classifies a complete packet of {@link #length(Buffer)} bytes (at the start of {@code buf}). A
   * {@code CancelRequest} is 12 bytes plus its secret key, which is 4 bytes up to protocol 3.1 and up to
   * {@value PgWire#MAX_CANCEL_KEY_LENGTH} bytes from protocol 3.2 (PostgreSQL 18) on.
   */
  public static Kind classify(Buffer buf) {
    int len = buf.getInt(0);
    int code = buf.getInt(4);
    return switch (code) {
      case PgWire.SSL_REQUEST_CODE -> len == 8 ? Kind.SSL_REQUEST : Kind.INVALID;
      case PgWire.GSSENC_REQUEST_CODE -> len == 8 ? Kind.GSSENC_REQUEST : Kind.INVALID;
      case PgWire.CANCEL_REQUEST_CODE -> len >= PgWire.MIN_CANCEL_REQUEST_LENGTH && len <= PgWire.MAX_CANCEL_REQUEST_LENGTH
          ? Kind.CANCEL_REQUEST : Kind.INVALID;
      default -> (code >>> 16) == 3 ? Kind.STARTUP : Kind.INVALID;
    };
  }

  /** Why a packet {@link #classify} calls {@link Kind#INVALID} is refused, for the client's 08P01 ErrorResponse. */
  public static String invalidReason(Buffer buf) {
    int len = buf.getInt(0);
    int code = buf.getInt(4);
    return switch (code) {
      case PgWire.SSL_REQUEST_CODE -> "invalid length " + len + " of SSLRequest (must be 8 bytes)";
      case PgWire.GSSENC_REQUEST_CODE -> "invalid length " + len + " of GSSENCRequest (must be 8 bytes)";
      case PgWire.CANCEL_REQUEST_CODE -> "invalid length " + len + " of CancelRequest (must be 12 bytes plus a secret key"
          + " of 4 to " + PgWire.MAX_CANCEL_KEY_LENGTH + " bytes)";
      default -> "unsupported frontend protocol or request code " + code;
    };
  }
}
