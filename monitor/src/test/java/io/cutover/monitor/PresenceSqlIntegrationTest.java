package io.cutover.monitor;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnection;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Presence} against the real primary, without a whole Cutover: what a clustered instance counts (other
 * clusters and unclustered instances, not members of its own cluster, not stale rows), a check user that may only
 * read (the write is refused once, the others are still seen), and the row deleted by {@link Presence#leave}.
 */
class PresenceSqlIntegrationTest {

  static final String READ_ONLY_USER = "cutover_presence_ro";
  static final List<String> FAKE_IDS = List.of("peer-test", "foreign-test", "loner-test", "stale-test");

  private static Vertx vertx;
  private static Target pg1;
  private Context context;

  @BeforeAll
  static void cluster() {
    PgCluster.ensureCanonical();
    vertx = Vertx.vertx();
    pg1 = PgCluster.targets().get(0);
  }

  @AfterAll
  static void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @BeforeEach
  void setUp() {
    context = vertx.getOrCreateContext();
    exec(Presence.CREATE);
    exec("delete from " + Presence.TABLE + " where id in ('" + String.join("', '", FAKE_IDS) + "', 'me-test')");
  }

  @AfterEach
  void tearDown() {
    exec("delete from " + Presence.TABLE + " where id in ('" + String.join("', '", FAKE_IDS) + "', 'me-test')");
    exec("do $$ begin if exists (select from pg_roles where rolname = '" + READ_ONLY_USER + "') then"
        + " execute 'drop owned by " + READ_ONLY_USER + "'; execute 'drop role " + READ_ONLY_USER + "'; end if; end $$");
  }

  @Test
  void aClusteredInstanceCountsOtherClustersAndLonersButNotItsOwnMembersNorStaleRows() {
    Presence me = presence(new CheckOptions().setTimeout(Duration.ofSeconds(2)), "c1");
    insertFakes();
    List<String> others = awaitOthers(me, List.of("foreign-test", "loner-test"));
    assertEquals(List.of("foreign-test", "loner-test"), others);
    assertEquals("1", String.valueOf(exec("select count(*) from " + Presence.TABLE + " where id = 'me-test' and cluster = 'c1'"
        + " and heartbeat_ms = 1100 and seen_at > now() - interval '1 minute'")), "my own row is there");

    onContext(() -> me.leave(pg1)).join();
    assertEquals("0", String.valueOf(exec("select count(*) from " + Presence.TABLE + " where id = 'me-test'")),
        "leave deletes my row");
  }

  @Test
  void aCheckUserThatMayOnlyReadIsRefusedTheWriteOnceAndStillSeesTheOthers() {
    exec("create role " + READ_ONLY_USER + " login in role pg_monitor");
    exec("alter role " + READ_ONLY_USER + " set default_transaction_read_only = on");
    exec("grant select, insert, update, delete on " + Presence.TABLE + " to " + READ_ONLY_USER);
    Presence me = presence(new CheckOptions().setTimeout(Duration.ofSeconds(2)).setUser(READ_ONLY_USER), null);
    insertFakes();
    List<String> others = awaitOthers(me, List.of("foreign-test", "loner-test", "peer-test"));
    assertEquals(List.of("foreign-test", "loner-test", "peer-test"), others, "unclustered: every cluster counts");
    String refusal = onContext(() -> Future.succeededFuture(me.toJson())).join()
        .getJsonObject("problems").getString("write");
    assertTrue(refusal != null && refusal.startsWith("25006 "), String.valueOf(refusal));
    assertEquals("0", String.valueOf(exec("select count(*) from " + Presence.TABLE + " where id = 'me-test'")));
    onContext(() -> me.leave(pg1)).join(); // nothing written: nothing to delete, and no failure
  }

  // ---- helpers ----

  private Presence presence(CheckOptions checks, String cluster) {
    return new Presence(vertx, checks.setInterval(Duration.ofMillis(100)), new Presence.Options(true, Duration.ofSeconds(1)),
        new Presence.Identity("me-test", cluster, "test-host", "127.0.0.1:1", 1));
  }

  /** Rows of other instances: one of my cluster, one of another, one unclustered (all fresh), one stale. */
  private static void insertFakes() {
    exec("insert into " + Presence.TABLE + " values"
        + " ('peer-test', 'c1', 'h1', null, 11, 60000, now(), now()),"
        + " ('foreign-test', 'c2', 'h2', null, 12, 60000, now(), now()),"
        + " ('loner-test', null, 'h3', null, 13, 60000, now(), now()),"
        + " ('stale-test', 'c2', 'h4', null, 14, 1000, now() - interval '1 hour', now() - interval '3001 milliseconds')");
  }

  /** Heartbeats (each at most once a second) until the others seen are {@code expected}; their ids, sorted. */
  private List<String> awaitOthers(Presence me, List<String> expected) {
    Poll.until(Duration.ofSeconds(30), "others " + expected, () -> {
      onContext(() -> {
        me.primaryAnswered(pg1);
        return Future.succeededFuture();
      }).join();
      return expected.equals(ids(me));
    });
    return ids(me);
  }

  private List<String> ids(Presence me) {
    return onContext(() -> Future.succeededFuture(me.others().stream().map(OtherCutovers.Instance::id).toList())).join();
  }

  /** Runs {@code work} on the presence's context (its state belongs to one event loop) and waits up to 10 s. */
  private <T> CompletableFuture<T> onContext(Supplier<Future<T>> work) {
    CompletableFuture<T> out = new CompletableFuture<>();
    context.runOnContext(v -> work.get().onComplete(ar -> {
      if (ar.succeeded()) {
        out.complete(ar.result());
      } else {
        out.completeExceptionally(ar.cause());
      }
    }));
    return out.orTimeout(10, TimeUnit.SECONDS);
  }

  /** Runs {@code sql} on pg1 as postgres; the first column of the last statement's first row, or null. */
  private static Object exec(String sql) {
    try {
      return PgConnection.connect(vertx, new CheckOptions().connectOptions(pg1.host(), pg1.port(), "cutover-test"))
          .compose(conn -> conn.query(sql).execute()
              .map(rows -> rows.iterator().hasNext() ? rows.iterator().next().getValue(0) : null)
              .eventually(conn::close))
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("on pg1: " + sql, e);
    }
  }
}
