package io.cutover.config;

import java.util.ArrayList;
import java.util.List;

/** Collected configuration problems, one line each: {@code checks.fall: must be >= 1 (got 0)}. */
public final class ConfigProblems {

  private final List<String> lines = new ArrayList<>();

  /**
   * @param key    the full key, e.g. {@code targets[1].port}
   * @param value  the offending value, or {@code null} when there is none to show
   * @param reason what is wrong and what is expected
   */
  public void add(String key, Object value, String reason) {
    lines.add(key + ": " + reason + (value == null ? "" : " (got " + quote(value) + ")"));
  }

  /** A problem that is not tied to one key, e.g. an unreadable file. */
  public void add(String line) {
    lines.add(line);
  }

  public boolean isEmpty() {
    return lines.isEmpty();
  }

  public List<String> lines() {
    return List.copyOf(lines);
  }

  private static String quote(Object value) {
    String s = String.valueOf(value);
    if (s.length() > 80) {
      s = s.substring(0, 77) + "...";
    }
    return value instanceof String ? "'" + s + "'" : s;
  }
}
