package io.cutover.monitor;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * "One Cutover per cluster, or a clear warning": each instance keeps a row with its identity in the table
 * {@value #TABLE} on the primary it routes writes to, and reads the other rows, so that a second Cutover acting
 * on the same servers (outside this instance's own Hazelcast cluster) is noticed and named in a WARN log line,
 * once per other instance (again only if it disappears and comes back), and listed in {@code /api/v1/cluster}.
 * It is a warning, never an input to failover decisions.
 *
 * <p>The heartbeat rides on the role checks: after a successful check of the routed primary (no cutover in
 * flight), at the first such check at least {@link Options#heartbeat()} after the last heartbeat, one short session ({@link BoundedSession}, bounded by
 * {@code checks.timeout}, {@code application_name=cutover-presence}, {@code synchronous_commit=local} so that it
 * never waits for a replica) upserts this instance's row (pruning rows older than a day), creating the table when
 * it is missing, and reads every row; {@link OtherCutovers} decides who counts. A row stops counting
 * {@value OtherCutovers#STALE_HEARTBEATS} of its own heartbeats after its last refresh; {@link #leave} deletes
 * this instance's row on a clean stop.
 *
 * <p>Failures never disturb the monitor: a server's refusal (no permission to create the table or write it,
 * read-only primary) is logged once at WARN with the reason and what it costs, and once at INFO when that step
 * works again; a connection that fails or times out is the role checks' business and logged at DEBUG only.
 * All methods run on the monitor's event loop.
 */
public final class Presence {

  /** The marker table, in the {@code checks.database} and the check user's default schema. */
  public static final String TABLE = "cutover_instances";
  /** Default {@code presence.heartbeat}: 10 s. */
  public static final Duration DEFAULT_HEARTBEAT = Duration.ofSeconds(10);
  /** The smallest accepted heartbeat: 100 ms. */
  public static final Duration MIN_HEARTBEAT = Duration.ofMillis(100);
  /** {@code application_name} of the presence sessions. */
  public static final String APPLICATION_NAME = "cutover-presence";

  /** The table, as created when missing. */
  public static final String CREATE = "create table if not exists " + TABLE + " (id text primary key, cluster text,"
      + " host text not null, http text, pid bigint, heartbeat_ms bigint not null,"
      + " started_at timestamptz not null, seen_at timestamptz not null)";
  static final String UPSERT = "with pruned as (delete from " + TABLE + " where seen_at < now() - interval '1 day')"
      + " insert into " + TABLE + " (id, cluster, host, http, pid, heartbeat_ms, started_at, seen_at)"
      + " values ($1, $2, $3, $4, $5, $6, now(), now()) on conflict (id) do update set cluster = excluded.cluster,"
      + " host = excluded.host, http = excluded.http, pid = excluded.pid, heartbeat_ms = excluded.heartbeat_ms,"
      + " seen_at = now()";
  static final String SELECT = "select id, cluster, host, http, pid, heartbeat_ms, started_at, seen_at, now() as now"
      + " from " + TABLE + " order by seen_at desc limit 200";
  static final String DELETE = "delete from " + TABLE + " where id = $1";
  /** How long after a refused create or write this instance asks again (the reads go on meanwhile): 1 h. */
  static final Duration WRITE_RETRY = Duration.ofHours(1);
  /** SQLSTATE {@code undefined_table}. */
  static final String UNDEFINED_TABLE = "42P01";

  private static final Logger LOG = LoggerFactory.getLogger(Presence.class);

  /**
   * The {@code presence} configuration section.
   *
   * @param enabled   {@code presence.enabled}: write and read the marker table (default {@code true})
   * @param heartbeat {@code presence.heartbeat}: how often this instance refreshes its row and reads the others,
   *                  at least {@link #MIN_HEARTBEAT}; others count it as gone {@value OtherCutovers#STALE_HEARTBEATS}
   *                  heartbeats after its last refresh
   */
  public record Options(boolean enabled, Duration heartbeat) {
    /** Enabled, every {@link #DEFAULT_HEARTBEAT}. */
    public static final Options DEFAULT = new Options(true, DEFAULT_HEARTBEAT);

    /** @throws IllegalArgumentException for a heartbeat below {@link #MIN_HEARTBEAT} */
    public Options {
      if (heartbeat == null || heartbeat.compareTo(MIN_HEARTBEAT) < 0) {
        throw new IllegalArgumentException("presence.heartbeat must be at least " + MIN_HEARTBEAT.toMillis()
            + " ms: " + heartbeat);
      }
    }
  }

  /**
   * Who this instance is, as written to its row.
   *
   * @param id      random, 12 hex digits, new at every start ({@link #newId()})
   * @param cluster the Hazelcast cluster name when clustered, else {@code null}
   * @param host    this machine's host name ({@link #localHostName()})
   * @param http    the HTTP listener, {@code host:port}
   * @param pid     this process's id
   */
  public record Identity(String id, String cluster, String host, String http, long pid) {
    /** A new random instance id: 12 hex digits. */
    public static String newId() {
      return UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    }

    /**
     * The kernel's host name ({@code /proc/sys/kernel/hostname}, else {@code /etc/hostname}, else the
     * {@code HOSTNAME} variable, else {@code unknown}); no DNS lookup. Reads a file: call it off the event loop.
     */
    public static String localHostName() {
      for (String file : List.of("/proc/sys/kernel/hostname", "/etc/hostname")) {
        try {
          String name = Files.readString(Path.of(file)).trim();
          if (!name.isEmpty()) {
            return name;
          }
        } catch (Exception e) {
          // next source
        }
      }
      String env = System.getenv("HOSTNAME");
      return env == null || env.isBlank() ? "unknown" : env.trim();
    }

    /** {@code {"id", "cluster", "host", "http", "pid"}}. */
    public JsonObject toJson() {
      return new JsonObject().put("id", id).put("cluster", cluster).put("host", host).put("http", http).put("pid", pid);
    }
  }

  private final Vertx vertx;
  private CheckOptions checks;
  private final Options options;
  private final Identity me;
  private final OtherCutovers others = new OtherCutovers();
  /** Step ("create", "write", "read") → the refusal last logged for it. */
  private final Map<String, String> problems = new HashMap<>();
  private long lastBeatNanos;
  private boolean beaten;
  private Future<Void> inFlight = Future.succeededFuture();
  private Target lastWritten;
  private boolean stopped;
  /** After a server refused to create or write the table: no write before this (System.nanoTime()), reads go on. */
  private long writeRetryAtNanos;
  private boolean writeRefused;

  /**
   * @param checks  the check credentials and {@code checks.timeout}, which bounds every session
   * @param options whether and how often
   * @param me      this instance
   */
  public Presence(Vertx vertx, CheckOptions checks, Options options, Identity me) {
    this.vertx = vertx;
    this.checks = checks;
    this.options = options;
    this.me = me;
  }

  /** A reload: sessions from now on use these check credentials and {@code checks.timeout}. */
  public void checks(CheckOptions next) { this.checks = next; }

  public Identity identity() {
    return me;
  }

  /**
   * The heartbeat written to this instance's row ({@code heartbeat_ms}), milliseconds: {@code presence.heartbeat}
   * plus {@code checks.interval}, the longest time between two refreshes while the primary's checks are on time
   * (a heartbeat is due at the first check of the primary at least {@code presence.heartbeat} after the last one).
   */
  public long beatMillis() {
    return options.heartbeat().toMillis() + checks.getInterval().toMillis();
  }

  /** The other Cutovers active on these servers as of the last successful read, sorted by id. */
  public List<OtherCutovers.Instance> others() {
    return others.current();
  }

  /**
   * For {@code /api/v1/cluster}: {@code {"instance": {"id", "cluster", "host", "http", "pid"}, "enabled": true,
   * "heartbeat_ms": 11000, "problems": {"write": "25006 cannot execute INSERT in a read-only transaction"}}};
   * {@code problems} holds the refusals in effect per step ({@code create}, {@code write}, {@code read}).
   */
  public JsonObject toJson() {
    JsonObject refusals = new JsonObject();
    problems.forEach(refusals::put);
    return new JsonObject().put("instance", me.toJson()).put("enabled", options.enabled())
        .put("heartbeat_ms", beatMillis()).put("problems", refusals);
  }

  /** {@link #others()} as JSON ({@link OtherCutovers.Instance#toJson()} each); {@code null} when disabled. */
  public io.vertx.core.json.JsonArray othersJson() {
    return options.enabled() ? others.toJson() : null;
  }

  /**
   * A check found {@code target} to be the routed primary: refreshes this instance's row there and reads the
   * others, if a heartbeat is due and none is in flight. Returns at once.
   */
  public void primaryAnswered(Target target) {
    long now = System.nanoTime();
    if (!options.enabled() || stopped || !inFlight.isComplete()
        || beaten && now - lastBeatNanos < options.heartbeat().toNanos()) {
      return;
    }
    beaten = true;
    lastBeatNanos = now;
    inFlight = BoundedSession.run(vertx, sessionOptions(target), Deadline.in(checks.getTimeout(), "checks.timeout"),
            "presence heartbeat on " + target.name(),
            conn -> write(conn, target).compose(v -> read(conn).onFailure(e -> refused("read", target, e))))
        .onSuccess(snapshot -> apply(target, snapshot))
        .onFailure(err -> LOG.debug("presence heartbeat on {} failed: {}", target.name(), Errors.describe(err)))
        .<Void>mapEmpty().otherwiseEmpty();
  }

  /**
   * Stops the heartbeats and deletes this instance's row — on {@code primary} (the routed primary, or
   * {@code null} for the server last written), after the heartbeat in flight. Bounded by twice
   * {@code checks.timeout}; always succeeds (a failure is logged at INFO: the row goes stale by itself).
   */
  public Future<Void> leave(Target primary) {
    stopped = true;
    if (!options.enabled()) {
      return Future.succeededFuture();
    }
    return inFlight.compose(v -> {
      Target on = primary != null ? primary : lastWritten;
      if (lastWritten == null || on == null) {
        return Future.succeededFuture(); // never written: nothing to delete
      }
      return BoundedSession.run(vertx, sessionOptions(on), Deadline.in(checks.getTimeout(), "checks.timeout"),
              "presence: deleting this instance's row on " + on.name(),
              conn -> conn.preparedQuery(DELETE).execute(Tuple.of(me.id())))
          .onSuccess(rows -> LOG.info("presence: deleted this instance's row ({}) from {} on {}", me.id(), TABLE,
              on.name()))
          .onFailure(err -> LOG.info("{} (the row counts as gone {} heartbeats after its last refresh)",
              Errors.describe(err), OtherCutovers.STALE_HEARTBEATS))
          .<Void>mapEmpty().otherwiseEmpty();
    });
  }

  /**
   * The other Cutovers active on one server, as a reader that is no member of any Cutover cluster sees them
   * (the drill's pre-flight): every fresh row counts. A missing table means none.
   *
   * @param connect  where and how to connect
   * @param deadline bounds connect and query
   * @return the active instances, sorted by id; failed as {@link BoundedSession#run} fails
   */
  public static Future<List<OtherCutovers.Instance>> activeOn(Vertx vertx, PgConnectOptions connect, Deadline deadline) {
    return BoundedSession.run(vertx, connect, deadline, "reading " + TABLE + " on " + connect.getHost() + ":"
            + connect.getPort(), Presence::read)
        .map(s -> s.now() == null ? List.of() : OtherCutovers.active(s.rows(), null, null, s.now()));
  }

  // ---- one heartbeat ----

  private record Snapshot(Instant now, List<OtherCutovers.Instance> rows) {
  }

  private PgConnectOptions sessionOptions(Target target) {
    PgConnectOptions o = checks.connectOptions(target.host(), target.port(), APPLICATION_NAME);
    Map<String, String> props = new HashMap<>(o.getProperties());
    props.put("synchronous_commit", "local");
    return o.setProperties(props);
  }

  /**
   * Upserts my row; creates the table when it is missing. Never fails: a refusal is noted (once, as the step that
   * was refused) and the read goes on.
   */
  private Future<Void> write(PgConnection conn, Target target) {
    if (writeRefused && System.nanoTime() - writeRetryAtNanos < 0) {
      // a refused statement is an ERROR line in the server's log: ask again only once per WRITE_RETRY
      return Future.succeededFuture();
    }
    Tuple row = Tuple.tuple().addString(me.id()).addString(me.cluster()).addString(me.host()).addString(me.http())
        .addLong(me.pid()).addLong(beatMillis());
    return conn.preparedQuery(UPSERT).execute(row)
        .recover(err -> {
          if (!sqlState(err, UNDEFINED_TABLE)) {
            refused("write", target, err);
            return Future.failedFuture(err);
          }
          // a failed create is reported only if the table is still missing: another instance may have won the race
          return conn.query(CREATE).execute()
              .onSuccess(r -> LOG.info("presence: created table {} on {}", TABLE, target.name()))
              .transform(created -> conn.preparedQuery(UPSERT).execute(row).onFailure(e -> {
                if (created.failed()) {
                  refused("create", target, created.cause());
                } else {
                  refused("write", target, e);
                }
              }));
        })
        .onSuccess(r -> {
          writeRefused = false;
          lastWritten = target;
          resolved("create", target);
          resolved("write", target);
        })
        .<Void>mapEmpty().otherwiseEmpty();
  }

  private static Future<Snapshot> read(PgConnection conn) {
    return conn.query(SELECT).execute()
        .map(rows -> {
          List<OtherCutovers.Instance> out = new ArrayList<>();
          Instant now = null;
          for (Row r : rows) {
            now = instant(r, "now");
            Long pid = r.getLong("pid");
            Long beat = r.getLong("heartbeat_ms");
            out.add(new OtherCutovers.Instance(r.getString("id"), r.getString("cluster"), r.getString("host"),
                r.getString("http"), pid == null ? -1 : pid, beat == null ? -1 : beat, instant(r, "started_at"),
                instant(r, "seen_at")));
          }
          return new Snapshot(now, out);
        })
        .recover(err -> sqlState(err, UNDEFINED_TABLE) ? Future.succeededFuture(new Snapshot(null, List.of()))
            : Future.failedFuture(err));
  }

  private void apply(Target target, Snapshot snapshot) {
    resolved("read", target);
    List<OtherCutovers.Instance> active = snapshot.now() == null ? List.of()
        : OtherCutovers.active(snapshot.rows(), me.id(), me.cluster(), snapshot.now());
    OtherCutovers.Changes changes = others.update(active);
    for (OtherCutovers.Instance other : changes.appeared()) {
      LOG.warn("another Cutover acts on the same servers: {}, seen in {} on {}; this instance is {} ({}). Two Cutovers "
              + "that fail over the same servers independently can both promote; stop one, or run them as one cluster "
              + "(cluster.enabled, the same cluster.name)", other.describe(), TABLE, target.name(), me.id(),
          me.cluster() == null ? "unclustered" : "cluster " + me.cluster());
    }
    for (OtherCutovers.Instance other : changes.gone()) {
      LOG.info("{} is no longer seen on {} (its row is gone or older than {} of its heartbeats)",
          other.describe(), target.name(), OtherCutovers.STALE_HEARTBEATS);
    }
  }

  /** A server refused a step: logged at WARN once per distinct refusal; connection trouble at DEBUG only. */
  private void refused(String step, Target target, Throwable err) {
    if (!(unwrap(err) instanceof PgException)) {
      LOG.debug("presence {} on {} failed: {}", step, target.name(), Errors.describe(err));
      return;
    }
    if (!step.equals("read")) {
      writeRefused = true;
      writeRetryAtNanos = System.nanoTime() + WRITE_RETRY.toNanos();
    }
    String reason = Errors.describe(unwrap(err));
    if (reason.equals(problems.put(step, reason))) {
      return;
    }
    String what = switch (step) {
      case "create" -> "cannot create table " + TABLE;
      case "write" -> "cannot write this instance's row in " + TABLE;
      default -> "cannot read " + TABLE;
    };
    String cost = switch (step) {
      case "create" -> "no other Cutover on these servers can be noticed. Create the table as its owner and grant the "
          + "check user select, insert, update, delete on it (README \"One Cutover per cluster\")";
      case "write" -> "other Cutovers on these servers cannot notice this one";
      default -> "no other Cutover on these servers can be noticed";
    };
    LOG.warn("presence on {}: {}: {}. Carrying on without it (asking again in {} min): {}", target.name(), what, reason,
        WRITE_RETRY.toMinutes(), cost);
  }

  private void resolved(String step, Target target) {
    if (problems.remove(step) != null) {
      LOG.info("presence: the {} step on {} works again", step, target.name());
    }
  }

  private static boolean sqlState(Throwable err, String state) {
    return unwrap(err) instanceof PgException pg && state.equals(pg.getSqlState());
  }

  private static Throwable unwrap(Throwable err) {
    for (Throwable t = err; t != null; t = t.getCause()) {
      if (t instanceof PgException) {
        return t;
      }
    }
    return err;
  }

  private static Instant instant(Row r, String column) {
    OffsetDateTime t = r.getOffsetDateTime(column);
    return t == null ? null : t.toInstant();
  }
}
