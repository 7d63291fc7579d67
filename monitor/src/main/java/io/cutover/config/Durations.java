package io.cutover.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as written in Cutover's configuration: {@code 200ms}, {@code 1s}, {@code 5m}, {@code 1h}. */
public final class Durations {

  private static final Pattern FORMAT = Pattern.compile("(\\d{1,9})\\s*(ms|s|m|h)");

  private Durations() {
  }

  /**
   * Parses a duration with a mandatory unit: {@code ms}, {@code s}, {@code m} or {@code h}.
   *
   * @throws IllegalArgumentException with a message suitable for a configuration error
   */
  public static Duration parse(String text) {
    Matcher m = FORMAT.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("not a duration (expected a number with a unit ms, s, m or h, e.g. 200ms or 30s)");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      default -> Duration.ofHours(n);
    };
  }

  /** The shortest exact form: {@code 1500ms}, {@code 2s}, {@code 5m}. */
  public static String format(Duration d) {
    long ms = d.toMillis();
    if (ms != 0 && ms % 3_600_000 == 0) {
      return ms / 3_600_000 + "h";
    }
    if (ms != 0 && ms % 60_000 == 0) {
      return ms / 60_000 + "m";
    }
    if (ms != 0 && ms % 1000 == 0) {
      return ms / 1000 + "s";
    }
    return ms + "ms";
  }
}
