package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;

import java.sql.SQLException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Stops replicas' WAL receivers ({@code primary_conninfo = ''} and a reload, then waits until
 * {@code pg_stat_wal_receiver} is empty), so that what the primary writes next is missing on them — WAL a promoted
 * replica would lack, unlike WAL received but not replayed — and restores their {@code primary_conninfo} on
 * {@link #close()}.
 */
final class WalReceivers implements AutoCloseable {

  private final Map<String, String> conninfo = new LinkedHashMap<>();

  private WalReceivers() {
  }

  /** Stops the WAL receivers of {@code replicas} (node names); each within 30 s. */
  static WalReceivers stop(String... replicas) throws SQLException {
    WalReceivers w = new WalReceivers();
    for (String r : replicas) {
      int port = PgCluster.port(r);
      w.conninfo.put(r, Harness.oneShot(port, "select current_setting('primary_conninfo')"));
      Harness.execute(port, "alter system set primary_conninfo = ''");
      Harness.execute(port, "select pg_reload_conf()");
      Poll.until(Duration.ofSeconds(30), r + " stopped receiving", () -> {
        try {
          return "0".equals(Harness.oneShot(port, "select count(*) from pg_stat_wal_receiver"));
        } catch (SQLException e) {
          return false;
        }
      });
    }
    return w;
  }

  /** Restores every stopped replica's {@code primary_conninfo} (idempotent). */
  @Override
  public void close() throws SQLException {
    for (var e : conninfo.entrySet()) {
      int port = PgCluster.port(e.getKey());
      Harness.execute(port, "alter system set primary_conninfo = '" + e.getValue().replace("'", "''") + "'");
      Harness.execute(port, "select pg_reload_conf()");
    }
    conninfo.clear();
  }
}
