package io.cutover.proxy.config;

import io.cutover.monitor.CheckOptions;
import io.cutover.monitor.FailoverOptions;
import io.cutover.monitor.HttpCheckOptions;
import io.cutover.monitor.Presence;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every key of the configuration, changed alone: {@link ConfigChange} names exactly that key, classifies it as this
 * test expects (the restart list here is written out independently), and {@link ConfigChange#effective()} keeps the
 * running value of a restart-only key and takes the new value of every other. Plus target changes and combinations.
 */
class ConfigChangeTest {

  static final String TARGETS = """
      targets:
        - {name: pg1, host: 127.0.0.1, port: 15432}
        - {name: pg2, host: 127.0.0.1, port: 15433}
        - {name: pg3, host: 127.0.0.1, port: 15434}
      """;

  /** What needs a restart, as documented in the README's "Reload". */
  static final Set<String> RESTART = Set.of("listeners.write", "listeners.read", "listeners.http",
      "listeners.http_tls.cert", "listeners.http_tls.key", "shutdown.announce", "shutdown.grace", "admin.audit_kept",
      "cluster.enabled", "cluster.size", "cluster.name", "cluster.hazelcast", "cluster.lease", "presence.enabled",
      "presence.heartbeat", "resolver.servers", "resolver.timeout", "proxy.event_loops", "failover.incidents_kept",
      "history.dir", "history.max_file_size", "history.max_files");

  @TempDir
  static Path dir;
  static String fileA;
  static String fileB;
  static String key1;
  static String key2;
  static String tlsCert;
  static String tlsCertCopy;
  static String tlsKey;
  static String tlsKeyCopy;

  @BeforeAll
  static void files() throws IOException {
    fileA = Files.writeString(dir.resolve("a.pem"), "a").toString();
    fileB = Files.writeString(dir.resolve("b.pem"), "b").toString();
    key1 = Files.writeString(dir.resolve("k1.pem"), "k1").toString();
    key2 = Files.writeString(dir.resolve("k2.pem"), "k2").toString();
    // listeners.http_tls is checked when read: a real pair, and copies at other paths (the same certificate and key)
    try {
      TestCertificates.Pair tls = TestCertificates.create(dir, "tls", "cutover-reload", 1, true);
      tlsCert = tls.cert().toString();
      tlsKey = tls.key().toString();
    } catch (Exception e) {
      throw new IOException(e);
    }
    tlsCertCopy = Files.copy(Path.of(tlsCert), dir.resolve("tls-copy.crt")).toString();
    tlsKeyCopy = Files.copy(Path.of(tlsKey), dir.resolve("tls-copy.key")).toString();
  }

  /** key → {YAML before, YAML after}, both appended to {@link #TARGETS}. */
  static Map<String, String[]> cases() {
    Map<String, String[]> c = new LinkedHashMap<>();
    c.put("listeners.write", of("", "listeners: {write: '127.0.0.1:7432'}"));
    c.put("listeners.read", of("", "listeners: {read: '127.0.0.1:7433'}"));
    c.put("listeners.http", of("", "listeners: {http: '127.0.0.1:9999'}"));
    c.put("listeners.http_tls.cert", of("listeners: {http_tls: {cert: '" + tlsCert + "', key: '" + tlsKey + "'}}",
        "listeners: {http_tls: {cert: '" + tlsCertCopy + "', key: '" + tlsKey + "'}}"));
    c.put("listeners.http_tls.key", of("listeners: {http_tls: {cert: '" + tlsCert + "', key: '" + tlsKey + "'}}",
        "listeners: {http_tls: {cert: '" + tlsCert + "', key: '" + tlsKeyCopy + "'}}"));
    c.put("shutdown.announce", of("", "shutdown: {announce: 1s}"));
    c.put("shutdown.grace", of("", "shutdown: {grace: 5s}"));
    c.put("admin.token", of("admin: {token: aaaaaaaaaaaaaaaa1}", "admin: {token: bbbbbbbbbbbbbbbb2}"));
    c.put("admin.audit_kept", of("", "admin: {audit_kept: 10}"));
    c.put("cluster.enabled", of("", "cluster: {enabled: true}"));
    c.put("cluster.size", of("", "cluster: {size: 5}"));
    c.put("cluster.name", of("", "cluster: {name: other}"));
    c.put("cluster.hazelcast", of("", "cluster: {hazelcast: other.yaml}"));
    c.put("cluster.lease", of("", "cluster: {lease: 2s}"));
    c.put("presence.enabled", of("", "presence: {enabled: false}"));
    c.put("presence.heartbeat", of("", "presence: {heartbeat: 5s}"));
    c.put("resolver.servers", of("", "resolver: {servers: ['10.0.0.2']}"));
    c.put("resolver.timeout", of("", "resolver: {timeout: 1s}"));
    c.put("checks.interval", of("", "checks: {interval: 2s}"));
    c.put("checks.fastinter", of("", "checks: {fastinter: 100ms}"));
    c.put("checks.timeout", of("", "checks: {timeout: 2s}"));
    c.put("checks.fall", of("", "checks: {fall: 5}"));
    c.put("checks.rise", of("", "checks: {rise: 3}"));
    c.put("checks.user", of("", "checks: {user: monitor}"));
    c.put("checks.password", of("", "checks: {password: secret}"));
    c.put("checks.database", of("", "checks: {database: other}"));
    c.put("checks.simulate_unreachable", of("", "checks: {simulate_unreachable: [pg3]}"));
    c.put("checks.kind", of("failover: {mode: follow}", "checks: {kind: patroni}\nfailover: {mode: follow}"));
    for (String kind : List.of("patroni", "http")) {
      String p = "checks." + kind + ".";
      String https = "checks: {" + kind + ": {scheme: https, ";
      c.put(p + "port", of("", "checks: {" + kind + ": {port: 8009}}"));
      c.put(p + "scheme", of("", "checks: {" + kind + ": {scheme: https}}"));
      c.put(p + "cafile", of(https + "cafile: '" + fileA + "'}}", https + "cafile: '" + fileB + "'}}"));
      c.put(p + "certfile", of(https + "certfile: '" + fileA + "', keyfile: '" + key1 + "'}}",
          https + "certfile: '" + fileB + "', keyfile: '" + key1 + "'}}"));
      c.put(p + "keyfile", of(https + "certfile: '" + fileA + "', keyfile: '" + key1 + "'}}",
          https + "certfile: '" + fileA + "', keyfile: '" + key2 + "'}}"));
      c.put(p + "verify", of("", "checks: {" + kind + ": {verify: false}}"));
      c.put(p + "user", of("checks: {" + kind + ": {user: u, password: p}}", "checks: {" + kind + ": {user: u2, password: p}}"));
      c.put(p + "password", of("checks: {" + kind + ": {user: u, password: p}}", "checks: {" + kind + ": {user: u, password: p2}}"));
    }
    c.put("checks.http.primary_path", of("", "checks: {http: {primary_path: /leader}}"));
    c.put("checks.http.replica_path", of("", "checks: {http: {replica_path: '/replica?lag=1MB'}}"));
    c.put("read.max_lag", of("", "read: {max_lag: 16MB}"));
    c.put("read.fallback_to_primary", of("", "read: {fallback_to_primary: false}"));
    c.put("proxy.connect_timeout", of("", "proxy: {connect_timeout: 3s}"));
    c.put("proxy.event_loops", of("proxy: {event_loops: 13}", "proxy: {event_loops: 14}"));
    c.put("proxy.connect_wait", of("", "proxy: {connect_wait: 1s}"));
    c.put("proxy.startup_timeout", of("", "proxy: {startup_timeout: 5s}"));
    c.put("proxy.max_client_connections", of("", "proxy: {max_client_connections: 10}"));
    c.put("proxy.keepalive.idle", of("", "proxy: {keepalive: {idle: 60s}}"));
    c.put("proxy.keepalive.interval", of("", "proxy: {keepalive: {interval: 5s}}"));
    c.put("proxy.keepalive.count", of("", "proxy: {keepalive: {count: 5}}"));
    c.put("proxy.keepalive.user_timeout", of("", "proxy: {keepalive: {user_timeout: 30s}}"));
    c.put("failover.mode", of("", "failover: {mode: manual}"));
    c.put("failover.rto", of("", "failover: {rto: 20s}"));
    c.put("failover.max_lag_on_failover", of("", "failover: {max_lag_on_failover: 'off'}"));
    c.put("failover.failback_delay", of("", "failover: {failback_delay: 10s}"));
    c.put("failover.auto_failback", of("failover: {preferred: pg1}", "failover: {preferred: pg1, auto_failback: true}"));
    c.put("failover.preferred", of("", "failover: {preferred: pg2}"));
    c.put("failover.switchover_timeout", of("", "failover: {switchover_timeout: 20s}"));
    c.put("failover.promote_timeout", of("", "failover: {promote_timeout: 20s}"));
    c.put("failover.incidents_kept", of("", "failover: {incidents_kept: 10}"));
    c.put("failover.hooks.on_failover", of("", "failover: {hooks: {on_failover: 'echo failover'}}"));
    c.put("failover.hooks.on_fence", of("", "failover: {hooks: {on_fence: 'echo fence'}}"));
    c.put("failover.hooks.on_switchover", of("", "failover: {hooks: {on_switchover: 'echo switchover'}}"));
    c.put("failover.hooks.timeout", of("", "failover: {hooks: {timeout: 5s}}"));
    c.put("history.dir", of("", "history: {dir: /tmp/cutover-history}"));
    c.put("history.max_file_size", of("", "history: {max_file_size: 1MB}"));
    c.put("history.max_files", of("", "history: {max_files: 3}"));
    return c;
  }

  private static String[] of(String before, String after) {
    return new String[] {before, after};
  }

  static CutoverConfig parse(String yaml) {
    ConfigLoader.Result r = ConfigLoader.parse("test.yaml", yaml, Map.of());
    assertTrue(r.ok(), r.problems() + " in:\n" + yaml);
    return r.config();
  }

  @Test
  void everyKeyHasACase() {
    assertEquals(new TreeSet<>(ConfigChange.KEYS.keySet()), new TreeSet<>(cases().keySet()));
    assertTrue(ConfigChange.KEYS.keySet().containsAll(RESTART), "every restart key is a key");
  }

  @Test
  void everyKeyChangedAloneIsNamedClassifiedAndTakenOrKept() {
    List<String> failures = new ArrayList<>();
    cases().forEach((key, yaml) -> {
      CutoverConfig before = parse(TARGETS + yaml[0]);
      CutoverConfig after = parse(TARGETS + yaml[1]);
      ConfigChange change = ConfigChange.of(before, after);
      boolean restart = RESTART.contains(key);
      if (!change.changed().equals(List.of(key))) {
        failures.add(key + ": changed " + change.changed());
        return;
      }
      if (!(restart ? change.restart() : change.live()).equals(List.of(key))
          || !(restart ? change.live() : change.restart()).isEmpty()) {
        failures.add(key + ": live " + change.live() + ", restart " + change.restart());
      }
      Map<String, Object> effective = ConfigChange.values(change.effective());
      Map<String, Object> expected = new LinkedHashMap<>(ConfigChange.values(after));
      expected.put(key, ConfigChange.values(restart ? before : after).get(key));
      if (!effective.equals(expected)) {
        failures.add(key + ": effective " + diff(expected, effective));
      }
      if (!ConfigChange.of(after, after).isEmpty()) {
        failures.add(key + ": the same configuration twice is a change");
      }
      if (change.effective().targets() != after.targets() || !change.added().isEmpty() || !change.removed().isEmpty()
          || !change.readdressed().isEmpty()) {
        failures.add(key + ": targets touched");
      }
    });
    assertEquals(List.of(), failures);
  }

  private static String diff(Map<String, Object> expected, Map<String, Object> actual) {
    List<String> out = new ArrayList<>();
    expected.forEach((k, v) -> {
      if (!java.util.Objects.equals(v, actual.get(k))) {
        out.add(k + " expected " + v + " got " + actual.get(k));
      }
    });
    return out.toString();
  }

  /**
   * The keys cover every setting the configuration classes hold: a new field or record component fails here until
   * {@link ConfigChange} knows its key.
   */
  @Test
  void theKeysCoverEverySettingOfTheConfigurationClasses() {
    assertEquals(17, CutoverConfig.class.getRecordComponents().length,
        "listeners (3), targets, checks, read (2), proxy, resolver, failover, admin (2), cluster, history, presence, "
            + "shutdown, http_tls");
    assertEquals(ShutdownOptions.class.getRecordComponents().length, count("shutdown."));
    assertEquals(HttpTlsOptions.class.getRecordComponents().length, count("listeners.http_tls."));
    assertEquals(ProxyOptions.class.getRecordComponents().length, count("proxy.") - count("proxy.keepalive.") + 1);
    assertEquals(KeepaliveOptions.class.getRecordComponents().length, count("proxy.keepalive."));
    assertEquals(ResolverOptions.class.getRecordComponents().length, count("resolver."));
    assertEquals(CutoverConfig.Cluster.class.getRecordComponents().length, count("cluster."));
    assertEquals(CutoverConfig.History.class.getRecordComponents().length, count("history."));
    assertEquals(Presence.Options.class.getRecordComponents().length, count("presence."));
    assertEquals(HttpCheckOptions.class.getRecordComponents().length, count("checks.http."));
    assertEquals(HttpCheckOptions.class.getRecordComponents().length - 2, count("checks.patroni."), "no role paths");
    // checks.*: its own keys, the patroni and http sections, and targets[].check (targetChecks)
    assertEquals(fields(CheckOptions.class), count("checks.") - count("checks.patroni.") - count("checks.http.") + 3);
    assertEquals(fields(FailoverOptions.class), count("failover."));
  }

  private static long count(String prefix) {
    return ConfigChange.KEYS.keySet().stream().filter(k -> k.startsWith(prefix)).count();
  }

  private static long fields(Class<?> type) {
    return Arrays.stream(type.getDeclaredFields()).filter(f -> !Modifier.isStatic(f.getModifiers())).count();
  }

  @Test
  void aRemovedTargetIsNamedAndApplies() {
    ConfigChange c = ConfigChange.of(parse(TARGETS), parse(TARGETS.replace("  - {name: pg3, host: 127.0.0.1, port: 15434}\n", "")));
    assertEquals(List.of("targets[pg3]"), c.changed());
    assertEquals(List.of("targets[pg3]"), c.live());
    assertEquals(Set.of("pg3"), c.removed());
    assertEquals(List.of("pg1", "pg2"), c.effective().targets().stream().map(io.cutover.monitor.Target::name).toList());
  }

  @Test
  void anAddedTargetIsNamedAndApplies() {
    ConfigChange c = ConfigChange.of(parse(TARGETS), parse(TARGETS + "  - {name: pg4, host: 127.0.0.1, port: 15435}\n"));
    assertEquals(List.of("targets[pg4]"), c.changed());
    assertEquals(Set.of("pg4"), c.added());
    assertTrue(c.removed().isEmpty() && c.readdressed().isEmpty());
  }

  @Test
  void aNewHostOrPortReaddressesTheTarget() {
    ConfigChange host = ConfigChange.of(parse(TARGETS), parse(TARGETS.replace("{name: pg3, host: 127.0.0.1", "{name: pg3, host: db3.example")));
    assertEquals(List.of("targets[pg3].host"), host.changed());
    assertEquals(Set.of("pg3"), host.readdressed());
    ConfigChange port = ConfigChange.of(parse(TARGETS), parse(TARGETS.replace("port: 15434", "port: 25434")));
    assertEquals(List.of("targets[pg3].port"), port.changed());
    assertEquals(Set.of("pg3"), port.readdressed());
    ConfigChange both = ConfigChange.of(parse(TARGETS), parse(TARGETS.replace("127.0.0.1, port: 15434", "db3, port: 5432")));
    assertEquals(List.of("targets[pg3].host", "targets[pg3].port"), both.changed());
    assertEquals(List.of("targets[pg3].host", "targets[pg3].port"), both.live());
  }

  @Test
  void aTargetsOwnCheckIsAChangeButNoNewAddress() {
    String follow = "failover: {mode: follow}\n";
    CutoverConfig before = parse(TARGETS.replace("port: 15434}", "port: 15434, check: {kind: patroni, port: 8008}}") + follow);
    CutoverConfig after = parse(TARGETS.replace("port: 15434}", "port: 15434, check: {kind: patroni, port: 8010}}") + follow);
    ConfigChange c = ConfigChange.of(before, after);
    assertEquals(List.of("targets[pg3].check"), c.changed());
    assertEquals(Set.of("pg3"), c.checkChanged());
    assertTrue(c.readdressed().isEmpty());
    ConfigChange gone = ConfigChange.of(before, parse(TARGETS + follow));
    assertEquals(List.of("targets[pg3].check"), gone.changed(), "back to checks.kind");
  }

  @Test
  void anotherOrderOfTheSameTargetsIsAChange() {
    String reordered = """
        targets:
          - {name: pg2, host: 127.0.0.1, port: 15433}
          - {name: pg1, host: 127.0.0.1, port: 15432}
          - {name: pg3, host: 127.0.0.1, port: 15434}
        """;
    ConfigChange c = ConfigChange.of(parse(TARGETS), parse(reordered));
    assertEquals(List.of("targets"), c.changed());
    assertEquals(List.of("targets"), c.live());
    ConfigChange onlyAdded = ConfigChange.of(parse(TARGETS), parse(reordered.replace("  - {name: pg1, host: 127.0.0.1, port: 15432}\n", "")
        + "  - {name: pg1, host: 127.0.0.1, port: 15432}\n"));
    assertEquals(List.of("targets"), onlyAdded.changed(), "pg2, pg3, pg1: the order of the kept ones changed");
  }

  @Test
  void manyChangesAtOnceAreSplitIntoLiveAndRestart() {
    CutoverConfig before = parse(TARGETS + "admin: {token: aaaaaaaaaaaaaaaa1}\n");
    CutoverConfig after = parse("""
        targets:
          - {name: pg1, host: 127.0.0.1, port: 15432}
          - {name: pg3, host: 127.0.0.1, port: 25434}
          - {name: pg4, host: 127.0.0.1, port: 15435}
        admin: {token: bbbbbbbbbbbbbbbb2, audit_kept: 5}
        checks: {fall: 5}
        listeners: {http: '127.0.0.1:9999'}
        proxy: {connect_wait: 1s}
        """);
    ConfigChange c = ConfigChange.of(before, after);
    assertEquals(List.of("targets[pg3].port", "targets[pg2]", "targets[pg4]", "listeners.http", "admin.token",
        "admin.audit_kept", "checks.fall", "proxy.connect_wait"), c.changed());
    assertEquals(List.of("listeners.http", "admin.audit_kept"), c.restart());
    assertEquals(List.of("targets[pg3].port", "targets[pg2]", "targets[pg4]", "admin.token", "checks.fall",
        "proxy.connect_wait"), c.live());
    assertEquals(Set.of("pg2"), c.removed());
    assertEquals(Set.of("pg4"), c.added());
    assertEquals(Set.of("pg3"), c.readdressed());
    CutoverConfig e = c.effective();
    assertEquals(before.http(), e.http(), "listeners.http keeps its running value");
    assertEquals(before.auditKept(), e.auditKept());
    assertEquals("bbbbbbbbbbbbbbbb2", e.adminToken());
    assertEquals(5, e.checks().getFall());
    assertEquals(after.targets(), e.targets());
    ConfigChange again = ConfigChange.of(e, after);
    assertEquals(List.of("listeners.http", "admin.audit_kept"), again.changed(),
        "the next reload names the restart keys again until a restart");
  }

  @Test
  void aClusterFlagAppliedToBothIsNoChange() {
    CutoverConfig c = parse(TARGETS);
    assertTrue(ConfigChange.of(c.withCluster(true), parse(TARGETS).withCluster(true)).isEmpty());
    assertEquals(List.of("cluster.enabled"), ConfigChange.of(c.withCluster(true), parse(TARGETS)).changed());
  }
}
