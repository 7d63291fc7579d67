package io.cutover.config;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte amounts as written in configuration: a plain number of bytes ({@code 1048576}) or with a
 * binary unit ({@code 512kB}, {@code 16MB}, {@code 1GB}, as PostgreSQL writes memory and WAL sizes:
 * 1 kB = 1024 bytes).
 */
public final class ByteSizes {

  private static final Pattern FORMAT = Pattern.compile("(\\d{1,15})\\s*(b|kb|mb|gb|tb)?");

  private ByteSizes() {
  }

  /** @throws IllegalArgumentException with a message suitable for a configuration error */
  public static long parse(String text) {
    Matcher m = FORMAT.matcher(text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException("not a size in bytes (expected e.g. 1048576, 512kB, 16MB or 1GB)");
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "b" : m.group(2);
    int shift = switch (unit) {
      case "kb" -> 10;
      case "mb" -> 20;
      case "gb" -> 30;
      case "tb" -> 40;
      default -> 0;
    };
    if (shift > 0 && n > (Long.MAX_VALUE >> shift)) {
      throw new IllegalArgumentException("size too large");
    }
    return n << shift;
  }
}
