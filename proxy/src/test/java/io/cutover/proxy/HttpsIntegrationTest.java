package io.cutover.proxy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.cutover.proxy.config.ConfigLoader;
import io.cutover.proxy.config.CutoverConfig;
import io.cutover.proxy.config.PemKeyPair;
import io.cutover.proxy.config.TestCertificates;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * HTTPS on the HTTP listener ({@code listeners.http_tls}), over real sockets with the JDK's HTTP client trusting a
 * certificate made by openssl: every kind of route, plain HTTP refused, the certificate swapped on the running
 * listener and bad files keeping the old one.
 */
class HttpsIntegrationTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  @TempDir
  static Path certs;
  private static TestCertificates.Pair first;
  private static TestCertificates.Pair second;
  @TempDir
  Path dir;
  private Path servedCert;
  private Path servedKey;
  private Harness h;
  private final ListAppender<ILoggingEvent> log = new ListAppender<>();
  private final Logger tlsLogger = (Logger) LoggerFactory.getLogger(HttpTls.class);

  @BeforeAll
  static void certificates() throws Exception {
    first = TestCertificates.create(certs, "first", "cutover-https-first", 0x1001, false);
    second = TestCertificates.create(certs, "second", "cutover-https-second", 0x2002, true);
  }

  @BeforeEach
  void serveTheFirst() throws Exception {
    log.start();
    tlsLogger.addAppender(log);
    servedCert = dir.resolve("served.crt");
    servedKey = dir.resolve("served.key");
    Files.copy(first.cert(), servedCert);
    Files.copy(first.key(), servedKey);
  }

  @AfterEach
  void stop() throws Exception {
    tlsLogger.detachAppender(log);
    if (h != null) {
      h.close();
    }
  }

  private Harness startHttps() throws Exception {
    h = Harness.startWithoutBackend("listeners: {write: '127.0.0.1:0', read: '127.0.0.1:0', http: '127.0.0.1:0', "
        + "http_tls: {cert: '" + servedCert + "', key: '" + servedKey + "'}}\n", Harness.ADMIN);
    return h;
  }

  private static HttpClient client(SSLContext trust) {
    return HttpClient.newBuilder().sslContext(trust).version(HttpClient.Version.HTTP_1_1).connectTimeout(TIMEOUT).build();
  }

  private HttpResponse<String> get(HttpClient client, String path) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + h.cutover.httpPort() + path))
        .timeout(TIMEOUT).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(HttpClient client, String path, String token, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + h.cutover.httpPort() + path))
        .timeout(TIMEOUT).POST(HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The certificate a new TLS connection is served (a fresh context: no session is resumed). */
  private X509Certificate served() throws Exception {
    SSLContext ctx = TestCertificates.trusting(first.cert(), second.cert());
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", h.cutover.httpPort())) {
      s.setSoTimeout((int) TIMEOUT.toMillis());
      s.startHandshake();
      return (X509Certificate) s.getSession().getPeerCertificates()[0];
    }
  }

  private static void replace(Path source, Path target) throws IOException {
    Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING);
  }

  private Throwable reloadFailure() {
    ExecutionException e = assertThrows(ExecutionException.class, () -> h.cutover.reloadHttpCertificate()
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS));
    return e.getCause();
  }

  @Test
  void healthApiMetricsThePageAndAdminCallsTravelOverHttps() throws Exception {
    startHttps();
    HttpClient https = client(TestCertificates.trusting(first.cert()));
    assertEquals(200, get(https, "/health/live").statusCode());
    HttpResponse<String> cluster = get(https, "/api/v1/cluster");
    assertEquals(200, cluster.statusCode());
    assertTrue(new JsonObject(cluster.body()).getJsonObject("topology").containsKey("targets"), cluster.body());
    HttpResponse<String> metrics = get(https, "/metrics");
    assertEquals(200, metrics.statusCode());
    assertTrue(metrics.body().contains("cutover_primary_routable"), "Prometheus text");
    HttpResponse<String> page = get(https, "/");
    assertEquals(200, page.statusCode());
    assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"), page.headers().toString());
    assertTrue(page.body().contains("<html"), "the operator's page");
    assertEquals(200, get(https, "/ui/app.js").statusCode(), "the page's script");

    assertEquals(401, post(https, "/api/v1/maintenance", "wrong-token-0123456789", "{\"enabled\":true}").statusCode());
    HttpResponse<String> on = post(https, "/api/v1/maintenance", Harness.TOKEN, "{\"enabled\":true,\"reason\":\"tls test\"}");
    assertEquals(200, on.statusCode(), on.body());
    assertTrue(new JsonObject(get(https, "/api/v1/cluster").body()).getJsonObject("maintenance").getBoolean("enabled"));

    assertEquals(first.serial(), served().getSerialNumber().longValueExact());
    HttpClient trustsNothingOfOurs = client(SSLContext.getDefault());
    IOException untrusted = assertThrows(IOException.class, () -> get(trustsNothingOfOurs, "/health/live"));
    assertInstanceOf(SSLHandshakeException.class, untrusted, "a client that does not trust the certificate: " + untrusted);
    assertTrue(log.list.stream().anyMatch(e -> e.getLevel() == Level.INFO
        && e.getFormattedMessage().startsWith("listeners.http serves HTTPS: certificate CN=cutover-https-first (serial 1001")),
        "the start-up line names the certificate");
    assertTrue(log.list.stream().noneMatch(e -> e.getLevel() == Level.WARN), "no warning on loopback with TLS");
  }

  @Test
  void plainHttpToTheHttpsPortGetsNoAnswer() throws Exception {
    startHttps();
    HttpClient plain = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(TIMEOUT).build();
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + h.cutover.httpPort() + "/health/live"))
        .timeout(TIMEOUT).GET().build();
    assertThrows(IOException.class, () -> plain.send(request, HttpResponse.BodyHandlers.ofString()));
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", h.cutover.httpPort())) {
      s.setSoTimeout((int) TIMEOUT.toMillis());
      s.getOutputStream().write("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      byte[] answer;
      try {
        answer = s.getInputStream().readAllBytes(); // the server closes: no HTTP answer in clear text
      } catch (java.net.SocketException reset) {
        answer = new byte[0];
      }
      assertFalse(new String(answer, StandardCharsets.ISO_8859_1).contains("HTTP/1.1"), "no plain HTTP answer");
    }
  }

  @Test
  void theCertificateIsReloadedOnTheRunningListenerAndBadFilesKeepTheOldOne() throws Exception {
    startHttps();
    int port = h.cutover.httpPort();
    assertEquals(first.serial(), served().getSerialNumber().longValueExact());
    SSLContext ctx = TestCertificates.trusting(first.cert());
    try (SSLSocket open = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
      open.setSoTimeout((int) TIMEOUT.toMillis());
      open.startHandshake();

      replace(second.cert(), servedCert);
      replace(second.key(), servedKey);
      X509Certificate now = h.cutover.reloadHttpCertificate().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertEquals(second.serial(), now.getSerialNumber().longValueExact());
      X509Certificate fresh = served();
      assertEquals(second.serial(), fresh.getSerialNumber().longValueExact(), "new connections get the new certificate");
      assertEquals("CN=cutover-https-second", fresh.getSubjectX500Principal().getName());
      assertEquals(port, h.cutover.httpPort());
      assertEquals(200, get(client(TestCertificates.trusting(second.cert())), "/health/live").statusCode());

      // the connection opened before the reload was not closed: it still answers
      open.getOutputStream().write("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      open.getOutputStream().flush();
      String status = new BufferedReader(new InputStreamReader(open.getInputStream(), StandardCharsets.ISO_8859_1)).readLine();
      assertEquals("HTTP/1.1 200 OK", status);
      assertEquals(first.serial(), ((X509Certificate) open.getSession().getPeerCertificates()[0]).getSerialNumber().longValueExact());
    }

    Files.writeString(servedCert, "garbage\n");
    Throwable garbage = reloadFailure();
    assertInstanceOf(PemKeyPair.Invalid.class, garbage);
    assertEquals("listeners.http_tls.cert " + servedCert + ": not a PEM certificate: no -----BEGIN CERTIFICATE----- block, "
        + "and the file holds no PEM block at all", garbage.getMessage());
    assertEquals(second.serial(), served().getSerialNumber().longValueExact(), "the old certificate stays");

    replace(first.cert(), servedCert); // the second certificate's key is still in place
    assertTrue(reloadFailure().getMessage().startsWith("listeners.http_tls.key " + servedKey + ": "), "a key of another kind");
    TestCertificates.Pair third = TestCertificates.create(dir, "third", "cutover-https-third", 0x3003, false);
    replace(third.key(), servedKey);
    assertEquals("listeners.http_tls.key " + servedKey + ": does not belong to the certificate in listeners.http_tls.cert "
        + "(CN=cutover-https-first)", reloadFailure().getMessage());
    Files.delete(servedKey);
    assertEquals("listeners.http_tls.key " + servedKey + ": not a readable file: no such file", reloadFailure().getMessage());
    assertEquals(second.serial(), served().getSerialNumber().longValueExact(), "still the last good certificate");
    assertEquals(4, log.list.stream().filter(e -> e.getLevel() == Level.WARN && e.getFormattedMessage()
        .startsWith("listeners.http_tls not reloaded, the previous certificate stays in use: listeners.http_tls.")).count(),
        "one line per failed reload");

    replace(first.key(), servedKey);
    assertEquals(first.serial(), h.cutover.reloadHttpCertificate().toCompletionStage().toCompletableFuture()
        .get(30, TimeUnit.SECONDS).getSerialNumber().longValueExact());
    assertEquals(first.serial(), served().getSerialNumber().longValueExact(), "good files again: reloaded");
  }

  @Test
  void withoutHttpTlsTheReloadFailsAndATokenOnAWildcardAddressIsWarnedAbout() throws Exception {
    h = Harness.startWithoutBackend(Harness.ADMIN);
    Throwable plain = reloadFailure();
    assertInstanceOf(IllegalStateException.class, plain);
    assertEquals("listeners.http_tls is not set: the HTTP listener serves plain HTTP, there is no certificate to reload",
        plain.getMessage());
    assertTrue(log.list.stream().noneMatch(e -> e.getLevel() == Level.WARN && e.getFormattedMessage().contains("clear text")),
        "loopback: no warning");

    for (String http : List.of("0.0.0.0:9432", "[::]:9432", "10.1.2.3:9432", "db.example:9432")) {
      log.list.clear();
      assertTrue(HttpTls.warnIfTokenInClear(config(http, Harness.ADMIN)), http);
      assertEquals(List.of("listeners.http " + io.cutover.proxy.config.ListenAddress.parse(http) + " is not a loopback address and listeners.http_tls "
          + "is not set: the admin token and every answer cross the network in clear text; set listeners.http_tls {cert, key} "
          + "or bind listeners.http to 127.0.0.1"), log.list.stream().map(ILoggingEvent::getFormattedMessage).toList());
      assertFalse(HttpTls.warnIfTokenInClear(config(http, "")), "no token, nothing to leak: " + http);
      assertFalse(HttpTls.warnIfTokenInClear(configTls(http)), "TLS: " + http);
    }
    for (String loopback : List.of("127.0.0.1:9432", "127.0.0.2:9432", "[::1]:9432", "localhost:9432")) {
      assertFalse(HttpTls.warnIfTokenInClear(config(loopback, Harness.ADMIN)), loopback);
    }
  }

  private CutoverConfig config(String http, String extra) {
    ConfigLoader.Result r = ConfigLoader.parse("test", "targets: [{name: pg1, host: 127.0.0.1, port: 5432}]\n"
        + "listeners: {http: '" + http + "'}\n" + extra, Map.of());
    assertTrue(r.ok(), r.problems().toString());
    return r.config();
  }

  private CutoverConfig configTls(String http) {
    ConfigLoader.Result r = ConfigLoader.parse("test", "targets: [{name: pg1, host: 127.0.0.1, port: 5432}]\n"
        + "listeners: {http: '" + http + "', http_tls: {cert: '" + first.cert() + "', key: '" + first.key() + "'}}\n"
        + Harness.ADMIN, Map.of());
    assertTrue(r.ok(), r.problems().toString());
    return r.config();
  }
}
