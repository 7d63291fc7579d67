package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three Cutover JVMs. The partition test puts each in its own network namespace (a host of its own,
 * {@code scripts/netns}), Hazelcast between them over a bridge, PostgreSQL reached from every host on its own
 * 127.0.0.1; cutting the leader's host off the bridge splits the proxies 2/1. The frozen-leader test runs
 * them side by side on 127.0.0.1 with the shipped {@code cluster-config/hazelcast.yaml}.
 */
class ClusterJvmIntegrationTest {

  private static final int HOSTS = 3;
  /** Ports inside each host (every host has its own loopback). */
  private static final int WRITE = 16432;
  private static final int HTTP = 19432;
  /** Ports here that reach host I: 2643I (write) and 2943I (HTTP). */
  private static int hostWrite(int i) {
    return 26430 + i;
  }

  private static int hostHttp(int i) {
    return 29430 + i;
  }

  private final List<Process> jvms = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final String name = "cutover-jvm-test-" + UUID.randomUUID();
  /** Configurations and each instance's log (kept under target/ for a failed run). */
  private Path dir;
  private boolean hosts;

  @BeforeEach
  void cluster() throws Exception {
    PgCluster.ensureCanonical();
    dir = Files.createDirectories(Path.of("target", "cluster-jvm-test", name).toAbsolutePath());
  }

  @AfterEach
  void stop() throws Exception {
    for (Process p : jvms) {
      Pids.signal("CONT", List.of(p.pid()));
      p.destroy();
    }
    for (Process p : jvms) {
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
    if (hosts) {
      netns("down");
    }
  }

  private static String netns(String... args) throws IOException, InterruptedException {
    return Netns.run(args);
  }

  /**
   * Starts instance {@code i} as its own JVM (the test's classpath): inside host {@code i} with its endpoints
   * exposed here ({@code inHost}), or here on 127.0.0.1 with the shipped Hazelcast configuration.
   */
  private void startInstance(int i, boolean inHost) throws Exception {
    Path hz = PgCluster.projectRoot().resolve("cluster-config/hazelcast.yaml");
    if (inHost) {
      String hazelcast = Files.readString(hz)
          .replace("- 127.0.0.1:5701", "- 10.213.0.11:5701")
          .replace("- 127.0.0.1:5702", "- 10.213.0.12:5701")
          .replace("- 127.0.0.1:5703", "- 10.213.0.13:5701")
          .replace("        - 127.0.0.1\n", "        - 10.213.0.*\n");
      hz = dir.resolve("hazelcast-" + i + ".yaml");
      Files.writeString(hz, hazelcast);
    }
    int write = inHost ? WRITE : hostWrite(i);
    int httpPort = inHost ? HTTP : hostHttp(i);
    Path config = dir.resolve("cutover-" + i + ".yaml");
    Files.writeString(config, "listeners: {write: '127.0.0.1:" + write + "', read: '127.0.0.1:" + (write + 10)
        + "', http: '127.0.0.1:" + httpPort + "'}\n" + Harness.clusterTargets() + Harness.FAST_CHECKS
        + "failover: {failback_delay: 1s}\n" + Harness.ADMIN + "shutdown: {announce: 0s}\n"
        + "cluster: {enabled: true, size: 3, name: " + name + ", hazelcast: '" + hz + "'}\n");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>();
    if (inHost) {
      cmd.addAll(Netns.command("exec", String.valueOf(i)));
    }
    cmd.addAll(List.of(java, "-Xmx256m", "-Xlog:gc:file=" + dir.resolve("gc-" + i + ".log"), "-cp",
        System.getProperty("java.class.path"), "io.cutover.proxy.Main",
        "--config", config.toString()));
    jvms.add(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("cutover-" + i + ".log").toFile())
        .start());
    if (inHost) {
      netns("expose", String.valueOf(i), String.valueOf(HTTP), String.valueOf(hostHttp(i)));
      netns("expose", String.valueOf(i), String.valueOf(WRITE), String.valueOf(hostWrite(i)));
    }
    Poll.until(Duration.ofSeconds(60), "instance " + i + " answers /health/live (log in " + dir + ")",
        () -> status(i, "/health/live") == 200);
  }

  /** Starts three instances, the first the leader, and waits until each sees all three and routes to pg1. */
  private void startThree(boolean inHosts) throws Exception {
    if (inHosts) {
      netns("up", String.valueOf(HOSTS));
      hosts = true;
    }
    for (int i = 1; i <= HOSTS; i++) {
      startInstance(i, inHosts);
    }
    for (int i = 1; i <= HOSTS; i++) {
      int h = i;
      Poll.until(Duration.ofSeconds(60), "instance " + h + " sees three members and routes to pg1", () -> {
        JsonObject c = cluster(h);
        return members(c) == 3 && "pg1".equals(primary(c));
      });
    }
    assertTrue(cluster(1).getJsonObject("cluster").getBoolean("leader"), "the first instance leads");
  }

  private int status(int i, String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hostHttp(i) + path))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException | InterruptedException e) {
      return -1;
    }
  }

  private JsonObject get(int i, String path) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hostHttp(i) + path))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      return new JsonObject(r.body());
    } catch (Exception e) {
      return new JsonObject().put("unreachable", String.valueOf(e));
    }
  }

  private HttpResponse<String> post(int i, String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hostHttp(i) + path))
        .timeout(Duration.ofSeconds(20)).header("Authorization", "Bearer " + Harness.TOKEN)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private JsonObject cluster(int i) {
    return get(i, "/api/v1/cluster");
  }

  private static int members(JsonObject cluster) {
    JsonObject c = cluster.getJsonObject("cluster");
    return c == null || c.getJsonArray("members") == null ? -1 : c.getJsonArray("members").size();
  }

  private static String primary(JsonObject cluster) {
    JsonObject t = cluster.getJsonObject("topology");
    return t == null ? "?" : t.getString("primary");
  }

  private static long version(JsonObject cluster) {
    JsonObject t = cluster.getJsonObject("topology");
    return t == null ? -1 : t.getLong("version");
  }

  private static String recovery(String node) throws Exception {
    return Harness.oneShot(PgCluster.port(node), "select pg_is_in_recovery()");
  }

  /** Whether a write session through host {@code i}'s write endpoint reaches {@code node} now. */
  private static boolean reaches(int i, String node) {
    try {
      return String.valueOf(PgCluster.port(node)).equals(writesReach(i));
    } catch (Exception e) {
      return false;
    }
  }

  /** Which server a write session through host {@code i}'s write endpoint reaches (its port setting). */
  private static String writesReach(int i) throws Exception {
    return Harness.oneShot(hostWrite(i), "select current_setting('port')");
  }

  /**
   * Kills pg1 and waits until instances 2 and 3 both route writes to the same new primary, promoted exactly
   * once; returns it.
   */
  private String killPrimaryAndAwaitFailoverOn2And3() throws Exception {
    long start = System.nanoTime();
    PgCluster.run("kill", "pg1");
    return awaitOneFailoverOn2And3(null, start);
  }

  /**
   * Waits until instances 2 and 3 both route writes to the same new primary, promoted exactly once; returns it.
   * With a {@code label}, prints how long each took since {@code startNanos} (measured, not asserted).
   */
  private String awaitOneFailoverOn2And3(String label, long startNanos) throws Exception {
    for (int h : new int[] {2, 3}) {
      Poll.until(Duration.ofSeconds(60), "instance " + h + " routes writes to a new primary", () -> {
        String p = primary(cluster(h));
        return p != null && !"pg1".equals(p) && !"?".equals(p);
      });
      if (label != null) {
        System.out.println(label + ": instance " + h + " routes writes to a new primary after "
            + (System.nanoTime() - startNanos) / 1_000_000 + " ms");
      }
    }
    // on this loaded 2-core machine the two survivors can split and merge again right after (README: leader
    // hand-over): each then holds writes until they merge, so agreement is awaited, not sampled once
    String[] promoted = new String[1];
    Poll.until(Duration.ofSeconds(90), "instances 2 and 3 route writes to the same new primary", () -> {
      String p2 = primary(cluster(2));
      boolean same = p2 != null && !"pg1".equals(p2) && !"?".equals(p2) && p2.equals(primary(cluster(3)));
      promoted[0] = same ? p2 : null;
      return same && reaches(2, p2) && reaches(3, p2);
    });
    assertEquals("f", recovery(promoted[0]));
    assertEquals("t", recovery(promoted[0].equals("pg2") ? "pg3" : "pg2"), "exactly one promotion");
    return promoted[0];
  }

  /**
   * SIGCONT to the frozen old leader (instance 1): it rejoins as a follower, routes writes to {@code promoted}
   * and has promoted nothing itself (the other replica is still in recovery).
   */
  private void wakeTheOldLeader(long leaderPid, String promoted) throws Exception {
    Pids.signal("CONT", List.of(leaderPid));
    Poll.until(Duration.ofSeconds(90), "the old leader rejoins and routes to " + promoted, () -> {
      JsonObject c1 = cluster(1);
      return members(c1) == 3 && promoted.equals(primary(c1));
    });
    assertEquals(String.valueOf(PgCluster.port(promoted)), writesReach(1));
    assertEquals("t", recovery(promoted.equals("pg2") ? "pg3" : "pg2"), "the woken old leader promoted nothing");
  }

  @Test
  void theMinoritySideOfAPartitionNeverPromotesAndTheMajorityFailsOverOnce() throws Exception {
    startThree(true);

    // cut the leader's host off: the proxies split 2/1
    netns("cut", "1");
    Poll.until(Duration.ofSeconds(30), "hosts 2 and 3 form a majority of two with a new leader", () -> {
      JsonObject c2 = cluster(2);
      JsonObject c3 = cluster(3);
      return members(c2) == 2 && members(c3) == 2
          && (c2.getJsonObject("cluster").getBoolean("leader") ^ c3.getJsonObject("cluster").getBoolean("leader"));
    });
    Poll.until(Duration.ofSeconds(30), "host 1 alone: waits for lack of quorum and holds writes", () -> {
      JsonObject c1 = cluster(1);
      return members(c1) == 1 && "wait".equals(c1.getJsonObject("cluster").getString("authority"))
          && primary(c1) == null && status(1, "/health/write") == 503;
    });
    // Hazelcast split-brain protection: the minority side cannot change the shared state
    HttpResponse<String> refused = post(1, "/api/v1/maintenance", "{\"enabled\": true, \"reason\": \"from the minority\"}");
    assertEquals(503, refused.statusCode(), refused.body());
    assertTrue(refused.body().contains("SplitBrainProtectionException"), refused.body());
    assertEquals("pg1", primary(cluster(2)), "the majority still routes to pg1");
    assertEquals(String.valueOf(PgCluster.port("pg1")), writesReach(2));

    // the primary dies during the partition: only the majority promotes
    String promoted = killPrimaryAndAwaitFailoverOn2And3();
    String other = promoted.equals("pg2") ? "pg3" : "pg2";
    JsonObject decision = cluster(2).getJsonObject("cluster").getJsonObject("decision");
    assertEquals("failover", decision.getString("kind"), decision.encode());
    assertEquals("pg1", decision.getString("old_primary"));
    assertEquals(promoted, decision.getString("new_primary"));
    long token = decision.getLong("version");
    assertTrue(version(cluster(2)) > token && version(cluster(3)) > token,
        "every majority instance routes by a version above the decision's " + token);
    JsonObject minority = cluster(1);
    assertEquals(null, primary(minority), "the minority still holds writes: " + minority.getJsonObject("topology"));
    assertEquals(1, members(minority));

    // maintenance mode changed on the majority while host 1 is cut off
    HttpResponse<String> on = post(2, "/api/v1/maintenance", "{\"enabled\": true, \"reason\": \"during the partition\"}");
    assertEquals(200, on.statusCode(), on.body());
    assertEquals(false, cluster(1).getJsonObject("maintenance").getBoolean("enabled"), "the minority did not hear of it");

    // heal: Hazelcast merges the minority back; it routes by the current topology
    netns("heal", "1");
    String now = promoted;
    Poll.until(Duration.ofSeconds(90), "host 1 rejoins and routes to " + now, () -> {
      JsonObject c1 = cluster(1);
      return members(c1) == 3 && now.equals(primary(c1));
    });
    assertEquals(String.valueOf(PgCluster.port(promoted)), writesReach(1));
    Poll.until(Duration.ofSeconds(30), "the rejoined instance routes by a version above the decision's " + token,
        () -> version(cluster(1)) > token);
    long leaders = 0;
    for (int i = 1; i <= HOSTS; i++) {
      JsonObject c = cluster(i);
      assertEquals(3, members(c), c.encode());
      leaders += c.getJsonObject("cluster").getBoolean("leader") ? 1 : 0;
    }
    assertEquals(1, leaders, "exactly one leader after the merge");
    assertNotEquals("f", recovery(other), "still exactly one promotion");
    // the rejoined instance caught up with the shared state, and its admin API acts cluster-wide again
    Poll.until(Duration.ofSeconds(30), "host 1 applies the maintenance mode set during the partition",
        () -> Boolean.TRUE.equals(cluster(1).getJsonObject("maintenance").getBoolean("enabled")));
    HttpResponse<String> off = post(1, "/api/v1/maintenance", "{\"enabled\": false}");
    assertEquals(200, off.statusCode(), off.body());
    for (int i = 2; i <= HOSTS; i++) {
      int h = i;
      Poll.until(Duration.ofSeconds(30), "host " + h + " leaves maintenance mode",
          () -> Boolean.FALSE.equals(cluster(h).getJsonObject("maintenance").getBoolean("enabled")));
    }

    // a cutover after the merge, asked on the rejoined instance: every instance (the rejoined one under its
    // new Hazelcast UUID) fences the old primary by the new decision and routes to the new primary
    HttpResponse<String> switchover = post(1, "/api/v1/switchover", "{\"candidate\": \"" + other + "\"}");
    assertEquals(200, switchover.statusCode(), switchover.body());
    for (int i = 1; i <= HOSTS; i++) {
      int h = i;
      Poll.until(Duration.ofSeconds(60), "host " + h + " routes to " + other, () -> other.equals(primary(cluster(h))));
      assertEquals(String.valueOf(PgCluster.port(other)), writesReach(h));
    }
    JsonObject second = cluster(3).getJsonObject("cluster").getJsonObject("decision");
    assertEquals("switchover", second.getString("kind"), second.encode());
    assertTrue(second.getLong("version") > token, "decisions are numbered upwards: " + second.encode());
  }

  @Test
  void aCutOffMinorityClosesItsWriteSessionsWithinItsLeaseBeforeTheMajorityPromotes() throws Exception {
    startThree(true);
    int pg1 = PgCluster.port("pg1");
    try (Connection held = Harness.connect(hostWrite(1))) {
      assertEquals(String.valueOf(pg1), Harness.one(held, "select current_setting('port')"), "a write session through host 1");
      // host 1 is cut off from the other proxies, and pg1 (alive: host 1 still reaches it) from hosts 2 and 3
      long cutAt = System.currentTimeMillis();
      netns("cut", "1");
      netns("block", "2", String.valueOf(pg1));
      netns("block", "3", String.valueOf(pg1));
      Poll.until(Duration.ofSeconds(60), "host 1 closes the write session it holds (its write lease expired)", () -> {
        try {
          Harness.one(held, "select 1");
          return false;
        } catch (SQLException e) {
          return true;
        }
      });
      long closedAt = System.currentTimeMillis();
      Poll.until(Duration.ofSeconds(90), "the majority promotes a replica", () -> {
        String p2 = primary(cluster(2));
        return p2 != null && !"pg1".equals(p2) && !"?".equals(p2);
      });
      long[] promotedAt = {-1};
      Poll.until(Duration.ofSeconds(30), "the leader's incident records the promotion", () -> {
        for (Object o : get(2, "/api/v1/incidents").getJsonArray("incidents", new JsonArray())) {
          String at = ((JsonObject) o).getJsonObject("timeline").getString("promoted");
          if (at != null) {
            promotedAt[0] = java.time.Instant.parse(at).toEpochMilli();
          }
        }
        return promotedAt[0] > 0;
      });
      // measured, not asserted: the lease (4 s) bounds the first figure, the failure detector the second
      System.out.println("minority lease: write session closed " + (closedAt - cutAt) + " ms after the cut; the majority"
          + " promoted " + (promotedAt[0] - cutAt) + " ms after it");
      assertTrue(closedAt < promotedAt[0], "the minority stopped writing (" + (closedAt - cutAt) + " ms after the cut)"
          + " before the majority promoted (" + (promotedAt[0] - cutAt) + " ms)");
      assertEquals(null, primary(cluster(1)), "host 1 routes no writes");
    }
  }

  @Test
  void aFrozenOrKilledLeaderIsReplacedWithinTheBoundAndCutoversStillWork() throws Exception {
    startThree(false);
    long leaderPid = jvms.get(0).pid();
    Pids.signal("STOP", List.of(leaderPid));
    long tookMs = Poll.until(Duration.ofSeconds(60), "a new leader among instances 2 and 3", () -> {
      JsonObject c2 = cluster(2);
      JsonObject c3 = cluster(3);
      return members(c2) == 2 && members(c3) == 2
          && (c2.getJsonObject("cluster").getBoolean("leader") ^ c3.getJsonObject("cluster").getBoolean("leader"));
    });
    // measured, not asserted (the bound documented in the README: hazelcast.max.no.heartbeat.seconds 5 s +
    // one heartbeat 1 s + the 0.5 s leadership check; a starved machine can take longer)
    System.out.println("frozen leader (SIGSTOP): a new leader after " + tookMs + " ms");

    String promoted = killPrimaryAndAwaitFailoverOn2And3();
    String other = promoted.equals("pg2") ? "pg3" : "pg2";

    // the old leader wakes up: it rejoins as a follower and routes by the current topology
    wakeTheOldLeader(leaderPid, promoted);
    List<Integer> leaders = new ArrayList<>();
    for (int i = 1; i <= HOSTS; i++) {
      if (cluster(i).getJsonObject("cluster").getBoolean("leader")) {
        leaders.add(i);
      }
    }
    assertEquals(1, leaders.size(), "exactly one leader: " + leaders);

    // kill -9 of the current leader's JVM: the other two elect a new one, and a cutover still works
    int dead = leaders.get(0);
    List<Integer> rest = new ArrayList<>(List.of(1, 2, 3));
    rest.remove(Integer.valueOf(dead));
    Pids.signal("KILL", List.of(jvms.get(dead - 1).pid()));
    long killedMs = Poll.until(Duration.ofSeconds(60), "a new leader after kill -9 of instance " + dead, () -> {
      JsonObject a = cluster(rest.get(0));
      JsonObject b = cluster(rest.get(1));
      return members(a) == 2 && members(b) == 2
          && (a.getJsonObject("cluster").getBoolean("leader") ^ b.getJsonObject("cluster").getBoolean("leader"));
    });
    System.out.println("killed leader (kill -9): a new leader after " + killedMs + " ms");
    HttpResponse<String> switchover = post(rest.get(1), "/api/v1/switchover", "{\"candidate\": \"" + other + "\"}");
    assertEquals(200, switchover.statusCode(), switchover.body());
    for (int h : rest) {
      Poll.until(Duration.ofSeconds(60), "instance " + h + " routes to " + other, () -> other.equals(primary(cluster(h))));
      assertEquals(String.valueOf(PgCluster.port(other)), writesReach(h));
    }
  }

  /**
   * Zone loss: the leader's JVM and the primary go in the same instant. The two survivors (a quorum) promote
   * exactly one replica and route writes to it; with {@code freeze}, the old leader wakes up later, promotes
   * nothing and follows.
   */
  private void zoneLoss(boolean freeze) throws Exception {
    startThree(false);
    long leaderPid = jvms.get(0).pid();
    long start = System.nanoTime();
    Pids.signal(freeze ? "STOP" : "KILL", List.of(leaderPid));
    PgCluster.run("kill", "pg1");
    // measured, not asserted: the hand-over bound (6.5 s) plus detection and promotion
    String promoted = awaitOneFailoverOn2And3("zone loss (" + (freeze ? "frozen" : "killed") + " leader + kill -9 of pg1)",
        start);
    if (freeze) {
      wakeTheOldLeader(leaderPid, promoted);
    }
  }

  @Test
  void zoneLossWithTheLeaderFrozenPromotesOnceAndTheOldLeaderFollows() throws Exception {
    zoneLoss(true);
  }

  @Test
  void zoneLossWithTheLeaderKilledPromotesOnce() throws Exception {
    zoneLoss(false);
  }
}
