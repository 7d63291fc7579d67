package io.cutover.monitor;

import io.vertx.core.Vertx;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.SelfSignedCertificate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code patroni} and {@code http} checks over real HTTP: against a Vert.x server answering Patroni's shapes and
 * role statuses ({@link HttpPeer}), a closed port, a server that never answers or never finishes, TLS and basic
 * authentication.
 */
class HttpChecksIntegrationTest {

  /** checks.timeout where an answer is expected: generous, the first requests of a JVM on a busy machine are slow. */
  private static final long TIMEOUT_MS = 3000;
  /** checks.timeout where no answer comes in time. */
  private static final long SHORT_MS = 300;
  /** Slack for a timeout's own timer on a busy machine. */
  private static final long SLACK_MS = 3000;
  private static Vertx vertx;
  private HttpPeer peer;
  private Check check;

  @BeforeAll
  static void startVertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stopVertx() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @BeforeEach
  void startPeer() throws Exception {
    peer = new HttpPeer(vertx);
  }

  @AfterEach
  void stop() throws Exception {
    if (check != null) {
      check.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    peer.close();
  }

  private static CheckOptions options(CheckKind kind) {
    return new CheckOptions().setKind(kind).setTimeout(Duration.ofMillis(TIMEOUT_MS));
  }

  private static CheckOptions shortOptions(CheckKind kind) {
    return new CheckOptions().setKind(kind).setTimeout(Duration.ofMillis(SHORT_MS));
  }

  private Observation run(Check c, Target t) throws Exception {
    check = c;
    return c.check(t).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private Observation patroni(HttpCheckOptions http) throws Exception {
    return patroni(options(CheckKind.PATRONI).setPatroni(http));
  }

  private Observation patroni(CheckOptions o) throws Exception {
    return run(new PatroniCheck(vertx, o, Clock.systemUTC()), new Target("pg1", "127.0.0.1", 25432));
  }

  private HttpCheckOptions patroniAt(int port) {
    return withPort(HttpCheckOptions.DEFAULTS, port);
  }

  private static HttpCheckOptions withPort(HttpCheckOptions h, int port) {
    return new HttpCheckOptions(port, h.https(), h.cafile(), h.certfile(), h.keyfile(), h.verify(), h.user(), h.password(),
        h.primaryPath(), h.replicaPath());
  }

  private static int closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Test
  void aPatroniPrimaryAndReplicaAreReadFromGetPatroni() throws Exception {
    peer.answer("/patroni", 200, PatroniStatusTest.PRIMARY_302);
    Observation o = patroni(patroniAt(peer.port()));
    assertTrue(o.ok(), o.error());
    assertEquals(Role.PRIMARY, o.role());
    assertEquals(2, o.timeline());
    assertEquals(50331968, o.currentLsn());
    assertEquals(new PatroniFlags(false, false), o.patroni());
    assertTrue(o.latencyMillis() >= 0 && o.latencyMillis() < TIMEOUT_MS, "latency " + o.latencyMillis());
    peer.answer("/patroni", 200, PatroniStatusTest.REPLICA_302.replace("\"dcs_last_seen\"", "\"pause\": true, \"dcs_last_seen\""));
    o = patroni(patroniAt(peer.port()));
    assertEquals(Role.REPLICA, o.role());
    assertEquals(50331800, o.replayLsn());
    assertEquals(new PatroniFlags(true, false), o.patroni());
  }

  @Test
  void postgresDownUnderARunningPatroniIsAnErrorWithPatronisState() throws Exception {
    peer.answer("/patroni", 200, PatroniStatusTest.notRunning("stopped", "master"));
    Observation o = patroni(patroniAt(peer.port()));
    assertEquals(FailureKind.ERROR, o.failure());
    assertEquals("Patroni reports state 'stopped'", o.error());
    peer.answer("/patroni", 503, "<html>Service Unavailable</html>");
    assertEquals("GET /patroni answered HTTP 503", patroni(patroniAt(peer.port())).error());
    peer.answer("/patroni", 200, "<html>it works</html>");
    assertEquals("GET /patroni answered with no JSON object: '<html>it works</html>'", patroni(patroniAt(peer.port())).error());
  }

  @Test
  void aRestApiThatIsDownIsRefused() throws Exception {
    Observation o = patroni(patroniAt(closedPort()));
    assertEquals(FailureKind.REFUSED, o.failure());
    assertEquals("GET /patroni: connection refused", o.error());
    assertEquals(Role.UNKNOWN, o.role());
    assertNull(o.patroni(), "nothing is known about the Patroni cluster");
  }

  @Test
  void aRestApiThatNeverAnswersTimesOutWithinTheCheckTimeout() throws Exception {
    peer.answer("/patroni", new HttpPeer.Answer(200, PatroniStatusTest.PRIMARY_302, -1, false));
    long start = System.nanoTime();
    Observation o = patroni(shortOptions(CheckKind.PATRONI).setPatroni(patroniAt(peer.port())));
    long took = (System.nanoTime() - start) / 1_000_000;
    assertEquals(FailureKind.TIMEOUT, o.failure());
    assertEquals("GET /patroni: no answer within 300 ms", o.error());
    assertTrue(took >= SHORT_MS - 20 && took < SHORT_MS + SLACK_MS, "bounded by checks.timeout, took " + took + " ms");
  }

  @Test
  void anAnswerLateByMoreThanTheTimeoutIsATimeoutAndOneInTimeIsNot() throws Exception {
    peer.answer("/patroni", new HttpPeer.Answer(200, PatroniStatusTest.PRIMARY_302, SHORT_MS + 1000, false));
    assertEquals(FailureKind.TIMEOUT, patroni(shortOptions(CheckKind.PATRONI).setPatroni(patroniAt(peer.port()))).failure());
    peer.answer("/patroni", new HttpPeer.Answer(200, PatroniStatusTest.PRIMARY_302, 300, false));
    Observation o = patroni(patroniAt(peer.port()));
    assertTrue(o.ok(), o.error());
    assertTrue(o.latencyMillis() >= 300, "waited for the late answer: " + o.latencyMillis());
  }

  @Test
  void aBodyThatNeverEndsTimesOutAndAnOversizedOneIsAnError() throws Exception {
    peer.answer("/patroni", new HttpPeer.Answer(200, null, 0, true));
    long start = System.nanoTime();
    Observation o = patroni(shortOptions(CheckKind.PATRONI).setPatroni(patroniAt(peer.port())));
    long took = (System.nanoTime() - start) / 1_000_000;
    assertEquals(FailureKind.TIMEOUT, o.failure(), o.error());
    assertTrue(took < SHORT_MS + SLACK_MS, "a dripping body is bounded too, took " + took + " ms");
    peer.answer("/patroni", 200, "{\"state\": \"running\", \"pad\": \"" + "x".repeat(200_000) + "\"}");
    o = patroni(patroniAt(peer.port()));
    assertEquals(FailureKind.ERROR, o.failure());
    assertEquals("GET /patroni: answer larger than 65536 bytes", o.error());
  }

  @Test
  void basicAuthenticationIsSentWhenConfigured() throws Exception {
    peer.requireAuthorization("Basic " + Base64.getEncoder().encodeToString("cutover:s3cret".getBytes(StandardCharsets.UTF_8)))
        .answer("/patroni", 200, PatroniStatusTest.PRIMARY_302);
    assertEquals("GET /patroni answered HTTP 401", patroni(patroniAt(peer.port())).error());
    HttpCheckOptions auth = new HttpCheckOptions(peer.port(), false, null, null, null, true, "cutover", "s3cret", "/primary",
        "/replica");
    assertTrue(patroni(auth).ok());
  }

  /** The first TLS handshakes of a JVM on a busy two-core machine can take seconds. */
  private static CheckOptions tlsOptions() {
    return options(CheckKind.PATRONI).setTimeout(Duration.ofSeconds(15));
  }

  @Test
  void httpsWithATrustedCaWithoutVerificationAndWithAClientCertificate() throws Exception {
    SelfSignedCertificate server = SelfSignedCertificate.create("localhost");
    SelfSignedCertificate client = SelfSignedCertificate.create("cutover");
    try (HttpPeer tls = new HttpPeer(vertx, new HttpServerOptions().setSsl(true).setKeyCertOptions(server.keyCertOptions())
        .setClientAuth(ClientAuth.REQUIRED).setTrustOptions(client.trustOptions()))) {
      tls.answer("/patroni", 200, PatroniStatusTest.PRIMARY_302);
      Target localhost = new Target("pg1", "localhost", 25432);
      HttpCheckOptions trusted = new HttpCheckOptions(tls.port(), true, Path.of(server.certificatePath()),
          Path.of(client.certificatePath()), Path.of(client.privateKeyPath()), true, null, null, "/primary", "/replica");
      Observation o = run(new PatroniCheck(vertx, tlsOptions().setPatroni(trusted), Clock.systemUTC()), localhost);
      assertTrue(o.ok(), o.error());
      check.close();
      HttpCheckOptions insecure = new HttpCheckOptions(tls.port(), true, null, Path.of(client.certificatePath()),
          Path.of(client.privateKeyPath()), false, null, null, "/primary", "/replica");
      o = run(new PatroniCheck(vertx, tlsOptions().setPatroni(insecure), Clock.systemUTC()), localhost);
      assertTrue(o.ok(), "verify: false accepts any certificate: " + o.error());
      check.close();
      HttpCheckOptions untrusted = new HttpCheckOptions(tls.port(), true, null, Path.of(client.certificatePath()),
          Path.of(client.privateKeyPath()), true, null, null, "/primary", "/replica");
      o = run(new PatroniCheck(vertx, tlsOptions().setPatroni(untrusted), Clock.systemUTC()), localhost);
      assertEquals(FailureKind.ERROR, o.failure(), "a certificate the JVM does not trust: " + o.error());
      assertTrue(o.error().startsWith("GET /patroni: "), o.error());
      check.close();
      HttpCheckOptions noClientCert = new HttpCheckOptions(tls.port(), true, Path.of(server.certificatePath()), null, null,
          true, null, null, "/primary", "/replica");
      o = run(new PatroniCheck(vertx, tlsOptions().setPatroni(noClientCert), Clock.systemUTC()), localhost);
      assertFalse(o.ok(), "the server requires a client certificate");
    } finally {
      server.delete();
      client.delete();
    }
  }

  private Observation http(String primaryPath, String replicaPath, int port) throws Exception {
    return http(options(CheckKind.HTTP), primaryPath, replicaPath, port);
  }

  private Observation http(CheckOptions o, String primaryPath, String replicaPath, int port) throws Exception {
    HttpCheckOptions h = new HttpCheckOptions(port, false, null, null, null, true, null, null, primaryPath, replicaPath);
    return run(new HttpRoleCheck(vertx, o.setHttp(h), Clock.systemUTC()), new Target("pg1", "127.0.0.1", 25432));
  }

  @Test
  void httpRolesFromTheTwoPathsStatuses() throws Exception {
    peer.answer("/primary", 200, "{}").answer("/replica", 503, "{}");
    Observation first = http("/primary", "/replica?lag=16MB", peer.port());
    assertEquals(Role.PRIMARY, first.role(), first.error());
    peer.answer("/primary", 503, "{}").answer("/replica", 200, "{}");
    Observation o = http("/primary", "/replica?lag=16MB", peer.port());
    assertTrue(o.ok(), o.error());
    assertEquals(Role.REPLICA, o.role());
    assertEquals(Observation.UNREPORTED, o.receiver());
    assertEquals("lag=16MB", peer.lastQuery("/replica"), "the query is sent as configured");
    peer.answer("/replica", 503, "{}");
    o = http("/primary", "/replica?lag=16MB", peer.port());
    assertEquals(FailureKind.ERROR, o.failure());
    assertEquals("neither primary nor replica (GET /primary: 503, GET /replica?lag=16MB: 503)", o.error());
    peer.answer("/read-write", 200, "{}");
    assertEquals(Role.PRIMARY, http("/read-write", "/nowhere", peer.port()).role(), "any configured path");
  }

  @Test
  void httpFailureKindsKeepTheirMeaning() throws Exception {
    Observation o = http("/primary", "/replica", closedPort());
    assertEquals(FailureKind.REFUSED, o.failure());
    assertEquals("GET /primary: connection refused", o.error());
    peer.answer("/primary", 503, "{}").answer("/replica", new HttpPeer.Answer(200, "{}", -1, false));
    long start = System.nanoTime();
    o = http(shortOptions(CheckKind.HTTP), "/primary", "/replica", peer.port());
    long took = (System.nanoTime() - start) / 1_000_000;
    assertEquals(FailureKind.TIMEOUT, o.failure());
    assertEquals("GET /replica: no answer within 300 ms", o.error());
    assertTrue(took < SHORT_MS + SLACK_MS, "both paths within one checks.timeout, took " + took + " ms");
  }

  @Test
  void theDispatcherChecksEachTargetByItsKindAndSimulatesUnreachableTargets() throws Exception {
    peer.answer("/patroni", 200, PatroniStatusTest.REPLICA_302).answer("/primary", 200, "{}").answer("/replica", 503, "{}");
    Target viaPatroni = new Target("pg2", "127.0.0.1", closedPort());
    Target viaHttp = new Target("pg3", "127.0.0.1", closedPort());
    Target viaSql = new Target("pg1", "127.0.0.1", closedPort());
    Target cutOff = new Target("pg4", "127.0.0.1", closedPort());
    CheckOptions o = options(CheckKind.SQL)
        .setPatroni(patroniAt(peer.port())).setHttp(withPort(HttpCheckOptions.DEFAULTS, peer.port()))
        .setTargetChecks(Map.of("pg2", new CheckOptions.TargetCheck(CheckKind.PATRONI, -1),
            "pg3", new CheckOptions.TargetCheck(CheckKind.HTTP, -1), "pg4", new CheckOptions.TargetCheck(CheckKind.PATRONI, -1)))
        .setSimulateUnreachable(java.util.Set.of("pg4"));
    Checks checks = new Checks(vertx, o, Clock.systemUTC(), List.of(viaSql, viaPatroni, viaHttp, cutOff));
    assertEquals(Role.REPLICA, run(checks, viaPatroni).role(), "Patroni's port, not the target's");
    assertEquals(Role.PRIMARY, run(checks, viaHttp).role());
    Observation sql = run(checks, viaSql);
    assertEquals(FailureKind.REFUSED, sql.failure(), "an sql check connects to the target's own port");
    int before = peer.requests();
    Observation simulated = run(checks, cutOff);
    assertEquals(FailureKind.TIMEOUT, simulated.failure());
    assertEquals(before, peer.requests(), "a simulated unreachable target is not asked");
  }
}
