package io.cutover.monitor;

import io.cutover.config.ConfigSection;
import io.cutover.config.Durations;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.Objects;

/**
 * How the monitor checks targets (YAML section {@code checks}). Knobs use HAProxy's words.
 *
 * <p>Detection time implied: a target that stops answering is DOWN at most
 * {@code interval + fall × (timeout + fastinter)} after it stopped (the first failure is noticed at the
 * next regular check, the other {@code fall - 1} come every {@code fastinter}); with the defaults at most
 * 1 s + 3 × 1.2 s = 4.6 s for a frozen server, and about 1 s + 2 × 0.2 s = 1.4 s for a crashed one,
 * whose connections are refused at once.
 */
public final class CheckOptions {

  /** Default {@code interval}: 1 s between checks of a steady target. */
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(1);
  /** Default {@code fastinter}: 200 ms between checks while a target changes state. */
  public static final Duration DEFAULT_FASTINTER = Duration.ofMillis(200);
  /** Default {@code timeout}: 1 s for connect + query of one check. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(1);
  /** Default {@code fall}: 3 consecutive failures take a target DOWN. */
  public static final int DEFAULT_FALL = 3;
  /** Default {@code rise}: 2 consecutive successes bring a target UP. */
  public static final int DEFAULT_RISE = 2;
  /** Default {@code user}: {@code postgres}. */
  public static final String DEFAULT_USER = "postgres";
  /** Default {@code database}: {@code postgres}. */
  public static final String DEFAULT_DATABASE = "postgres";
  /** The smallest accepted interval, fastinter or timeout: 10 ms. */
  public static final Duration MIN_DURATION = Duration.ofMillis(10);

  private Duration interval = DEFAULT_INTERVAL;
  private Duration fastinter = DEFAULT_FASTINTER;
  private Duration timeout = DEFAULT_TIMEOUT;
  private int fall = DEFAULT_FALL;
  private int rise = DEFAULT_RISE;
  private String user = DEFAULT_USER;
  private String password;
  private String database = DEFAULT_DATABASE;
  private java.util.Set<String> simulateUnreachable = java.util.Set.of();
  private CheckKind kind = CheckKind.SQL;
  private HttpCheckOptions patroni = HttpCheckOptions.DEFAULTS;
  private HttpCheckOptions http = HttpCheckOptions.DEFAULTS;
  private java.util.Map<String, TargetCheck> targetChecks = java.util.Map.of();

  /**
   * A target's own check settings ({@code targets[].check}), in the place of {@code checks.kind} and of the kind's
   * port.
   *
   * @param kind the target's check kind
   * @param port the HTTP endpoint's port for {@code patroni} and {@code http} checks, {@code -1}: the kind's
   *             {@code port} ({@code checks.patroni.port}, {@code checks.http.port})
   */
  public record TargetCheck(CheckKind kind, int port) {
  }

  public CheckOptions() {
  }

  /** From the JSON produced by {@link #toJson()}; absent keys keep their defaults. */
  public CheckOptions(JsonObject json) {
    setInterval(Durations.parse(json.getString("interval", Durations.format(DEFAULT_INTERVAL))));
    setFastinter(Durations.parse(json.getString("fastinter", Durations.format(DEFAULT_FASTINTER))));
    setTimeout(Durations.parse(json.getString("timeout", Durations.format(DEFAULT_TIMEOUT))));
    setFall(json.getInteger("fall", DEFAULT_FALL));
    setRise(json.getInteger("rise", DEFAULT_RISE));
    setUser(json.getString("user", DEFAULT_USER));
    setPassword(json.getString("password"));
    setDatabase(json.getString("database", DEFAULT_DATABASE));
  }

  /** Reads the {@code checks} section, reporting bad values as configuration problems. */
  public static CheckOptions fromConfig(ConfigSection s) {
    CheckOptions o = new CheckOptions();
    o.interval = s.duration("interval", DEFAULT_INTERVAL, MIN_DURATION);
    o.fastinter = s.duration("fastinter", DEFAULT_FASTINTER, MIN_DURATION);
    o.timeout = s.duration("timeout", DEFAULT_TIMEOUT, MIN_DURATION);
    o.fall = s.integer("fall", DEFAULT_FALL, 1, 1000);
    o.rise = s.integer("rise", DEFAULT_RISE, 1, 1000);
    o.user = s.string("user", DEFAULT_USER);
    o.password = s.string("password", null);
    o.database = s.string("database", DEFAULT_DATABASE);
    o.simulateUnreachable = java.util.Set.copyOf(s.strings("simulate_unreachable"));
    o.kind = CheckKind.read(s, "kind", CheckKind.SQL);
    o.patroni = HttpCheckOptions.fromConfig(s.section("patroni"), false);
    o.http = HttpCheckOptions.fromConfig(s.section("http"), true);
    s.rejectUnknown();
    return o;
  }

  /** The password is never written out; {@code "password_set": true} says one is configured. */
  public JsonObject toJson() {
    JsonObject json = new JsonObject()
        .put("interval", Durations.format(interval))
        .put("fastinter", Durations.format(fastinter))
        .put("timeout", Durations.format(timeout))
        .put("fall", fall)
        .put("rise", rise)
        .put("user", user)
        .put("database", database);
    if (password != null) {
      json.put("password_set", true);
    }
    json.put("kind", kind.label());
    if (kind == CheckKind.PATRONI || targetChecks.values().stream().anyMatch(c -> c.kind() == CheckKind.PATRONI)) {
      json.put("patroni", patroni.toJson(false));
    }
    if (kind == CheckKind.HTTP || targetChecks.values().stream().anyMatch(c -> c.kind() == CheckKind.HTTP)) {
      json.put("http", http.toJson(true));
    }
    if (!targetChecks.isEmpty()) {
      JsonObject perTarget = new JsonObject();
      targetChecks.forEach((name, c) -> perTarget.put(name, new JsonObject().put("kind", c.kind().label())
          .put("port", c.port() < 0 ? null : c.port())));
      json.put("targets", perTarget);
    }
    return json;
  }

  /** {@code checks.kind}: how targets without a {@code check} of their own are checked (default {@code sql}). */
  public CheckKind getKind() {
    return kind;
  }

  public CheckOptions setKind(CheckKind kind) {
    this.kind = Objects.requireNonNull(kind, "kind");
    return this;
  }

  /** {@code checks.patroni}: how Patroni's REST API is reached. */
  public HttpCheckOptions getPatroni() {
    return patroni;
  }

  public CheckOptions setPatroni(HttpCheckOptions patroni) {
    this.patroni = Objects.requireNonNull(patroni, "patroni");
    return this;
  }

  /** {@code checks.http}: how the role endpoints are reached, and their paths. */
  public HttpCheckOptions getHttp() {
    return http;
  }

  public CheckOptions setHttp(HttpCheckOptions http) {
    this.http = Objects.requireNonNull(http, "http");
    return this;
  }

  /** Targets' own check settings by target name ({@code targets[].check}); empty by default. */
  public java.util.Map<String, TargetCheck> getTargetChecks() {
    return targetChecks;
  }

  public CheckOptions setTargetChecks(java.util.Map<String, TargetCheck> checks) {
    // in the caller's order (the configuration's): the JSON and the API list them so on every run
    this.targetChecks = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(checks));
    return this;
  }

  /** How the target named {@code target} is checked: its own {@code check.kind}, else {@code checks.kind}. */
  public CheckKind kindOf(String target) {
    TargetCheck own = targetChecks.get(target);
    return own == null ? kind : own.kind();
  }

  /**
   * The HTTP endpoint's port for the target named {@code target} (a {@code patroni} or {@code http} check): its own
   * {@code check.port}, else the port of its kind's section.
   */
  public int httpPortOf(String target) {
    TargetCheck own = targetChecks.get(target);
    if (own != null && own.port() > 0) {
      return own.port();
    }
    return kindOf(target) == CheckKind.HTTP ? http.port() : patroni.port();
  }

  public Duration getInterval() {
    return interval;
  }

  /** @throws IllegalArgumentException below {@link #MIN_DURATION} */
  public CheckOptions setInterval(Duration interval) {
    this.interval = atLeastMin("interval", interval);
    return this;
  }

  public Duration getFastinter() {
    return fastinter;
  }

  /** @throws IllegalArgumentException below {@link #MIN_DURATION} */
  public CheckOptions setFastinter(Duration fastinter) {
    this.fastinter = atLeastMin("fastinter", fastinter);
    return this;
  }

  public Duration getTimeout() {
    return timeout;
  }

  /** @throws IllegalArgumentException below {@link #MIN_DURATION} */
  public CheckOptions setTimeout(Duration timeout) {
    this.timeout = atLeastMin("timeout", timeout);
    return this;
  }

  public int getFall() {
    return fall;
  }

  /** @throws IllegalArgumentException if below 1 */
  public CheckOptions setFall(int fall) {
    if (fall < 1) {
      throw new IllegalArgumentException("fall must be >= 1: " + fall);
    }
    this.fall = fall;
    return this;
  }

  public int getRise() {
    return rise;
  }

  /** @throws IllegalArgumentException if below 1 */
  public CheckOptions setRise(int rise) {
    if (rise < 1) {
      throw new IllegalArgumentException("rise must be >= 1: " + rise);
    }
    this.rise = rise;
    return this;
  }

  public String getUser() {
    return user;
  }

  public CheckOptions setUser(String user) {
    this.user = Objects.requireNonNull(user, "user");
    return this;
  }

  public String getPassword() {
    return password;
  }

  /** {@code null} for none (trust, peer or a {@code .pgpass}-less setup). */
  public CheckOptions setPassword(String password) {
    this.password = password;
    return this;
  }

  /**
   * Targets this instance's checks treat as unreachable (each check fails as a timeout after
   * {@code timeout}), for drills and tests of one instance cut off from a server
   * ({@code checks.simulate_unreachable}; empty by default). Routing is not affected.
   */
  public java.util.Set<String> getSimulateUnreachable() {
    return simulateUnreachable;
  }

  public CheckOptions setSimulateUnreachable(java.util.Set<String> targets) {
    this.simulateUnreachable = java.util.Set.copyOf(targets);
    return this;
  }

  public String getDatabase() {
    return database;
  }

  public CheckOptions setDatabase(String database) {
    this.database = Objects.requireNonNull(database, "database");
    return this;
  }

  /**
   * How the monitor connects to {@code host:port}: the check credentials, no TLS, no statement cache, and
   * {@code application_name} so its sessions are recognisable in {@code pg_stat_activity}.
   */
  public io.vertx.pgclient.PgConnectOptions connectOptions(String host, int port, String applicationName) {
    io.vertx.pgclient.PgConnectOptions o = new io.vertx.pgclient.PgConnectOptions()
        .setHost(host)
        .setPort(port)
        .setUser(user)
        .setDatabase(database)
        .setCachePreparedStatements(false)
        .setProperties(java.util.Map.of("application_name", applicationName));
    if (password != null) {
      o.setPassword(password);
    }
    return o;
  }

  private static Duration atLeastMin(String name, Duration d) {
    if (d == null || d.compareTo(MIN_DURATION) < 0) {
      throw new IllegalArgumentException(name + " must be at least " + Durations.format(MIN_DURATION) + ": " + d);
    }
    return d;
  }
}
