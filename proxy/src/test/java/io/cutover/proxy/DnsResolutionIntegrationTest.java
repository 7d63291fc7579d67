package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import io.cutover.monitor.TargetState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Backend host names resolve without blocking the event loop: a target named {@code pg1.cutover.test}, resolved by a
 * real DNS server on 127.0.0.1 ({@code resolver.servers}), behind a Cutover with a single event loop. While that server
 * holds its answer, the one event loop still serves other clients and HTTP; once it answers, the session completes.
 * With the blocking JDK resolver the proxy would not even ask that server.
 */
class DnsResolutionIntegrationTest {

  private static final String NAME = "pg1.cutover.test";

  private static TestDnsServer dns;
  private static Harness h;

  @BeforeAll
  static void start() throws Exception {
    PgCluster.ensureCanonical();
    dns = new TestDnsServer();
    dns.answer(NAME);
    h = Harness.start("targets:\n  - {name: pg1, host: " + NAME + ", port: " + PgCluster.targets().get(0).port() + "}\n"
        // slow checks: a check caught by a held answer is one failure, never three
        + "checks: {interval: 2s, fastinter: 2s, timeout: 4s, fall: 3, rise: 1}\n"
        + "proxy: {event_loops: 1, connect_wait: 0s}\n"
        + "resolver: {servers: ['" + dns.address() + "'], timeout: 2s}\n");
  }

  @AfterAll
  static void stop() throws Exception {
    if (h != null) {
      h.close();
    }
    if (dns != null) {
      dns.close();
    }
  }

  @BeforeEach
  void pg1Up() {
    dns.answer(NAME);
    dns.release();
    h.await("pg1 primary, resolved through the test's DNS server", t -> "pg1".equals(t.primary())
        && t.target("pg1").orElseThrow().state() == TargetState.UP);
  }

  @Test
  void aSessionResolvesTheTargetThroughTheConfiguredServer() throws Exception {
    int before = dns.queries(NAME);
    assertEquals("1", Harness.oneShot(h.cutover.writePort(), "select 1"));
    assertTrue(dns.queries(NAME) > before, "the backend connect asked the configured DNS server");
  }

  @Test
  void theEventLoopServesOthersWhileANameIsResolving() throws Exception {
    dns.hold(NAME);
    CompletableFuture<String> session = CompletableFuture.supplyAsync(() -> {
      try (Connection c = h.write()) {
        return Harness.one(c, "select 1");
      } catch (SQLException e) {
        return e.getSQLState() + " " + e.getMessage();
      }
    });
    Poll.until(Duration.ofSeconds(10), "a query for " + NAME + " held", () -> dns.heldQueries() > 0);
    // the single event loop answers HTTP and another client while the resolution is outstanding
    try (Http http = new Http(h.cutover.httpPort())) {
      assertEquals(200, http.get("/health/write").statusCode());
    }
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), h.cutover.writePort())) {
      s.setSoTimeout(5_000);
      new DataOutputStream(s.getOutputStream()).writeInt(7); // a startup packet cannot be 7 bytes long
      assertEquals('E', new DataInputStream(s.getInputStream()).readByte(), "08P01 at once");
    }
    assertFalse(session.isDone(), "the session waits for its backend's address: " + session.getNow(null));
    dns.release();
    assertEquals("1", session.get(15, TimeUnit.SECONDS));
  }

  @Test
  void aNameThatDoesNotResolveGets57P03NamingIt() {
    dns.forget(NAME);
    SQLException e = assertThrows(SQLException.class, () -> h.write());
    assertEquals("57P03", e.getSQLState(), e.getMessage());
    assertTrue(e.getMessage().contains("unknown host") && e.getMessage().contains(NAME), e.getMessage());
  }
}
