package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Routing by observed role through real sockets to the real cluster. */
class RoutingIntegrationTest {

  private static Harness h;

  @BeforeAll
  static void start() throws Exception {
    h = Harness.startOnCluster("");
  }

  @AfterAll
  static void stop() throws Exception {
    h.close();
  }

  @Test
  void writeEndpointReachesThePrimary() throws Exception {
    try (Connection c = h.write()) {
      assertEquals("f", Harness.one(c, "select pg_is_in_recovery()"));
      assertEquals(String.valueOf(PgCluster.port("pg1")), Harness.one(c, "select inet_server_port()"));
      Harness.one(c, "select txid_current()");
    }
  }

  @Test
  void readEndpointReachesReplicasRoundRobin() throws Exception {
    List<String> ports = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      try (Connection c = h.read()) {
        assertEquals("t", Harness.one(c, "select pg_is_in_recovery()"));
        ports.add(Harness.one(c, "select inet_server_port()"));
      }
    }
    Set<String> seen = new HashSet<>(ports);
    assertEquals(Set.of(String.valueOf(PgCluster.port("pg2")), String.valueOf(PgCluster.port("pg3"))), seen, ports.toString());
    for (int i = 1; i < ports.size(); i++) {
      assertNotEquals(ports.get(i - 1), ports.get(i), "consecutive sessions alternate: " + ports);
    }
  }

  @Test
  void manySessionsAtOnceAreRelayedAndCounted() throws Exception {
    List<Connection> open = new ArrayList<>();
    try {
      for (int i = 0; i < 20; i++) {
        open.add(i % 2 == 0 ? h.write() : h.read());
      }
      for (Connection c : open) {
        Harness.one(c, "select 1");
      }
      assertEquals(10, h.cutover.sessions().sessions(Endpoint.WRITE));
      assertEquals(10, h.cutover.sessions().sessions(Endpoint.READ));
      assertTrue(h.cutover.traffic().downstream(Endpoint.READ).sum() > 0);
    } finally {
      for (Connection c : open) {
        c.close();
      }
    }
    io.cutover.monitor.Poll.until(java.time.Duration.ofSeconds(10), "sessions closed",
        () -> h.cutover.sessions().sessions(Endpoint.WRITE) == 0 && h.cutover.sessions().sessions(Endpoint.READ) == 0);
  }

  @Test
  void largeResultsFlowWithBackpressure() throws Exception {
    try (Connection c = h.read()) {
      // ~20 MB through the relay in one result set
      assertEquals("200000", Harness.one(c, "select count(*) from (select repeat('x', 100) from generate_series(1, 200000)) s"));
      try (var st = c.createStatement()) {
        st.setFetchSize(0);
        try (var rs = st.executeQuery("select repeat('x', 100) from generate_series(1, 200000)")) {
          int n = 0;
          while (rs.next()) {
            n++;
          }
          assertEquals(200000, n);
        }
      }
    }
  }
}
