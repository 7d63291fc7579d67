package io.cutover.proxy;

import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * The metric names a PromQL expression selects, for tests that check a dashboard or rule file against a real
 * {@code /metrics}: a small tokenizer, not a parser. Skipped: string literals, label matchers in {@code {...}},
 * ranges and subqueries in {@code [...]}, numbers and durations, Grafana variables ({@code $name}, {@code ${name}}),
 * keywords and operators ({@code and}, {@code bool}, {@code offset}, ...), the label lists of {@code by},
 * {@code without}, {@code on}, {@code ignoring}, {@code group_left} and {@code group_right}, aggregations and
 * functions. What remains is an identifier naming a series.
 *
 * <p>Rejected with {@link IllegalArgumentException}, since the name could not be checked: a call of a function PromQL
 * does not have (a typo such as {@code rat(...)}), and a selector without a metric name ({@code {__name__=~"..."}}).
 */
final class PromQlMetricNames {

  /** PromQL's functions (Prometheus 2.x and 3.x), plus {@code start} and {@code end} of the {@code @} modifier. */
  static final Set<String> FUNCTIONS = Set.of(
      "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time",
      "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "day_of_month",
      "day_of_week", "day_of_year", "days_in_month", "deg", "delta", "deriv", "double_exponential_smoothing", "end",
      "exp", "floor", "histogram_avg", "histogram_count", "histogram_fraction", "histogram_quantile",
      "histogram_stddev", "histogram_stdvar", "histogram_sum", "holt_winters", "hour", "idelta", "increase", "info",
      "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2", "mad_over_time",
      "max_over_time", "min_over_time", "minute", "month", "pi", "predict_linear", "present_over_time",
      "quantile_over_time", "rad", "rate", "resets", "round", "scalar", "sgn", "sin", "sinh", "sort", "sort_by_label",
      "sort_by_label_desc", "sort_desc", "sqrt", "start", "stddev_over_time", "stdvar_over_time", "sum_over_time",
      "tan", "tanh", "time", "timestamp", "vector", "year");

  /** Aggregation operators (case-insensitive in PromQL). */
  static final Set<String> AGGREGATIONS = Set.of("avg", "bottomk", "count", "count_values", "group", "limit_ratio",
      "limitk", "max", "min", "quantile", "stddev", "stdvar", "sum", "topk");

  /** Keywords followed by a parenthesized list of label names. */
  static final Set<String> LABEL_LISTS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right");

  /** Other keywords and named operators, and the special numbers. */
  static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "atan2", "bool", "offset", "inf", "nan");

  private PromQlMetricNames() {
  }

  /** The metric names {@code expr} selects, sorted. */
  static Set<String> of(String expr) {
    Set<String> names = new TreeSet<>();
    int n = expr.length();
    int i = 0;
    boolean afterName = false; // a '{' right after a metric name holds its label matchers
    while (i < n) {
      char c = expr.charAt(i);
      if (Character.isWhitespace(c)) {
        i++;
      } else if (c == '#') { // a comment, to the end of the line
        while (i < n && expr.charAt(i) != '\n') {
          i++;
        }
      } else if (c == '"' || c == '\'' || c == '`') {
        i = skipString(expr, i);
        afterName = false;
      } else if (c == '$') {
        i = skipVariable(expr, i);
        afterName = false;
      } else if (c == '{') {
        if (!afterName) {
          throw new IllegalArgumentException("a selector without a metric name at offset " + i + ": " + expr);
        }
        i = skipGroup(expr, i, '{', '}');
        afterName = false;
      } else if (c == '[') {
        i = skipGroup(expr, i, '[', ']');
        afterName = false;
      } else if (Character.isDigit(c) || c == '.' && i + 1 < n && Character.isDigit(expr.charAt(i + 1))) {
        i = skipNumber(expr, i);
        afterName = false;
      } else if (Character.isLetter(c) || c == '_' || c == ':') {
        int start = i;
        while (i < n && isIdentifierPart(expr.charAt(i))) {
          i++;
        }
        String word = expr.substring(start, i);
        String lower = word.toLowerCase(Locale.ROOT);
        int next = skipSpaces(expr, i);
        boolean call = next < n && expr.charAt(next) == '(';
        afterName = false;
        if (LABEL_LISTS.contains(lower)) {
          if (call) {
            i = skipGroup(expr, next, '(', ')');
          }
        } else if (KEYWORDS.contains(lower) || AGGREGATIONS.contains(lower)) {
          continue; // a keyword, an operator named by a word, or an aggregation (by/without may come before its '(')
        } else if (call) {
          if (!FUNCTIONS.contains(word)) {
            throw new IllegalArgumentException("unknown function " + word + "() in: " + expr);
          }
        } else {
          names.add(word);
          afterName = true;
        }
      } else {
        afterName = false; // an operator, a parenthesis, a comma, '@'
        i++;
      }
    }
    return names;
  }

  private static boolean isIdentifierPart(char c) {
    return Character.isLetterOrDigit(c) || c == '_' || c == ':';
  }

  private static int skipSpaces(String s, int i) {
    while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
      i++;
    }
    return i;
  }

  /** Past the string literal opening at {@code i} (backslash escapes, none in backquotes). */
  private static int skipString(String s, int i) {
    char quote = s.charAt(i++);
    while (i < s.length()) {
      char c = s.charAt(i++);
      if (c == '\\' && quote != '`') {
        i++;
      } else if (c == quote) {
        return i;
      }
    }
    throw new IllegalArgumentException("unterminated string in: " + s);
  }

  /** Past a Grafana variable: {@code $name}, {@code ${name}} or {@code ${name:format}}. */
  private static int skipVariable(String s, int i) {
    i++;
    if (i < s.length() && s.charAt(i) == '{') {
      int end = s.indexOf('}', i);
      if (end < 0) {
        throw new IllegalArgumentException("unterminated ${ in: " + s);
      }
      return end + 1;
    }
    while (i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '_')) {
      i++;
    }
    return i;
  }

  /** Past a number or a duration: {@code 0.75}, {@code 1e-3}, {@code 0x1F}, {@code 5m}, {@code 1h30m}. */
  private static int skipNumber(String s, int i) {
    boolean hex = s.regionMatches(true, i, "0x", 0, 2);
    while (i < s.length()) {
      char c = s.charAt(i);
      boolean exponentSign = !hex && (c == '+' || c == '-') && (s.charAt(i - 1) == 'e' || s.charAt(i - 1) == 'E');
      if (!Character.isLetterOrDigit(c) && c != '.' && c != '_' && !exponentSign) {
        break;
      }
      i++;
    }
    return i;
  }

  /** Past the group opening at {@code i} with {@code open}, nested groups and string literals inside included. */
  private static int skipGroup(String s, int i, char open, char close) {
    int depth = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      if (c == '"' || c == '\'' || c == '`') {
        i = skipString(s, i);
        continue;
      }
      if (c == open) {
        depth++;
      } else if (c == close && --depth == 0) {
        return i + 1;
      }
      i++;
    }
    throw new IllegalArgumentException("unbalanced " + open + " in: " + s);
  }
}
