package io.cutover.monitor;

import io.cutover.config.ConfigProblems;
import io.cutover.config.ConfigSection;
import io.cutover.config.Durations;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.Locale;

/**
 * What Cutover does when the primary fails (YAML section {@code failover}).
 *
 * @see FailoverMachine
 */
public final class FailoverOptions {

  /** Failover modes. */
  public enum Mode {
    /** Promote the best qualified replica when the primary is DOWN (default). */
    AUTO,
    /** Detect, record and alert only; operators act. */
    MANUAL,
    /** Never promote; route to whichever node reports itself primary (Patroni or similar manages the cluster). */
    FOLLOW;

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Default {@code mode}: {@code auto}. */
  public static final Mode DEFAULT_MODE = Mode.AUTO;
  /** Default {@code rto}: 10 s, the cutover duration target (last healthy check → first write accepted). */
  public static final Duration DEFAULT_RTO = Duration.ofSeconds(10);
  /** Default {@code max_lag_on_failover}: 1 MiB of WAL (Patroni's {@code maximum_lag_on_failover} default). */
  public static final long DEFAULT_MAX_LAG_ON_FAILOVER = 1L << 20;
  /** Default {@code failback_delay}: 60 s a recovered node must stay UP before it is routed again. */
  public static final Duration DEFAULT_FAILBACK_DELAY = Duration.ofSeconds(60);
  /** Default {@code switchover_timeout}: 10 s for the candidate to replay the old primary's last LSN. */
  public static final Duration DEFAULT_SWITCHOVER_TIMEOUT = Duration.ofSeconds(10);
  /**
   * Default {@code promote_timeout}: 10 s for promoting the candidate (connect, {@code pg_promote}, the server
   * leaving recovery).
   */
  public static final Duration DEFAULT_PROMOTE_TIMEOUT = Duration.ofSeconds(10);
  /**
   * The smallest accepted {@code promote_timeout}: 2 s, so that {@code pg_promote(wait_seconds => n)}, which
   * counts whole seconds, can wait at least 1 s and still end a second before the deadline.
   */
  public static final Duration MIN_PROMOTE_TIMEOUT = Duration.ofSeconds(2);
  /** Default {@code incidents_kept}: the last 100 incidents are kept in memory. */
  public static final int DEFAULT_INCIDENTS_KEPT = 100;
  /** Default {@code hooks.timeout}: 30 s per hook command. */
  public static final Duration DEFAULT_HOOK_TIMEOUT = Duration.ofSeconds(30);

  private Mode mode = DEFAULT_MODE;
  private Duration rto = DEFAULT_RTO;
  private long maxLagOnFailoverBytes = DEFAULT_MAX_LAG_ON_FAILOVER;
  private Duration failbackDelay = DEFAULT_FAILBACK_DELAY;
  private boolean autoFailback;
  private String preferred;
  private Duration switchoverTimeout = DEFAULT_SWITCHOVER_TIMEOUT;
  private Duration promoteTimeout = DEFAULT_PROMOTE_TIMEOUT;
  private int incidentsKept = DEFAULT_INCIDENTS_KEPT;
  private String onFailover;
  private String onFence;
  private String onSwitchover;
  private Duration hookTimeout = DEFAULT_HOOK_TIMEOUT;

  /** Reads the {@code failover} section, reporting bad values as configuration problems. */
  public static FailoverOptions fromConfig(ConfigSection s) {
    FailoverOptions o = new FailoverOptions();
    String mode = s.string("mode", DEFAULT_MODE.label());
    try {
      o.mode = Mode.valueOf(mode.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      s.problems().add(s.key("mode"), mode, "must be auto, manual or follow");
    }
    o.rto = s.duration("rto", DEFAULT_RTO, Duration.ofMillis(100));
    o.maxLagOnFailoverBytes = s.bytesOrOff("max_lag_on_failover", DEFAULT_MAX_LAG_ON_FAILOVER);
    o.failbackDelay = s.duration("failback_delay", DEFAULT_FAILBACK_DELAY, Duration.ZERO);
    o.autoFailback = s.bool("auto_failback", false);
    o.preferred = s.string("preferred", null);
    o.switchoverTimeout = s.duration("switchover_timeout", DEFAULT_SWITCHOVER_TIMEOUT, Duration.ofMillis(100));
    o.promoteTimeout = s.duration("promote_timeout", DEFAULT_PROMOTE_TIMEOUT, MIN_PROMOTE_TIMEOUT);
    o.incidentsKept = s.integer("incidents_kept", DEFAULT_INCIDENTS_KEPT, 1, 100_000);
    ConfigSection hooks = s.section("hooks");
    o.onFailover = hooks.string("on_failover", null);
    o.onFence = hooks.string("on_fence", null);
    o.onSwitchover = hooks.string("on_switchover", null);
    o.hookTimeout = hooks.duration("timeout", DEFAULT_HOOK_TIMEOUT, Duration.ofMillis(100));
    hooks.rejectUnknown();
    if (o.autoFailback && o.preferred == null) {
      s.problems().add(s.key("auto_failback"), true, "needs failover.preferred, the target to fail back to");
    }
    s.rejectUnknown();
    return o;
  }

  /**
   * From the JSON produced by {@link #toJson()} (absent keys keep their defaults), read with the same rules
   * as the YAML section.
   *
   * @throws IllegalArgumentException naming every bad key and value
   */
  public static FailoverOptions fromJson(JsonObject json) {
    java.util.Map<String, Object> values = new java.util.LinkedHashMap<>(json.getMap());
    values.values().removeIf(java.util.Objects::isNull);
    if (json.getValue("hooks") instanceof JsonObject hooks) {
      java.util.Map<String, Object> h = new java.util.LinkedHashMap<>(hooks.getMap());
      h.values().removeIf(java.util.Objects::isNull);
      values.put("hooks", h);
    }
    ConfigProblems problems = new ConfigProblems();
    FailoverOptions o = fromConfig(new ConfigSection("failover", values, problems));
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("; ", problems.lines()));
    }
    return o;
  }

  /** Every setting, durations with units ({@code 10s}); the inverse of {@link #fromJson(JsonObject)}. */
  public JsonObject toJson() {
    return new JsonObject()
        .put("mode", mode.label())
        .put("rto", Durations.format(rto))
        .put("max_lag_on_failover", maxLagOnFailoverBytes < 0 ? "off" : String.valueOf(maxLagOnFailoverBytes))
        .put("failback_delay", Durations.format(failbackDelay))
        .put("auto_failback", autoFailback)
        .put("preferred", preferred)
        .put("switchover_timeout", Durations.format(switchoverTimeout))
        .put("promote_timeout", Durations.format(promoteTimeout))
        .put("incidents_kept", incidentsKept)
        .put("hooks", new JsonObject().put("on_failover", onFailover).put("on_fence", onFence)
            .put("on_switchover", onSwitchover).put("timeout", Durations.format(hookTimeout)));
  }

  public Mode getMode() {
    return mode;
  }

  public FailoverOptions setMode(Mode mode) {
    this.mode = mode;
    return this;
  }

  /** The cutover duration target. */
  public Duration getRto() {
    return rto;
  }

  public FailoverOptions setRto(Duration rto) {
    this.rto = rto;
    return this;
  }

  /**
   * WAL in bytes a candidate may lack, compared with the old primary's last known position, and still be
   * promoted ({@code 0}: none); {@code -1} ({@code off}) = no limit.
   */
  public long getMaxLagOnFailoverBytes() {
    return maxLagOnFailoverBytes;
  }

  public FailoverOptions setMaxLagOnFailoverBytes(long bytes) {
    this.maxLagOnFailoverBytes = bytes;
    return this;
  }

  public Duration getFailbackDelay() {
    return failbackDelay;
  }

  public FailoverOptions setFailbackDelay(Duration failbackDelay) {
    this.failbackDelay = failbackDelay;
    return this;
  }

  public boolean isAutoFailback() {
    return autoFailback;
  }

  public FailoverOptions setAutoFailback(boolean autoFailback) {
    this.autoFailback = autoFailback;
    return this;
  }

  /** The target to fail back to with {@code auto_failback}, or {@code null}. */
  public String getPreferred() {
    return preferred;
  }

  public FailoverOptions setPreferred(String preferred) {
    this.preferred = preferred;
    return this;
  }

  public Duration getSwitchoverTimeout() {
    return switchoverTimeout;
  }

  public FailoverOptions setSwitchoverTimeout(Duration switchoverTimeout) {
    this.switchoverTimeout = switchoverTimeout;
    return this;
  }

  /**
   * How long a promotion may take ({@code promote_timeout}): connecting to the candidate, {@code pg_promote}
   * and its leaving recovery. The executor's promote fails with a reason naming this limit once it passes.
   */
  public Duration getPromoteTimeout() {
    return promoteTimeout;
  }

  /** @throws IllegalArgumentException when {@code null} or below {@link #MIN_PROMOTE_TIMEOUT} */
  public FailoverOptions setPromoteTimeout(Duration promoteTimeout) {
    if (promoteTimeout == null || promoteTimeout.compareTo(MIN_PROMOTE_TIMEOUT) < 0) {
      throw new IllegalArgumentException("promote_timeout must be at least " + Durations.format(MIN_PROMOTE_TIMEOUT)
          + ": " + promoteTimeout);
    }
    this.promoteTimeout = promoteTimeout;
    return this;
  }

  public int getIncidentsKept() {
    return incidentsKept;
  }

  public String getOnFailover() {
    return onFailover;
  }

  public FailoverOptions setOnFailover(String command) {
    this.onFailover = command;
    return this;
  }

  public String getOnFence() {
    return onFence;
  }

  public FailoverOptions setOnFence(String command) {
    this.onFence = command;
    return this;
  }

  public String getOnSwitchover() {
    return onSwitchover;
  }

  public FailoverOptions setOnSwitchover(String command) {
    this.onSwitchover = command;
    return this;
  }

  public Duration getHookTimeout() {
    return hookTimeout;
  }
}
