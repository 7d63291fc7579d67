package io.cutover.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A typed reader over one mapping of the YAML configuration that never throws: every bad value,
 * wrong type or unknown key becomes one {@link ConfigProblems} line naming the full key and the value,
 * and the default is used in its place so that all problems are reported in one pass.
 */
public final class ConfigSection {

  private final String path;
  private final Map<String, Object> values;
  private final ConfigProblems problems;
  private final Set<String> read = new HashSet<>();

  public ConfigSection(String path, Map<String, Object> values, ConfigProblems problems) {
    this.path = path;
    this.values = values == null ? Map.of() : values;
    this.problems = problems;
  }

  /** The full key of a child, e.g. {@code checks.fall}. */
  public String key(String name) {
    return path.isEmpty() ? name : path + "." + name;
  }

  public ConfigProblems problems() {
    return problems;
  }

  public boolean has(String name) {
    return values.containsKey(name) && values.get(name) != null;
  }

  private Object raw(String name) {
    read.add(name);
    return values.get(name);
  }

  /** A child mapping; absent → an empty section; not a mapping → a problem and an empty section. */
  @SuppressWarnings("unchecked")
  public ConfigSection section(String name) {
    Object v = raw(name);
    if (v == null) {
      return new ConfigSection(key(name), Map.of(), problems);
    }
    if (!(v instanceof Map)) {
      problems.add(key(name), v, "must be a mapping of keys to values");
      return new ConfigSection(key(name), Map.of(), problems);
    }
    return new ConfigSection(key(name), stringKeys((Map<Object, Object>) v), problems);
  }

  /** A list of mappings; absent → empty; problems for non-mapping items. */
  @SuppressWarnings("unchecked")
  public List<ConfigSection> sections(String name) {
    Object v = raw(name);
    List<ConfigSection> out = new ArrayList<>();
    if (v == null) {
      return out;
    }
    if (!(v instanceof List)) {
      problems.add(key(name), v, "must be a list");
      return out;
    }
    List<Object> items = (List<Object>) v;
    for (int i = 0; i < items.size(); i++) {
      Object item = items.get(i);
      String itemKey = key(name) + "[" + i + "]";
      if (item instanceof Map) {
        out.add(new ConfigSection(itemKey, stringKeys((Map<Object, Object>) item), problems));
      } else {
        problems.add(itemKey, item, "must be a mapping of keys to values");
      }
    }
    return out;
  }

  /** A list of strings; absent → empty; a single value is a one-element list. */
  public List<String> strings(String name) {
    Object v = raw(name);
    List<String> out = new ArrayList<>();
    if (v == null) {
      return out;
    }
    if (v instanceof List<?> list) {
      for (Object o : list) {
        if (o instanceof Map || o instanceof List || o == null) {
          problems.add(key(name), o, "must be a list of names");
          return new ArrayList<>();
        }
        out.add(o.toString());
      }
      return out;
    }
    if (v instanceof Map) {
      problems.add(key(name), v, "must be a list of names");
      return out;
    }
    for (String part : v.toString().split(",")) {
      if (!part.isBlank()) {
        out.add(part.trim());
      }
    }
    return out;
  }

  public String string(String name, String def) {
    Object v = raw(name);
    if (v == null) {
      return def;
    }
    if (v instanceof Map || v instanceof List) {
      problems.add(key(name), v, "must be a single value");
      return def;
    }
    return v.toString();
  }

  public boolean bool(String name, boolean def) {
    Object v = raw(name);
    if (v == null) {
      return def;
    }
    if (v instanceof Boolean b) {
      return b;
    }
    String s = v.toString().trim().toLowerCase(java.util.Locale.ROOT);
    if (s.equals("true") || s.equals("on") || s.equals("yes")) {
      return true;
    }
    if (s.equals("false") || s.equals("off") || s.equals("no")) {
      return false;
    }
    problems.add(key(name), v, "must be true or false");
    return def;
  }

  /** An integer within {@code [min, max]}. */
  public int integer(String name, int def, int min, int max) {
    Object v = raw(name);
    if (v == null) {
      return def;
    }
    long n;
    try {
      n = v instanceof Number num && !(v instanceof Double || v instanceof Float)
          ? num.longValue() : Long.parseLong(v.toString().trim());
    } catch (NumberFormatException e) {
      problems.add(key(name), v, "must be an integer");
      return def;
    }
    if (n < min || n > max) {
      problems.add(key(name), v, max == Integer.MAX_VALUE ? "must be >= " + min : "must be between " + min + " and " + max);
      return def;
    }
    return (int) n;
  }

  /** A duration such as {@code 200ms} or {@code 30s}, at least {@code min}. */
  public Duration duration(String name, Duration def, Duration min) {
    return parsed(name, def, Durations::parse, d -> d.compareTo(min) < 0 ? "must be at least " + Durations.format(min) : null);
  }

  /**
   * A duration in whole seconds ({@code 30s}, {@code 2m}) for a setting the kernel takes in seconds, within
   * {@code [min, max]} seconds; {@code 1500ms} is a problem rather than silently rounded.
   *
   * @return the value in seconds
   */
  public int seconds(String name, int def, int min, int max) {
    String range = "must be whole seconds between " + min + "s and " + max + "s";
    return parsed(name, def, text -> {
      Duration d = Durations.parse(text);
      return d.toMillis() % 1000 != 0 || d.getSeconds() < min || d.getSeconds() > max ? -1 : (int) d.getSeconds();
    }, n -> n < 0 ? range : null);
  }

  /**
   * A duration within {@code [min, max]}, or {@code off} / {@code false} / {@code 0}: {@link Duration#ZERO}
   * (the feature turned off).
   */
  public Duration durationOrOff(String name, Duration def, Duration min, Duration max) {
    Object v = raw(name);
    if (v == null) {
      return def;
    }
    String t = v.toString().trim();
    if (Boolean.FALSE.equals(v) || "off".equalsIgnoreCase(t) || "0".equals(t)) {
      return Duration.ZERO;
    }
    return parsed(name, def, Durations::parse, d -> d.compareTo(min) < 0 || d.compareTo(max) > 0
        ? "must be off or between " + Durations.format(min) + " and " + Durations.format(max) : null);
  }

  /** What {@link #bytesOrOff} returns for {@code off}: no limit. */
  public static final long OFF = -1;

  /**
   * A byte-size limit ({@code 16MB}, {@code 0} = zero bytes allowed); {@code off} or {@code false} give {@link #OFF}
   * (no limit).
   */
  public long bytesOrOff(String name, long def) {
    Object v = raw(name);
    if (v == null) {
      return def;
    }
    if (Boolean.FALSE.equals(v) || "off".equalsIgnoreCase(v.toString().trim())) {
      return OFF;
    }
    return parsed(name, def, ByteSizes::parse, n -> null);
  }

  /** A byte size ({@code 16MB}) of at least {@code min} bytes. */
  public long bytes(String name, long def, long min) {
    return parsed(name, def, ByteSizes::parse, n -> n < min ? "must be at least " + min + " bytes" : null);
  }

  private <T> T parsed(String name, T def, Function<String, T> parser, Function<T, String> check) {
    Object v = raw(name);
    if (v == null) {
      return def;
    }
    T value;
    try {
      value = parser.apply(v.toString());
    } catch (IllegalArgumentException e) {
      problems.add(key(name), v, e.getMessage());
      return def;
    }
    String bad = check.apply(value);
    if (bad != null) {
      problems.add(key(name), v, bad);
      return def;
    }
    return value;
  }

  /** Reports every key of this mapping that no reader asked for. Call after reading the section. */
  public void rejectUnknown() {
    for (String k : values.keySet()) {
      if (!read.contains(k)) {
        problems.add(key(k), null, "unknown key");
      }
    }
  }

  private static Map<String, Object> stringKeys(Map<Object, Object> map) {
    Map<String, Object> out = new LinkedHashMap<>();
    map.forEach((k, v) -> out.put(String.valueOf(k), v));
    return out;
  }
}
