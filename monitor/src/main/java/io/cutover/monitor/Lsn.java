package io.cutover.monitor;

/** PostgreSQL {@code pg_lsn} values as absolute byte positions in the WAL. */
public final class Lsn {

  private Lsn() {
  }

  /**
   * Parses PostgreSQL's text form {@code X/Y} (two hexadecimal numbers, high and low 32 bits).
   *
   * @return the position in bytes, or {@code -1} for {@code null} (e.g. a primary's receive LSN)
   * @throws IllegalArgumentException if the text is not a valid LSN
   */
  public static long parse(String text) {
    if (text == null) {
      return -1;
    }
    int slash = text.indexOf('/');
    if (slash <= 0 || slash == text.length() - 1) {
      throw new IllegalArgumentException("not an LSN: " + text);
    }
    long hi = Long.parseLong(text.substring(0, slash), 16);
    long lo = Long.parseLong(text.substring(slash + 1), 16);
    if (hi > 0xFFFFFFFFL || lo > 0xFFFFFFFFL) {
      throw new IllegalArgumentException("not an LSN: " + text);
    }
    return (hi << 32) | lo;
  }

  /** Formats a byte position as PostgreSQL does ({@code 0/3000060}); {@code -1} gives {@code null}. */
  public static String format(long lsn) {
    if (lsn < 0) {
      return null;
    }
    return Long.toHexString(lsn >>> 32).toUpperCase() + "/" + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase();
  }
}
