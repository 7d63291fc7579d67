package io.cutover.monitor.cluster;

import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.cutover.monitor.Poll;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The shared incident record keeps one entry per incident: the opening, closing and later versions (an RPO measured
 * after the incident closed) replace each other. One Hazelcast member of its own on a free loopback port.
 */
class SharedStateIncidentsTest {

  private Vertx vertx;
  private HazelcastInstance hz;
  private SharedState shared;

  @BeforeEach
  void start() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Config config = new Config().setClusterName("shared-state-test-" + UUID.randomUUID());
    config.setProperty("hazelcast.phone.home.enabled", "false");
    config.getNetworkConfig().setPort(port).setPortAutoIncrement(false).getInterfaces().setEnabled(true)
        .addInterface("127.0.0.1");
    config.getNetworkConfig().getJoin().getMulticastConfig().setEnabled(false);
    config.getNetworkConfig().getJoin().getTcpIpConfig().setEnabled(false);
    config.getNetworkConfig().getJoin().getAutoDetectionConfig().setEnabled(false);
    // no split-brain protection (SharedState.configure): a lone member meets it only after a membership event
    hz = Hazelcast.newHazelcastInstance(config);
    vertx = Vertx.vertx();
    shared = new SharedState(vertx, hz);
  }

  @AfterEach
  void stop() throws Exception {
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    if (hz != null) {
      hz.shutdown();
    }
  }

  private JsonArray records() {
    try {
      return shared.records(SharedState.INCIDENTS).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static JsonObject incident(long id, String outcome, boolean exact) {
    return new JsonObject().put("id", id).put("outcome", outcome).put("rpo", new JsonObject().put("exact", exact));
  }

  private void keep(JsonObject incident, int kept) {
    vertx.runOnContext(v -> shared.keepIncident(incident, "member-1", "127.0.0.1:5701", kept));
  }

  @Test
  void anUpdateAfterTheCloseReplacesTheIncidentsRecord() {
    keep(incident(1, "open", false), 10);
    Poll.until(Duration.ofSeconds(10), "the opening record", () -> records().size() == 1);
    keep(incident(1, "completed", false), 10);
    keep(incident(2, "open", false), 10);
    keep(incident(1, "completed", true), 10);
    Poll.until(Duration.ofSeconds(10), "the measured version of incident 1 (" + records() + ")", () -> records().stream()
        .map(JsonObject.class::cast).anyMatch(i -> i.getLong("id") == 1 && i.getJsonObject("rpo").getBoolean("exact")));
    JsonArray all = records();
    assertEquals(List.of(1L, 2L), all.stream().map(JsonObject.class::cast).map(i -> i.getLong("id")).toList(),
        "one record per incident, in the order they were first recorded: " + all);
    assertEquals("127.0.0.1:5701", all.getJsonObject(0).getString("recorded_by"));
  }

  @Test
  void onlyTheNewestIncidentsAreKept() {
    for (long id = 1; id <= 3; id++) {
      keep(incident(id, "completed", false), 2);
    }
    Poll.until(Duration.ofSeconds(10), "incidents 2 and 3 (" + records() + ")", () -> records().stream()
        .map(JsonObject.class::cast).map(i -> i.getLong("id")).toList().equals(List.of(2L, 3L)));
    keep(incident(3, "completed", true), 2);
    Poll.until(Duration.ofSeconds(10), "incident 3 updated in place (" + records() + ")", () -> {
      JsonArray all = records();
      return all.size() == 2 && all.getJsonObject(1).getLong("id") == 3 && all.getJsonObject(1).getJsonObject("rpo")
          .getBoolean("exact");
    });
  }
}
