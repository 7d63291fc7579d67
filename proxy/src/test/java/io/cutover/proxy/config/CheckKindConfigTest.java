package io.cutover.proxy.config;

import io.cutover.monitor.CheckKind;
import io.cutover.monitor.CheckOptions;
import io.cutover.monitor.FailoverOptions;
import io.cutover.monitor.HttpCheckOptions;
import io.cutover.proxy.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.cutover.proxy.config.ConfigLoaderTest.TARGETS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code checks.kind}, {@code checks.patroni}, {@code checks.http}, {@code targets[].check} and what they imply. */
class CheckKindConfigTest {

  private static CutoverConfig ok(String yaml) {
    return ok(yaml, Map.of());
  }

  private static CutoverConfig ok(String yaml, Map<String, String> env) {
    ConfigLoader.Result r = ConfigLoader.parse("test.yaml", yaml, env);
    assertTrue(r.ok(), r.problems().toString());
    return r.config();
  }

  private static List<String> problems(String yaml) {
    ConfigLoader.Result r = ConfigLoader.parse("test.yaml", yaml, Map.of());
    assertFalse(r.ok(), "expected problems for:\n" + yaml);
    return r.problems();
  }

  @Test
  void sqlChecksAndAutoFailoverByDefault() {
    CutoverConfig c = ok(TARGETS);
    assertEquals(CheckKind.SQL, c.checks().getKind());
    assertEquals(CheckKind.SQL, c.checks().kindOf("pg1"));
    assertEquals(FailoverOptions.Mode.AUTO, c.failover().getMode());
    assertEquals(HttpCheckOptions.DEFAULTS, c.checks().getPatroni());
    assertEquals(HttpCheckOptions.DEFAULTS, c.checks().getHttp());
    assertEquals(Map.of(), c.checks().getTargetChecks());
    assertEquals("sql", c.toJson().getJsonObject("checks").getString("kind"));
    assertFalse(c.toJson().getJsonObject("checks").containsKey("patroni"), "only shown when used");
  }

  @Test
  void patroniChecksDefaultToPort8008AndFollowMode() {
    CutoverConfig c = ok(TARGETS + "checks: {kind: patroni}\n");
    assertEquals(CheckKind.PATRONI, c.checks().kindOf("pg2"));
    assertEquals(8008, c.checks().httpPortOf("pg2"));
    assertFalse(c.checks().getPatroni().https());
    assertTrue(c.checks().getPatroni().verify());
    assertNull(c.checks().getPatroni().user());
    assertEquals(FailoverOptions.Mode.FOLLOW, c.failover().getMode(), "Patroni is the failover authority");
    assertEquals(1, problems(TARGETS + "checks: {kind: patroni}\nfailover: {mode: manual}\n").size(),
        "manual would let an operator's failover through Cutover promote behind Patroni's back");
    assertEquals(FailoverOptions.Mode.FOLLOW, ok(TARGETS + "checks: {kind: PATRONI}\nfailover: {mode: follow}\n")
        .failover().getMode());
  }

  @Test
  void everyPatroniAndHttpKeyIsRead(@TempDir Path dir) throws IOException {
    Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
    Path cert = Files.writeString(dir.resolve("cert.pem"), "x");
    Path key = Files.writeString(dir.resolve("key.pem"), "x");
    CutoverConfig c = ok(TARGETS + """
        checks:
          kind: http
          patroni: {port: 8009, scheme: https, cafile: %s, certfile: %s, keyfile: %s, verify: false, user: u, password: pw}
          http: {port: 8010, primary_path: /read-write, replica_path: "/replica?lag=16MB&tag_dc=a", user: v, password: pw2}
        """.formatted(ca, cert, key));
    assertEquals(CheckKind.HTTP, c.checks().getKind());
    assertEquals(new HttpCheckOptions(8009, true, ca, cert, key, false, "u", "pw", "/primary", "/replica"),
        c.checks().getPatroni());
    assertEquals(new HttpCheckOptions(8010, false, null, null, null, true, "v", "pw2", "/read-write",
        "/replica?lag=16MB&tag_dc=a"), c.checks().getHttp());
    assertEquals(8010, c.checks().httpPortOf("pg1"));
    assertEquals(FailoverOptions.Mode.FOLLOW, c.failover().getMode(), "an http check cannot see WAL positions either");
    String printed = c.toJson().encode();
    assertFalse(printed.contains("pw"), "no password is printed: " + printed);
    assertTrue(printed.contains("\"replica_path\":\"/replica?lag=16MB&tag_dc=a\""), printed);
  }

  @Test
  void aTargetMayHaveItsOwnKindAndPort() {
    CutoverConfig c = ok("""
        targets:
          - {name: pg1, host: 127.0.0.1, port: 25432, check: {kind: patroni, port: 28008}}
          - {name: pg2, host: 127.0.0.1, port: 25433, check: {port: 28009}}
          - {name: pg3, host: 127.0.0.1, port: 25434, check: {kind: http}}
          - {name: pg4, host: 127.0.0.1, port: 25435, check: {kind: sql}}
          - {name: pg5, host: 127.0.0.1, port: 25436}
        checks: {kind: patroni, http: {port: 9000}}
        """);
    CheckOptions k = c.checks();
    assertEquals(CheckKind.PATRONI, k.kindOf("pg1"));
    assertEquals(28008, k.httpPortOf("pg1"));
    assertEquals(CheckKind.PATRONI, k.kindOf("pg2"), "checks.kind applies to a check without a kind");
    assertEquals(28009, k.httpPortOf("pg2"));
    assertEquals(CheckKind.HTTP, k.kindOf("pg3"));
    assertEquals(9000, k.httpPortOf("pg3"), "the kind's port");
    assertEquals(CheckKind.SQL, k.kindOf("pg4"));
    assertEquals(CheckKind.PATRONI, k.kindOf("pg5"));
    assertEquals(8008, k.httpPortOf("pg5"));
    assertEquals(Map.of("pg1", new CheckOptions.TargetCheck(CheckKind.PATRONI, 28008),
        "pg2", new CheckOptions.TargetCheck(CheckKind.PATRONI, 28009), "pg3", new CheckOptions.TargetCheck(CheckKind.HTTP, -1),
        "pg4", new CheckOptions.TargetCheck(CheckKind.SQL, -1)), k.getTargetChecks());
    assertEquals(25432, c.targets().get(0).port(), "the target's own port stays PostgreSQL's");
    assertEquals(FailoverOptions.Mode.FOLLOW, c.failover().getMode());
    assertEquals(28008, c.toJson().getJsonObject("checks").getJsonObject("targets").getJsonObject("pg1").getInteger("port"));
  }

  @Test
  void oneTargetCheckedThroughPatroniIsEnoughForFollowByDefault() {
    CutoverConfig c = ok("""
        targets:
          - {name: pg1, host: 127.0.0.1, port: 25432}
          - {name: pg2, host: 127.0.0.1, port: 25433, check: {kind: patroni}}
        """);
    assertEquals(FailoverOptions.Mode.FOLLOW, c.failover().getMode());
  }

  @Test
  void autoFailoverWithPatroniOrHttpChecksIsOneProblem() {
    assertEquals(List.of("failover.mode: must be follow (the default with these checks) when targets are checked over "
            + "patroni or http (pg1, pg2): the cluster manager behind them promotes, and a second failover authority (auto, "
            + "or an operator's failover through Cutover in manual) could split the cluster (got 'auto')"),
        problems(TARGETS + "checks: {kind: patroni}\nfailover: {mode: auto}\n"));
    assertEquals(List.of("failover.mode: must be follow (the default with these checks) when targets are checked over "
            + "patroni or http (pg2): the cluster manager behind them promotes, and a second failover authority (auto, "
            + "or an operator's failover through Cutover in manual) could split the cluster (got 'auto')"),
        problems("""
            targets:
              - {name: pg1, host: 127.0.0.1, port: 25432}
              - {name: pg2, host: 127.0.0.1, port: 25433, check: {kind: http}}
            failover: {mode: auto}
            """));
    ConfigLoader.Result env = ConfigLoader.parse("test.yaml", TARGETS + "checks: {kind: patroni}\n",
        Map.of("CUTOVER_FAILOVER__MODE", "auto"));
    assertEquals(1, env.problems().size(), env.problems().toString());
    assertTrue(env.problems().get(0).startsWith("CUTOVER_FAILOVER__MODE (failover.mode): must be follow"), env.problems().toString());
  }

  @Test
  void readMaxLagCannotApplyToHttpChecks() {
    assertEquals(List.of("read.max_lag: cannot be applied to targets checked over http (pg1, pg2), which report no WAL "
            + "positions: put the limit in the replica path instead (checks.http.replica_path, e.g. /replica?lag=16MB) "
            + "(got '16MB')"),
        problems(TARGETS + "checks: {kind: http}\nread: {max_lag: 16MB}\n"));
    assertEquals(16L << 20, ok(TARGETS + "checks: {kind: patroni}\nread: {max_lag: 16MB}\n").readMaxLagBytes(),
        "Patroni reports WAL positions");
    assertEquals(-1, ok(TARGETS + "checks: {kind: http}\nread: {max_lag: off}\n").readMaxLagBytes());
  }

  @Test
  void badValuesAreOneLineEach(@TempDir Path dir) throws IOException {
    assertEquals(List.of("checks.kind: must be sql, patroni or http (got 'consul')"),
        problems(TARGETS + "checks: {kind: consul}\n"));
    assertEquals(List.of(
            "checks.patroni.port: must be between 1 and 65535 (got 0)",
            "checks.patroni.scheme: must be http or https (got 'ftp')",
            "checks.patroni.cafile: needs checks.patroni.scheme: https (got '/etc/ca.pem')",
            "checks.patroni.verify: must be true or false (got 'sometimes')",
            "checks.patroni.user: needs checks.patroni.password too (basic authentication)",
            "checks.patroni.primary_path: unknown key"),
        problems(TARGETS + "checks: {kind: patroni, patroni: {port: 0, scheme: ftp, cafile: /etc/ca.pem, verify: sometimes,"
            + " user: u, primary_path: /x}}\n"));
    Path missing = dir.resolve("none.pem");
    Path key = Files.writeString(dir.resolve("key.pem"), "x");
    assertEquals(List.of(
            "checks.http.cafile: not a readable file (got '" + missing + "')",
            "checks.http.keyfile: needs checks.http.certfile too",
            "checks.http.password: needs checks.http.user too (basic authentication)",
            "checks.http.primary_path: must be a path starting with '/', optionally with a query (e.g. /replica?lag=16MB) "
                + "(got 'primary')",
            "checks.http.replica_path: must be a path starting with '/', optionally with a query (e.g. /replica?lag=16MB) "
                + "(got '/a b')",
            "checks.http.timeout: unknown key"),
        problems(TARGETS + "checks: {kind: http, http: {scheme: https, cafile: " + missing
            + ", keyfile: " + key + ", password: p, primary_path: primary, replica_path: '/a b', timeout: 1s}}\n"));
    assertEquals(List.of("checks.http.certfile: not a readable file (got '" + dir + "')"),
        problems(TARGETS + "checks: {http: {scheme: https, certfile: " + dir + ", keyfile: " + key + "}}\n"));
    assertEquals(List.of("checks.patroni: must be a mapping of keys to values (got 8008)"),
        problems(TARGETS + "checks: {patroni: 8008}\n"));
  }

  @Test
  void badTargetChecksAreOneLineEach() {
    assertEquals(List.of(
            "targets[0].check.kind: must be sql, patroni or http (got 'etcd')",
            "targets[1].check.port: must be between 1 and 65535 (got 70000)",
            "targets[1].check.host: unknown key",
            "targets[2].check: must be a mapping of keys to values (got 'patroni')",
            "targets[3].check.port: only patroni and http checks have a port of their own (an sql check uses the "
                + "target's port) (got 8008)"),
        problems("""
            targets:
              - {name: pg1, host: 127.0.0.1, port: 25432, check: {kind: etcd}}
              - {name: pg2, host: 127.0.0.1, port: 25433, check: {kind: patroni, port: 70000, host: x}}
              - {name: pg3, host: 127.0.0.1, port: 25434, check: patroni}
              - {name: pg4, host: 127.0.0.1, port: 25435, check: {port: 8008}}
            failover: {mode: follow}
            """));
  }

  @Test
  void thePatroniPasswordComesFromTheEnvironmentAndIsBlamedOnItsVariable() {
    CutoverConfig c = ok(TARGETS + "checks: {kind: patroni, patroni: {user: cutover}}\n",
        Map.of("CUTOVER_CHECKS__PATRONI__PASSWORD", "s3cret"));
    assertEquals("s3cret", c.checks().getPatroni().password());
    assertFalse(c.toJson().encode().contains("s3cret"));
    ConfigLoader.Result r = ConfigLoader.parse("test.yaml", TARGETS, Map.of("CUTOVER_CHECKS__PATRONI__PORT", "x"));
    assertEquals(List.of("CUTOVER_CHECKS__PATRONI__PORT (checks.patroni.port): must be an integer (got 'x')"), r.problems());
  }

  @Test
  void theShippedPatroniExampleIsValid() {
    Path example = io.cutover.monitor.PgCluster.projectRoot().resolve("cluster-config/cutover-patroni.yaml");
    ConfigLoader.Result r = ConfigLoader.load(example, Map.of());
    assertTrue(r.ok(), r.problems().toString());
    CheckOptions k = r.config().checks();
    assertEquals(List.of(28008, 28009, 28010), r.config().targets().stream().map(t -> k.httpPortOf(t.name())).toList());
    assertTrue(r.config().targets().stream().allMatch(t -> k.kindOf(t.name()) == CheckKind.PATRONI));
    assertEquals(FailoverOptions.Mode.FOLLOW, r.config().failover().getMode());
  }

  @Test
  void patroniWithAutoFailoverExitsWithTwoAndOneLine(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("patroni.yaml"), TARGETS + "checks: {kind: patroni}\nfailover: {mode: auto}\n");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(new String[] {"--config", file.toString()}, Map.of(), new PrintWriter(out, true),
        new PrintWriter(err, true));
    assertEquals(2, code);
    List<String> lines = err.toString().lines().toList();
    assertEquals(1, lines.size(), err.toString());
    assertTrue(lines.get(0).startsWith("cutover: invalid configuration in " + file + ": failover.mode: must be follow"),
        lines.get(0));
  }
}
