package io.cutover.config;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Collected configuration problems, one line each: {@code checks.fall: must be >= 1 (got 0)}.
 *
 * <p>A key whose value came from an environment variable ({@link #fromEnvironment}) is blamed on that
 * variable: {@code CUTOVER_CHECKS__FALL (checks.fall): must be between 1 and 1000 (got '0')}. So is a key
 * below it, and a mapping the variable created.
 */
public final class ConfigProblems {

  /**
   * One problem.
   *
   * @param line   the problem in one line, e.g. {@code checks.fall: must be between 1 and 1000 (got 0)}
   * @param inFile {@code true} when the line is about a key of the configuration file and does not name the
   *               file itself; {@code false} when it names its source (an environment variable, or the file
   *               for a problem with the file as a whole)
   */
  public record Problem(String line, boolean inFile) {
  }

  private final List<Problem> problems = new ArrayList<>();
  /** Full key → the environment variable its value came from. */
  private final Map<String, String> variables = new HashMap<>();

  /**
   * Records that {@code key} (e.g. {@code checks.fall}) was set by the environment variable {@code variable};
   * later problems with that key, or a key below it, name the variable.
   */
  public void fromEnvironment(String key, String variable) {
    variables.put(key, variable);
  }

  /**
   * @param key    the full key, e.g. {@code targets[1].port}
   * @param value  the offending value, or {@code null} when there is none to show
   * @param reason what is wrong and what is expected
   */
  public void add(String key, Object value, String reason) {
    String text = reason + (value == null ? "" : " (got " + quote(value) + ")");
    String variable = variableFor(key);
    problems.add(variable == null ? new Problem(key + ": " + text, true)
        : new Problem(variable + " (" + key + "): " + text, false));
  }

  /** A problem that is not tied to one key and names its source itself, e.g. an unreadable file. */
  public void add(String line) {
    problems.add(new Problem(line, false));
  }

  public boolean isEmpty() {
    return problems.isEmpty();
  }

  /** The problems' lines, in the order found. */
  public List<String> lines() {
    return problems.stream().map(Problem::line).toList();
  }

  /** The problems, in the order found. */
  public List<Problem> problems() {
    return List.copyOf(problems);
  }

  /** The variable that set {@code key} or the nearest mapping above it ({@code a.b[2].c} → {@code a.b[2]} → {@code a.b} → {@code a}). */
  private String variableFor(String key) {
    for (String k = key; !k.isEmpty(); ) {
      String v = variables.get(k);
      if (v != null) {
        return v;
      }
      int cut = Math.max(k.lastIndexOf('.'), k.lastIndexOf('['));
      k = cut < 0 ? "" : k.substring(0, cut);
    }
    return null;
  }

  private static String quote(Object value) {
    String s = String.valueOf(value);
    if (s.length() > 80) {
      s = s.substring(0, 77) + "...";
    }
    return value instanceof String ? "'" + s + "'" : s;
  }
}
