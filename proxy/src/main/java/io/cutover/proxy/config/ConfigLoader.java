package io.cutover.proxy.config;

import io.cutover.config.ConfigProblems;
import io.cutover.config.ConfigSection;
import io.cutover.monitor.CheckKind;
import io.cutover.monitor.CheckOptions;
import io.cutover.monitor.FailoverOptions;
import io.cutover.monitor.Target;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Reads Cutover's YAML configuration (SnakeYAML, safe constructor, duplicate keys rejected), applies
 * environment overrides and validates everything in one pass.
 *
 * <p><b>Environment overrides:</b> a variable {@code CUTOVER_<SECTION>__<KEY>} (double underscore between
 * levels, case-insensitive) replaces {@code section.key}, e.g. {@code CUTOVER_LISTENERS__WRITE=0.0.0.0:6432},
 * {@code CUTOVER_CHECKS__PASSWORD=secret}, {@code CUTOVER_READ__MAX_LAG=16MB}. Variables without
 * {@code __} are not configuration overrides. Targets are configured in the file only.
 *
 * <p>The result is either a {@link CutoverConfig} or a list of problems, one line each naming the key
 * and the bad value — never an exception. A bad value from the environment is blamed on its variable
 * ({@code CUTOVER_CHECKS__FALL (checks.fall): ...}), one from the file on the file.
 */
public final class ConfigLoader {

  /** Prefix of environment overrides. */
  public static final String ENV_PREFIX = "CUTOVER_";
  /** The admin token from the environment (wins over {@code admin.token}). */
  public static final String ADMIN_TOKEN_ENV = "CUTOVER_ADMIN_TOKEN";
  private static final Pattern TARGET_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,63}");

  /**
   * Either a configuration or the problems found.
   *
   * @param config the configuration, or {@code null} when there are problems
   * @param origin the configuration file (or other source of the YAML text) as named in messages
   * @param found  the problems, empty when {@code config} is set
   */
  public record Result(CutoverConfig config, String origin, List<ConfigProblems.Problem> found) {
    public boolean ok() {
      return config != null;
    }

    /**
     * One line per problem, naming the key and the bad value: {@code checks.fall: must be between 1 and 1000
     * (got 0)}; a value from the environment names the variable first:
     * {@code CUTOVER_CHECKS__FALL (checks.fall): ...}.
     */
    public List<String> problems() {
      return found.stream().map(ConfigProblems.Problem::line).toList();
    }

    /**
     * One line per problem for the operator, each naming where the bad value came from:
     * {@code invalid configuration in FILE: checks.fall: ...} for a key of the file,
     * {@code invalid configuration: CUTOVER_CHECKS__FALL (checks.fall): ...} for an environment variable,
     * {@code invalid configuration: FILE: invalid YAML: ...} for the file as a whole.
     */
    public List<String> messages() {
      return found.stream().map(p -> p.inFile() ? "invalid configuration in " + origin + ": " + p.line()
          : "invalid configuration: " + p.line()).toList();
    }
  }

  private ConfigLoader() {
  }

  /** Loads and validates {@code file} with the given environment (pass {@code System.getenv()}). */
  public static Result load(Path file, Map<String, String> env) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException | RuntimeException e) {
      return failure(file.toString(), file + ": cannot read configuration file: " + describe(e));
    }
    return parse(file.toString(), text, env);
  }

  /** Parses and validates YAML text; {@code origin} names the source in messages. */
  public static Result parse(String origin, String yamlText, Map<String, String> env) {
    Object doc;
    try {
      LoaderOptions options = new LoaderOptions();
      options.setAllowDuplicateKeys(false);
      options.setMaxAliasesForCollections(10);
      doc = new Yaml(new SafeConstructor(options)).load(yamlText);
    } catch (YAMLException e) {
      return failure(origin, origin + ": invalid YAML: " + e.getMessage().replaceAll("\\s*\\n\\s*", " ").trim());
    }
    if (doc != null && !(doc instanceof Map)) {
      return failure(origin, origin + ": the top level must be a mapping of keys to values");
    }
    Map<String, Object> root = new LinkedHashMap<>();
    if (doc != null) {
      ((Map<?, ?>) doc).forEach((k, v) -> root.put(String.valueOf(k), v));
    }
    ConfigProblems problems = new ConfigProblems();
    applyEnv(root, env, problems);
    CutoverConfig config = validate(new ConfigSection("", root, problems), env);
    return problems.isEmpty() ? new Result(config, origin, List.of()) : new Result(null, origin, problems.problems());
  }

  @SuppressWarnings("unchecked")
  private static void applyEnv(Map<String, Object> root, Map<String, String> env, ConfigProblems problems) {
    for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
      String name = e.getKey();
      if (!name.startsWith(ENV_PREFIX) || !name.contains("__")) {
        continue;
      }
      String[] path = name.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).split("__");
      Map<String, Object> node = root;
      boolean ok = true;
      for (int i = 0; i < path.length - 1 && ok; i++) {
        String key = String.join(".", List.of(path).subList(0, i + 1));
        if (!node.containsKey(path[i])) {
          problems.fromEnvironment(key, name);
        }
        Object child = node.computeIfAbsent(path[i], k -> new LinkedHashMap<String, Object>());
        if (child instanceof Map) {
          node = (Map<String, Object>) child;
        } else {
          problems.add(name + " (" + String.join(".", path) + "): " + key
              + " is not a mapping and cannot be overridden key by key");
          ok = false;
        }
      }
      if (ok) {
        problems.fromEnvironment(String.join(".", path), name);
        node.put(path[path.length - 1], e.getValue());
      }
    }
  }

  private static CutoverConfig validate(ConfigSection root, Map<String, String> env) {
    ConfigProblems problems = root.problems();
    ConfigSection listeners = root.section("listeners");
    ListenAddress write = address(listeners, "write", CutoverConfig.DEFAULT_WRITE);
    ListenAddress read = address(listeners, "read", CutoverConfig.DEFAULT_READ);
    ListenAddress http = address(listeners, "http", CutoverConfig.DEFAULT_HTTP);
    HttpTlsOptions httpTls = HttpTlsOptions.fromConfig(listeners);
    listeners.rejectUnknown();
    if (http.equals(write) && http.port() != 0 || http.equals(read) && http.port() != 0) {
      problems.add("listeners.http", http.toString(), "must differ from listeners.write and listeners.read");
    }
    if (write.equals(read) && write.port() != 0) {
      problems.add("listeners.read", read.toString(), "must differ from listeners.write");
    }

    List<Target> targets = new ArrayList<>();
    Set<String> names = new HashSet<>();
    Map<String, OwnCheck> ownChecks = new LinkedHashMap<>();
    if (!root.has("targets")) {
      problems.add("targets", null, "at least one target is required (a list of {name, host, port})");
    }
    List<ConfigSection> items = root.sections("targets");
    if (root.has("targets") && items.isEmpty() && problems.isEmpty()) {
      problems.add("targets", null, "at least one target is required (a list of {name, host, port})");
    }
    for (ConfigSection t : items) {
      String name = t.string("name", null);
      String host = t.string("host", null);
      int port = t.integer("port", -1, 1, 65535);
      if (name == null) {
        problems.add(t.key("name"), null, "is required");
      } else if (!TARGET_NAME.matcher(name).matches()) {
        problems.add(t.key("name"), name, "must be 1-63 letters, digits, '_', '.' or '-'");
      } else if (!names.add(name)) {
        problems.add(t.key("name"), name, "duplicate target name");
      }
      if (host == null || host.isBlank()) {
        problems.add(t.key("host"), host, "is required");
      }
      if (!t.has("port")) {
        problems.add(t.key("port"), null, "is required");
      }
      OwnCheck own = t.has("check") ? ownCheck(t.section("check")) : null;
      t.rejectUnknown();
      if (own != null && name != null) {
        ownChecks.put(name, own);
      }
      if (name != null && host != null && !host.isBlank() && port > 0) {
        targets.add(new Target(name, host, port));
      }
    }

    CheckOptions checks = CheckOptions.fromConfig(root.section("checks"));
    checks.setTargetChecks(targetChecks(ownChecks, checks.getKind(), problems));
    List<String> overHttp = targets.stream().map(Target::name).filter(n -> checks.kindOf(n).overHttp()).toList();
    List<String> overHttpNoWal = targets.stream().map(Target::name).filter(n -> checks.kindOf(n) == CheckKind.HTTP)
        .toList();

    ConfigSection readSection = root.section("read");
    long maxLag = readSection.bytesOrOff("max_lag", io.cutover.config.ConfigSection.OFF);
    boolean fallback = readSection.bool("fallback_to_primary", CutoverConfig.DEFAULT_READ_FALLBACK_TO_PRIMARY);
    readSection.rejectUnknown();
    if (maxLag != ConfigSection.OFF && !overHttpNoWal.isEmpty()) {
      problems.add("read.max_lag", readSection.string("max_lag", null), "cannot be applied to targets checked over http ("
          + String.join(", ", overHttpNoWal) + "), which report no WAL positions: put the limit in the replica path "
          + "instead (checks.http.replica_path, e.g. /replica?lag=16MB)");
    }

    ProxyOptions proxy = ProxyOptions.fromConfig(root.section("proxy"));
    ResolverOptions resolver = ResolverOptions.fromConfig(root.section("resolver"));

    ConfigSection failoverSection = root.section("failover");
    FailoverOptions failover = FailoverOptions.fromConfig(failoverSection);
    if (!overHttp.isEmpty() && !failoverSection.has("mode")) {
      failover.setMode(FailoverOptions.Mode.FOLLOW);
    } else if (!overHttp.isEmpty() && failover.getMode() != FailoverOptions.Mode.FOLLOW) {
      problems.add("failover.mode", failoverSection.string("mode", null), "must be follow (the default with these checks) "
          + "when targets are checked over patroni or http (" + String.join(", ", overHttp) + "): the cluster manager "
          + "behind them promotes, and a second failover authority (auto, or an operator's failover through Cutover in "
          + "manual) could split the cluster");
    }
    if (failover.getPreferred() != null && !names.contains(failover.getPreferred())) {
      problems.add("failover.preferred", failover.getPreferred(), "must name a target");
    }

    ConfigSection admin = root.section("admin");
    String token = admin.string("token", null);
    int auditKept = admin.integer("audit_kept", CutoverConfig.DEFAULT_AUDIT_KEPT, 1, 1_000_000);
    admin.rejectUnknown();
    if (env.get(ADMIN_TOKEN_ENV) != null && !env.get(ADMIN_TOKEN_ENV).isBlank()) {
      token = env.get(ADMIN_TOKEN_ENV);
      problems.fromEnvironment("admin.token", ADMIN_TOKEN_ENV);
    }
    if (token != null && token.length() < 16) {
      problems.add("admin.token", null, "must be at least 16 characters (the value is not shown)");
    }

    ConfigSection clusterSection = root.section("cluster");
    CutoverConfig.Cluster cluster = new CutoverConfig.Cluster(
        clusterSection.bool("enabled", false),
        clusterSection.integer("size", 3, 1, 99),
        clusterSection.string("name", "cutover"),
        java.nio.file.Path.of(clusterSection.string("hazelcast", "cluster-config/hazelcast.yaml")),
        clusterSection.duration("lease", CutoverConfig.Cluster.DEFAULT_LEASE, java.time.Duration.ofMillis(500)));
    clusterSection.rejectUnknown();

    CutoverConfig.History history = history(root.section("history"));

    ConfigSection presenceSection = root.section("presence");
    io.cutover.monitor.Presence.Options presence = new io.cutover.monitor.Presence.Options(
        presenceSection.bool("enabled", true),
        presenceSection.duration("heartbeat", io.cutover.monitor.Presence.DEFAULT_HEARTBEAT,
            io.cutover.monitor.Presence.MIN_HEARTBEAT));
    presenceSection.rejectUnknown();

    ShutdownOptions shutdown = ShutdownOptions.fromConfig(root.section("shutdown"));

    root.rejectUnknown();
    return new CutoverConfig(write, read, targets, checks, maxLag, fallback, proxy, resolver,
        failover, http, token, auditKept, cluster, history, presence, shutdown, httpTls);
  }

  /** A target's {@code check} as written: the kind ({@code null}: {@code checks.kind}) and port ({@code -1}: none). */
  private record OwnCheck(String key, CheckKind kind, int port) {
  }

  /** {@code targets[].check}: {@code kind} and {@code port}, nothing else. */
  private static OwnCheck ownCheck(ConfigSection c) {
    CheckKind kind = c.has("kind") ? CheckKind.read(c, "kind", CheckKind.SQL) : null;
    int port = c.integer("port", -1, 1, 65535);
    c.rejectUnknown();
    return new OwnCheck(c.key("port"), kind, c.has("port") ? port : -1);
  }

  /** The targets' own checks with {@code checks.kind} filled in; a port for an sql check is a problem. */
  private static Map<String, CheckOptions.TargetCheck> targetChecks(Map<String, OwnCheck> own, CheckKind global,
                                                                    ConfigProblems problems) {
    Map<String, CheckOptions.TargetCheck> out = new LinkedHashMap<>();
    own.forEach((name, c) -> {
      CheckKind kind = c.kind() == null ? global : c.kind();
      if (kind == CheckKind.SQL && c.port() > 0) {
        problems.add(c.key(), c.port(), "only patroni and http checks have a port of their own (an sql check uses "
            + "the target's port)");
      }
      out.put(name, new CheckOptions.TargetCheck(kind, kind == CheckKind.SQL ? -1 : c.port()));
    });
    return out;
  }

  /** The {@code history} section; {@code dir} unset or {@code off} (YAML reads a bare off as false) turns it off. */
  private static CutoverConfig.History history(ConfigSection s) {
    String text = s.string("dir", null);
    long maxFileBytes = s.bytes("max_file_size", CutoverConfig.History.DEFAULT_MAX_FILE_BYTES,
        CutoverConfig.History.MIN_FILE_BYTES);
    // at least 2: a rotation moves the full file aside; with 1 it would delete the only history there is
    int maxFiles = s.integer("max_files", CutoverConfig.History.DEFAULT_MAX_FILES, 2, 100);
    s.rejectUnknown();
    Path dir = null;
    String t = text == null ? "off" : text.trim();
    if (t.isEmpty() || t.equals("true")) {
      s.problems().add(s.key("dir"), text, "must be a directory path, or off");
    } else if (!t.equalsIgnoreCase("off") && !t.equals("false")) {
      try {
        dir = Path.of(t);
      } catch (java.nio.file.InvalidPathException e) {
        s.problems().add(s.key("dir"), text, "not a valid path: " + e.getReason());
      }
    }
    return new CutoverConfig.History(dir, maxFileBytes, maxFiles);
  }

  private static ListenAddress address(ConfigSection s, String name, String def) {
    String text = s.string(name, def);
    try {
      return ListenAddress.parse(text);
    } catch (IllegalArgumentException e) {
      s.problems().add(s.key(name), text, e.getMessage());
      return ListenAddress.parse(def);
    }
  }

  /** A problem with the source as a whole; {@code line} names it. */
  private static Result failure(String origin, String line) {
    return new Result(null, origin, List.of(new ConfigProblems.Problem(line, false)));
  }

  private static String describe(Exception e) {
    if (e instanceof java.nio.file.NoSuchFileException) {
      return "no such file";
    }
    if (e instanceof java.nio.file.AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof java.nio.charset.MalformedInputException) {
      return "not UTF-8 text";
    }
    String m = e.getMessage();
    return m == null ? e.getClass().getSimpleName() : m;
  }
}
