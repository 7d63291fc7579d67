package io.cutover.drill;

import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.Tuple;

import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The drill's client: inserts rows with increasing ids through the write endpoint every ~10 ms on one
 * connection, records every acknowledged id (with the time of its acknowledgement) and every failed
 * attempt, and reconnects after an error. Like a client with a timeout, it gives up on a connect or an
 * insert after {@value #ATTEMPT_TIMEOUT_MS} ms (a failed attempt; the connection is dropped), so that a
 * frozen server or proxy cannot hold it forever. Runs on a Vert.x event loop, never blocking it.
 */
final class DrillWriter {

  private final Vertx vertx;
  private final PgConnectOptions options;
  /** id → acknowledgement time, epoch milliseconds. */
  final ConcurrentSkipListMap<Long, Long> acked = new ConcurrentSkipListMap<>();
  /** id → port of the server that acknowledged it ({@code inet_server_port()}). */
  final ConcurrentSkipListMap<Long, Integer> ackedBy = new ConcurrentSkipListMap<>();
  final AtomicLong failedAttempts = new AtomicLong();
  volatile long lastFailureAt = -1;
  private long nextId;
  private PgConnection conn;
  private boolean busy;
  private long timer = -1;
  /** Numbers attempts, so that an attempt given up on is not completed again when it finally answers. */
  private long attempt;
  static final long ATTEMPT_TIMEOUT_MS = 5000;

  /** @param idBase ids start after this (writers of several instances share one table) */
  DrillWriter(Vertx vertx, String host, int port, long idBase) {
    this.vertx = vertx;
    this.nextId = idBase;
    this.options = new PgConnectOptions().setHost(host).setPort(port).setUser("postgres").setDatabase("postgres")
        .setProperties(Map.of("application_name", "cutover-drill"));
  }

  void start() {
    vertx.runOnContext(v -> timer = vertx.setPeriodic(10, id -> tick()));
  }

  void stop() {
    vertx.runOnContext(v -> {
      vertx.cancelTimer(timer);
      if (conn != null) {
        conn.close();
      }
    });
  }

  private void tick() {
    if (busy) {
      return;
    }
    busy = true;
    long mine = ++attempt;
    vertx.setTimer(ATTEMPT_TIMEOUT_MS, t -> {
      if (attempt == mine && busy) {
        attempt++;
        failed();
        dropConnection();
        busy = false;
      }
    });
    if (conn == null) {
      PgConnection.connect(vertx, options).onComplete(ar -> {
        if (attempt != mine) {
          if (ar.succeeded()) {
            ar.result().close();
          }
          return;
        }
        if (ar.succeeded()) {
          PgConnection c = ar.result();
          conn = c;
          c.exceptionHandler(err -> {
            if (conn == c) {
              dropConnection();
            }
          });
          c.closeHandler(v -> {
            if (conn == c) {
              conn = null;
            }
          });
        } else {
          failed();
        }
        busy = false;
      });
      return;
    }
    long id = ++nextId;
    conn.preparedQuery("insert into cutover_drill (id) values ($1) returning inet_server_port()").execute(Tuple.of(id))
        .onComplete(ar -> {
      if (attempt != mine) {
        return; // given up on: neither acknowledged nor counted again
      }
      if (ar.succeeded()) {
        ackedBy.put(id, ar.result().iterator().next().getInteger(0));
        acked.put(id, System.currentTimeMillis());
      } else {
        failed();
        dropConnection();
      }
      busy = false;
    });
  }

  private void failed() {
    failedAttempts.incrementAndGet();
    lastFailureAt = System.currentTimeMillis();
  }

  private void dropConnection() {
    PgConnection c = conn;
    conn = null;
    if (c != null) {
      c.close();
    }
  }

  /** The first acknowledgement at or after {@code millis} by a server other than the one on {@code oldPort}, or -1. */
  long firstAckAfter(long millis, int oldPort) {
    return acked.entrySet().stream().filter(e -> e.getValue() >= millis && ackedBy.get(e.getKey()) != oldPort)
        .mapToLong(Map.Entry::getValue).min().orElse(-1);
  }

  /** The port of the server behind {@link #firstAckAfter}, or -1. */
  int firstAckPort(long millis, int oldPort) {
    return acked.entrySet().stream().filter(e -> e.getValue() >= millis && ackedBy.get(e.getKey()) != oldPort)
        .min(Map.Entry.comparingByValue()).map(e -> ackedBy.get(e.getKey())).orElse(-1);
  }

  /** Writes the server on {@code port} acknowledged at or after {@code millis}. */
  long acksFrom(int port, long millis) {
    return acked.entrySet().stream().filter(e -> e.getValue() >= millis && ackedBy.get(e.getKey()) == port).count();
  }
}
