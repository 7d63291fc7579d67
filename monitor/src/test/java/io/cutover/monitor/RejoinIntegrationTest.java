package io.cutover.monitor;

import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.Tuple;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code scripts/pg-cluster rejoin} right after a promotion, five failovers in a row on the real local cluster:
 * SIGKILL to the primary, the most advanced replica promoted and the other re-pointed to it (as Cutover's
 * failover does), rows written on the new primary, then at once {@code rejoin} of the old primary. The
 * promoted node's control file still names the old timeline until its first checkpoint, so a rejoin that
 * does not checkpoint it first gets "no rewind required" from pg_rewind and a node that never follows.
 */
class RejoinIntegrationTest {

  private static final int ROUNDS = 5;
  private static final int ROWS = 100;
  private static final Duration DEADLINE = Duration.ofSeconds(60);

  private static Vertx vertx;
  private static FailoverExecutor executor;

  @BeforeAll
  static void setUp() {
    PgCluster.ensureCanonical();
    vertx = Vertx.vertx();
    executor = new FailoverExecutor(vertx, new CheckOptions(), new FailoverOptions());
  }

  @AfterAll
  static void tearDown() throws Exception {
    try {
      PgCluster.ensureCanonical(); // pg1 primary again for the other tests (a rebuild after the failovers)
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void anOldPrimaryRejoinedRightAfterThePromotionStreamsFromTheNewPrimaryOnItsTimeline() throws Exception {
    Target primary = PgCluster.targets().get(0);
    query(primary, "drop table if exists rejoin_rows");
    query(primary, "create table rejoin_rows (round int, i int)");
    List<String> measured = new ArrayList<>();
    for (int i = 1; i <= ROUNDS; i++) {
      int round = i;
      Target old = primary;
      List<Target> replicas = PgCluster.targets().stream().filter(t -> !t.equals(old)).toList();
      int oldTimeline = timeline(old);
      long lsn = Lsn.parse((String) query(old, "select pg_current_wal_lsn()::text"));
      for (Target r : replicas) {
        Poll.until(DEADLINE, r.name() + " replays " + old.name() + "'s WAL up to " + Lsn.format(lsn),
            () -> Lsn.parse((String) quietly(r, "select pg_last_wal_replay_lsn()::text")) >= lsn);
      }

      PgCluster.run("kill", old.name());
      Target promoted = replicas.stream()
          .max(Comparator.comparingLong(r -> Lsn.parse((String) query(r, "select pg_last_wal_receive_lsn()::text"))))
          .orElseThrow();
      Target other = replicas.stream().filter(t -> !t.equals(promoted)).findFirst().orElseThrow();
      assertEquals(Boolean.TRUE, executor.promote(promoted).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS));
      executor.repoint(other, promoted).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      query(promoted, "insert into rejoin_rows select $1::int, generate_series(1, " + ROWS + ")", round);

      long start = System.nanoTime();
      String out = PgCluster.run("rejoin", old.name());
      long tookMs = (System.nanoTime() - start) / 1_000_000;

      int timeline = timeline(promoted);
      assertEquals(oldTimeline + 1, timeline, "one new timeline per promotion");
      String verdict = out.strip().lines().reduce((a, b) -> b).orElse("");
      String path = verdict.startsWith(old.name() + ": rewound (pg_rewind)") ? "pg_rewind"
          : verdict.startsWith(old.name() + ": pg_rewind said no rewind required") ? "no rewind required"
          : verdict.startsWith(old.name() + ": rebuilt with pg_basebackup") ? "pg_basebackup" : "?";
      measured.add(String.format("round %d: rejoin %s (following %s, timeline %d): %d ms, %s", round, old.name(),
          promoted.name(), timeline, tookMs, path));
      System.out.println(measured.get(measured.size() - 1) + "\n" + out);

      // the script exits 0 only once it saw the node streaming: no waiting here
      assertEquals("in recovery, WAL receiver streaming on timeline " + timeline + " from port " + promoted.port(),
          receiver(old), old.name() + " after: " + out);
      Poll.until(DEADLINE, "round " + round + "'s rows on " + old.name(),
          () -> Long.valueOf(ROWS).equals(quietly(old, "select count(*) from rejoin_rows where round = $1", round)));
      Poll.until(DEADLINE, other.name() + " streams from " + promoted.name() + " with round " + round + "'s rows",
          () -> receiver(other).equals("in recovery, WAL receiver streaming on timeline " + timeline
              + " from port " + promoted.port())
              && Long.valueOf(ROWS).equals(quietly(other, "select count(*) from rejoin_rows where round = $1", round)));
      assertTrue(verdict.startsWith(old.name() + ": ")
              && verdict.endsWith("; streaming from " + promoted.name() + " on timeline " + timeline),
          "the last line of rejoin says the node streams from the new primary on its timeline:\n" + out);
      // the old primary wrote a shutdown checkpoint past the fork in its crash recovery: it had to be rewound, and
      // a pg_rewind that saw the new timeline does so (a base backup here would mean it did not)
      assertEquals("pg_rewind", path, "how " + old.name() + " rejoined:\n" + out);
      primary = promoted;
    }
    System.out.println(String.join("\n", measured));
    assertEquals((long) ROUNDS * ROWS, query(primary, "select count(*) from rejoin_rows"));
  }

  /** The timeline primary {@code t} writes WAL on (from the name of its current WAL file). */
  private static int timeline(Target t) {
    return (Integer) query(t, "select ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int");
  }

  /** In recovery or not, and what its WAL receiver reports (status, timeline, the sender's port). */
  private static String receiver(Target t) {
    Object s = quietly(t, "select format('%s, WAL receiver %s on timeline %s from port %s', "
        + "case when pg_is_in_recovery() then 'in recovery' else 'not in recovery' end, r.status, r.received_tli, r.sender_port) "
        + "from (select 1) x left join pg_stat_wal_receiver r on true");
    return String.valueOf(s);
  }

  /** As {@link #query}, but {@code null} when the node cannot answer (yet). */
  private static Object quietly(Target t, String sql, Object... params) {
    try {
      return query(t, sql, params);
    } catch (AssertionError e) {
      return null;
    }
  }

  /** The first column of the first row of {@code sql} on {@code t} ({@code null} without rows), on a connection of its own. */
  private static Object query(Target t, String sql, Object... params) {
    try {
      return PgConnection.connect(vertx, new CheckOptions().connectOptions(t.host(), t.port(), "cutover-test"))
          .compose(conn -> conn.preparedQuery(sql).execute(Tuple.wrap(params))
              .map(rows -> rows.iterator().hasNext() ? rows.iterator().next().getValue(0) : null)
              .eventually(conn::close))
          .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("query on " + t.name() + " failed: " + sql, e);
    }
  }
}
