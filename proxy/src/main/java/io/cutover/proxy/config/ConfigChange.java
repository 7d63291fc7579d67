package io.cutover.proxy.config;

import io.cutover.monitor.CheckOptions;
import io.cutover.monitor.FailoverOptions;
import io.cutover.monitor.HttpCheckOptions;
import io.cutover.monitor.Target;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a configuration reload changes (pure): the keys whose values differ between the running configuration and the
 * new one, which of them apply at once ({@link Effect#LIVE}) and which need a restart ({@link Effect#RESTART}), and how
 * the target set changes. {@link #effective()} is the configuration to run after the reload: the new one with every
 * restart-only key kept at its running value (so a later reload names it again until Cutover restarts).
 *
 * <p>Keys are named as in the YAML file ({@code checks.fall}, {@code proxy.keepalive.idle}); targets as
 * {@code targets[NAME]} (added or removed), {@code targets[NAME].host}, {@code .port} (re-addressed: another server
 * under the same name) and {@code .check} (its own check kind or port), and {@code targets} when only their order
 * changed (the order breaks ties between failover candidates). Every target change applies at once. Secrets
 * ({@code admin.token}, the passwords) are compared but never shown: only their keys are named.
 */
public final class ConfigChange {

  /** When a changed key takes effect. */
  public enum Effect {
    /** At once, for new sessions, checks and decisions; nothing established is disturbed. */
    LIVE,
    /** At the next start: the running value stays until then. */
    RESTART
  }

  /** Every key of the configuration but {@code targets}, in the order of the README, with its effect. */
  public static final Map<String, Effect> KEYS = keys();

  private final CutoverConfig running;
  private final CutoverConfig next;
  private final List<String> changed = new ArrayList<>();
  private final Set<String> added = new LinkedHashSet<>();
  private final Set<String> removed = new LinkedHashSet<>();
  private final Set<String> readdressed = new LinkedHashSet<>();
  private final Set<String> checkChanged = new LinkedHashSet<>();

  private ConfigChange(CutoverConfig running, CutoverConfig next) {
    this.running = running;
    this.next = next;
  }

  /** Compares the running configuration with a newly loaded, valid one. */
  public static ConfigChange of(CutoverConfig running, CutoverConfig next) {
    ConfigChange c = new ConfigChange(running, next);
    c.compareTargets();
    Map<String, Object> before = values(running);
    Map<String, Object> after = values(next);
    for (String key : KEYS.keySet()) {
      if (!Objects.equals(before.get(key), after.get(key))) {
        c.changed.add(key);
      }
    }
    return c;
  }

  private void compareTargets() {
    Map<String, Target> before = byName(running.targets());
    Map<String, Target> after = byName(next.targets());
    before.keySet().stream().filter(n -> !after.containsKey(n)).forEach(removed::add);
    for (Target t : next.targets()) {
      Target old = before.get(t.name());
      if (old == null) {
        added.add(t.name());
        continue;
      }
      if (!old.host().equals(t.host())) {
        changed.add("targets[" + t.name() + "].host");
      }
      if (old.port() != t.port()) {
        changed.add("targets[" + t.name() + "].port");
      }
      if (!old.equals(t)) {
        readdressed.add(t.name());
      }
      if (!Objects.equals(running.checks().getTargetChecks().get(t.name()), next.checks().getTargetChecks().get(t.name()))) {
        changed.add("targets[" + t.name() + "].check");
        checkChanged.add(t.name());
      }
    }
    removed.forEach(n -> changed.add("targets[" + n + "]"));
    added.forEach(n -> changed.add("targets[" + n + "]"));
    List<String> keptBefore = running.targets().stream().map(Target::name).filter(after::containsKey).toList();
    List<String> keptAfter = next.targets().stream().map(Target::name).filter(before::containsKey).toList();
    if (!keptBefore.equals(keptAfter)) {
      changed.add(0, "targets");
    }
  }

  /** Every changed key: targets first, then the others in the order of {@link #KEYS}. */
  public List<String> changed() {
    return Collections.unmodifiableList(changed);
  }

  /** The changed keys that applied at once. */
  public List<String> live() {
    return changed.stream().filter(k -> effect(k) == Effect.LIVE).toList();
  }

  /** The changed keys that need a restart (their running values stay). */
  public List<String> restart() {
    return changed.stream().filter(k -> effect(k) == Effect.RESTART).toList();
  }

  /** Whether nothing changed. */
  public boolean isEmpty() {
    return changed.isEmpty();
  }

  /** Targets in the new configuration only. */
  public Set<String> added() {
    return Collections.unmodifiableSet(added);
  }

  /** Targets in the running configuration only. */
  public Set<String> removed() {
    return Collections.unmodifiableSet(removed);
  }

  /** Targets in both whose host or port differ: another server under the same name. */
  public Set<String> readdressed() {
    return Collections.unmodifiableSet(readdressed);
  }

  /** Targets in both whose own {@code check} (kind or port) differs. */
  public Set<String> checkChanged() {
    return Collections.unmodifiableSet(checkChanged);
  }

  /** The effect of a changed key ({@code targets...} keys are live). */
  public static Effect effect(String key) {
    return key.startsWith("targets") ? Effect.LIVE : KEYS.getOrDefault(key, Effect.LIVE);
  }

  /**
   * The configuration to run after the reload: the new one, with the keys that need a restart at their running values.
   */
  public CutoverConfig effective() {
    ProxyOptions p = next.proxy();
    ProxyOptions proxy = new ProxyOptions(p.connectTimeout(), running.proxy().eventLoops(), p.connectWait(),
        p.startupTimeout(), p.maxClientConnections(), p.keepalive());
    FailoverOptions failover = next.failover();
    if (failover.getIncidentsKept() != running.failover().getIncidentsKept()) {
      failover = FailoverOptions.fromJson(failover.toJson().put("incidents_kept", running.failover().getIncidentsKept()));
    }
    return new CutoverConfig(running.write(), running.read(), next.targets(), next.checks(), next.readMaxLagBytes(),
        next.readFallbackToPrimary(), proxy, running.resolver(), failover, running.http(), next.adminToken(),
        running.auditKept(), running.cluster(), running.history(), running.presence(), running.shutdown(),
        running.httpTls());
  }

  /**
   * Every key of {@link #KEYS} and its value in {@code c}, comparable with {@code equals} (durations, numbers, strings,
   * sets); secrets included (never log them).
   */
  public static Map<String, Object> values(CutoverConfig c) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("listeners.write", c.write().toString());
    v.put("listeners.read", c.read().toString());
    v.put("listeners.http", c.http().toString());
    // the certificate files at unchanged paths are read again by every reload (HttpTls); a new path needs a restart
    v.put("listeners.http_tls.cert", c.httpTls() == null ? null : c.httpTls().cert().toString());
    v.put("listeners.http_tls.key", c.httpTls() == null ? null : c.httpTls().key().toString());
    v.put("shutdown.announce", c.shutdown().announce());
    v.put("shutdown.grace", c.shutdown().grace());
    v.put("admin.token", c.adminToken());
    v.put("admin.audit_kept", c.auditKept());
    v.put("cluster.enabled", c.cluster().enabled());
    v.put("cluster.size", c.cluster().size());
    v.put("cluster.name", c.cluster().name());
    v.put("cluster.hazelcast", c.cluster().hazelcast().toString());
    v.put("cluster.lease", c.cluster().lease());
    v.put("presence.enabled", c.presence().enabled());
    v.put("presence.heartbeat", c.presence().heartbeat());
    v.put("resolver.servers", c.resolver().servers());
    v.put("resolver.timeout", c.resolver().timeout());
    CheckOptions k = c.checks();
    v.put("checks.interval", k.getInterval());
    v.put("checks.fastinter", k.getFastinter());
    v.put("checks.timeout", k.getTimeout());
    v.put("checks.fall", k.getFall());
    v.put("checks.rise", k.getRise());
    v.put("checks.user", k.getUser());
    v.put("checks.password", k.getPassword());
    v.put("checks.database", k.getDatabase());
    v.put("checks.simulate_unreachable", new TreeSet<>(k.getSimulateUnreachable()));
    v.put("checks.kind", k.getKind());
    http(v, "checks.patroni.", k.getPatroni(), false);
    http(v, "checks.http.", k.getHttp(), true);
    v.put("read.max_lag", c.readMaxLagBytes());
    v.put("read.fallback_to_primary", c.readFallbackToPrimary());
    ProxyOptions p = c.proxy();
    v.put("proxy.connect_timeout", p.connectTimeout());
    v.put("proxy.event_loops", p.eventLoops());
    v.put("proxy.connect_wait", p.connectWait());
    v.put("proxy.startup_timeout", p.startupTimeout());
    v.put("proxy.max_client_connections", p.maxClientConnections());
    v.put("proxy.keepalive.idle", p.keepalive().idleSeconds());
    v.put("proxy.keepalive.interval", p.keepalive().intervalSeconds());
    v.put("proxy.keepalive.count", p.keepalive().count());
    v.put("proxy.keepalive.user_timeout", p.keepalive().userTimeout());
    FailoverOptions f = c.failover();
    v.put("failover.mode", f.getMode());
    v.put("failover.rto", f.getRto());
    v.put("failover.max_lag_on_failover", f.getMaxLagOnFailoverBytes());
    v.put("failover.failback_delay", f.getFailbackDelay());
    v.put("failover.auto_failback", f.isAutoFailback());
    v.put("failover.preferred", f.getPreferred());
    v.put("failover.switchover_timeout", f.getSwitchoverTimeout());
    v.put("failover.promote_timeout", f.getPromoteTimeout());
    v.put("failover.incidents_kept", f.getIncidentsKept());
    v.put("failover.hooks.on_failover", f.getOnFailover());
    v.put("failover.hooks.on_fence", f.getOnFence());
    v.put("failover.hooks.on_switchover", f.getOnSwitchover());
    v.put("failover.hooks.timeout", f.getHookTimeout());
    v.put("history.dir", c.history().dir() == null ? null : c.history().dir().toString());
    v.put("history.max_file_size", c.history().maxFileBytes());
    v.put("history.max_files", c.history().maxFiles());
    return v;
  }

  private static void http(Map<String, Object> v, String prefix, HttpCheckOptions h, boolean rolePaths) {
    v.put(prefix + "port", h.port());
    v.put(prefix + "scheme", h.https() ? "https" : "http");
    v.put(prefix + "cafile", h.cafile() == null ? null : h.cafile().toString());
    v.put(prefix + "certfile", h.certfile() == null ? null : h.certfile().toString());
    v.put(prefix + "keyfile", h.keyfile() == null ? null : h.keyfile().toString());
    v.put(prefix + "verify", h.verify());
    v.put(prefix + "user", h.user());
    v.put(prefix + "password", h.password());
    if (rolePaths) {
      v.put(prefix + "primary_path", h.primaryPath());
      v.put(prefix + "replica_path", h.replicaPath());
    }
  }

  private static Map<String, Effect> keys() {
    Set<String> restart = Set.of("listeners.write", "listeners.read", "listeners.http", "admin.audit_kept",
        "cluster.enabled", "cluster.size", "cluster.name", "cluster.hazelcast", "cluster.lease", "presence.enabled",
        "presence.heartbeat", "resolver.servers", "resolver.timeout", "proxy.event_loops", "failover.incidents_kept",
        "history.dir", "history.max_file_size", "history.max_files", "shutdown.announce", "shutdown.grace",
        "listeners.http_tls.cert", "listeners.http_tls.key");
    Map<String, Effect> out = new LinkedHashMap<>();
    CutoverConfig any = new CutoverConfig(ListenAddress.parse(CutoverConfig.DEFAULT_WRITE),
        ListenAddress.parse(CutoverConfig.DEFAULT_READ), List.of(new Target("t", "h", 1)), new CheckOptions(), -1, true,
        ProxyOptions.defaults(), ResolverOptions.defaults(), new FailoverOptions(),
        ListenAddress.parse(CutoverConfig.DEFAULT_HTTP), null, CutoverConfig.DEFAULT_AUDIT_KEPT,
        new CutoverConfig.Cluster(false, 3, "cutover", java.nio.file.Path.of("h"), CutoverConfig.Cluster.DEFAULT_LEASE),
        CutoverConfig.History.OFF, new io.cutover.monitor.Presence.Options(true, io.cutover.monitor.Presence.DEFAULT_HEARTBEAT),
        ShutdownOptions.defaults(), null);
    values(any).keySet().forEach(k -> out.put(k, restart.contains(k) ? Effect.RESTART : Effect.LIVE));
    return Collections.unmodifiableMap(out);
  }

  private static Map<String, Target> byName(List<Target> targets) {
    Map<String, Target> out = new LinkedHashMap<>();
    targets.forEach(t -> out.put(t.name(), t));
    return out;
  }
}
