package io.cutover.proxy;

import io.vertx.core.buffer.Buffer;

import java.nio.charset.StandardCharsets;

/**
 * The few PostgreSQL wire-protocol messages Cutover itself writes or recognizes (protocol 3.0 to 3.2,
 * "Frontend/Backend Protocol" chapter of the PostgreSQL documentation).
 */
public final class PgWire {

  /** {@code SSLRequest} code (length 8). */
  public static final int SSL_REQUEST_CODE = 80877103;
  /** {@code GSSENCRequest} code (length 8). */
  public static final int GSSENC_REQUEST_CODE = 80877104;
  /** {@code CancelRequest} code (length 12 + the secret key's length). */
  public static final int CANCEL_REQUEST_CODE = 80877102;
  /** Longest {@code CancelRequest} secret key, in bytes (protocol 3.2; up to 3.1 it is always 4). */
  public static final int MAX_CANCEL_KEY_LENGTH = 256;
  /** Shortest {@code CancelRequest}, in bytes: length, code, process ID and a 4-byte secret key. */
  public static final int MIN_CANCEL_REQUEST_LENGTH = 12 + 4;
  /** Longest {@code CancelRequest}, in bytes: 12 + {@value #MAX_CANCEL_KEY_LENGTH}. */
  public static final int MAX_CANCEL_REQUEST_LENGTH = 12 + MAX_CANCEL_KEY_LENGTH;
  /** Protocol 3.0 in a {@code StartupMessage}. */
  public static final int PROTOCOL_3_0 = 196608;
  /** PostgreSQL's own cap on a startup packet ({@code MAX_STARTUP_PACKET_LENGTH}), in bytes. */
  public static final int MAX_STARTUP_PACKET_LENGTH = 10000;

  /** SQLSTATE {@code 57P03} cannot_connect_now. */
  public static final String CANNOT_CONNECT_NOW = "57P03";
  /** SQLSTATE {@code 53300} too_many_connections. */
  public static final String TOO_MANY_CONNECTIONS = "53300";
  /** SQLSTATE {@code 08P01} protocol_violation. */
  public static final String PROTOCOL_VIOLATION = "08P01";

  private PgWire() {
  }

  /** The single byte {@code N}: "SSL/GSS encryption not available, continue in plain text". */
  public static Buffer refuseEncryption() {
    return Buffer.buffer(new byte[] {'N'});
  }

  /**
   * An {@code ErrorResponse} with severity {@code FATAL}, the given SQLSTATE and message. A client
   * shows it as a normal connection error (libpq: {@code FATAL:  message}; JDBC: a
   * {@code PSQLException} with that SQLSTATE).
   */
  public static Buffer fatal(String sqlState, String message) {
    Buffer body = Buffer.buffer();
    field(body, 'S', "FATAL");
    field(body, 'V', "FATAL");
    field(body, 'C', sqlState);
    field(body, 'M', message);
    body.appendByte((byte) 0);
    return Buffer.buffer(body.length() + 5).appendByte((byte) 'E').appendInt(body.length() + 4).appendBuffer(body);
  }

  private static void field(Buffer body, char type, String value) {
    body.appendByte((byte) type).appendBytes(value.replace('\0', ' ').getBytes(StandardCharsets.UTF_8)).appendByte((byte) 0);
  }
}
