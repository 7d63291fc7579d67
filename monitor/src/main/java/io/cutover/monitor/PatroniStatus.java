package io.cutover.monitor;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;

/**
 * Maps one answer of Patroni's {@code GET /patroni} to the {@link Observation} a SQL check would give. Pure and
 * I/O-free.
 *
 * <p>The answer is Patroni's member status, e.g. for a primary (Patroni 3.0.2, which Debian 12 ships):
 * <pre>{"state": "running", "role": "master", "server_version": 150010, "xlog": {"location": 50331968},
 *  "timeline": 2, "dcs_last_seen": 1700000000, "patroni": {"version": "3.0.2", "scope": "demo"}}</pre>
 * and for a replica {@code "role": "replica"} with
 * {@code "xlog": {"received_location": 50331968, "replayed_location": 50331968, "replayed_timestamp": null,
 * "paused": false}}. Patroni answers {@code 200} whatever the node's state.
 *
 * <ul>
 *   <li><b>State.</b> Only {@code state: running} is a successful check; any other state ({@code starting},
 *   {@code stopped}, {@code crashed}, {@code restarting}, {@code running custom bootstrap script}, {@code unknown}
 *   when Patroni cannot query a running server, ...) fails it with {@link FailureKind#ERROR} and the state as the
 *   reason: {@code Patroni reports state 'stopped'}. So does an HTTP status other than 200, an answer that is not a
 *   JSON object, or a missing or unknown role.</li>
 *   <li><b>Role.</b> {@code master} (Patroni 3), {@code primary} (Patroni 4) and {@code leader} are
 *   {@link Role#PRIMARY}; {@code replica} and {@code standby_leader} (the leader of a standby cluster, itself
 *   replicating from elsewhere) are {@link Role#REPLICA}.</li>
 *   <li><b>WAL positions</b> in bytes: a primary's {@code xlog.location} (its current WAL position), a replica's
 *   {@code xlog.received_location} and {@code xlog.replayed_location}; {@code -1} when absent or {@code null}. So lag,
 *   {@code read.max_lag}, candidates' positions and the RPO bound work as with SQL checks.</li>
 *   <li><b>Timeline:</b> {@code timeline}, {@code -1} when absent or {@code null}.</li>
 *   <li><b>WAL receiver</b> (the "following" rule of {@link TopologyRules}): Patroni 3.0.4 and later report
 *   {@code replication_state} ({@code streaming}, or {@code in archive recovery} without a replication connection
 *   but with a {@code restore_command}) and leave it out when neither holds: then no receiver runs ({@code null}).
 *   Earlier Patroni (3.0.2 among them) never reports it: the receiver is {@link Observation#UNREPORTED} and counts
 *   as streaming, as Patroni's own {@code GET /replica} (HAProxy's check) treats every running replica; the
 *   timeline rule still applies.</li>
 *   <li><b>Cluster flags</b> {@code pause} and {@code cluster_unlocked} ({@link PatroniFlags}) are read from every
 *   JSON answer, a failed check's too.</li>
 * </ul>
 */
public final class PatroniStatus {

  /** The path checked. */
  public static final String PATH = "/patroni";
  /** The first Patroni version that reports {@code replication_state}. */
  static final int[] REPORTS_RECEIVER_FROM = {3, 0, 4};

  private PatroniStatus() {
  }

  /**
   * @param target        the target's name
   * @param atMillis      when the answer arrived, epoch milliseconds
   * @param latencyMillis how long the request took, in milliseconds
   * @param httpStatus    the answer's HTTP status code
   * @param body          the answer's body as text, {@code null} for none
   * @return a successful observation, or a failed one with {@link FailureKind#ERROR} and the reason
   */
  public static Observation observe(String target, long atMillis, long latencyMillis, int httpStatus, String body) {
    JsonObject json = parse(body);
    PatroniFlags flags = json == null ? null
        : new PatroniFlags(Boolean.TRUE.equals(json.getValue("pause")),
            Boolean.TRUE.equals(json.getValue("cluster_unlocked")));
    String state = json == null ? null : text(json.getValue("state"));
    String error;
    if (httpStatus != 200) {
      error = "GET " + PATH + " answered HTTP " + httpStatus + (state == null ? "" : " (state '" + state + "')");
    } else if (json == null) {
      error = "GET " + PATH + " answered with no JSON object: " + snippet(body);
    } else if (state == null) {
      error = "Patroni reports no state";
    } else if (!state.equals("running")) {
      error = "Patroni reports state '" + state + "'";
    } else {
      error = null;
    }
    if (error != null) {
      return Observation.failed(target, atMillis, latencyMillis, FailureKind.ERROR, error).withPatroni(flags);
    }
    String roleText = text(json.getValue("role"));
    Role role = role(roleText);
    if (role == Role.UNKNOWN) {
      return Observation.failed(target, atMillis, latencyMillis, FailureKind.ERROR,
          roleText == null ? "Patroni reports no role" : "Patroni reports role '" + roleText + "'").withPatroni(flags);
    }
    long timeline = number(json.getValue("timeline"));
    JsonObject xlog = json.getValue("xlog") instanceof JsonObject x ? x : new JsonObject();
    Observation o = role == Role.PRIMARY
        ? Observation.primary(target, atMillis, latencyMillis, timeline, number(xlog.getValue("location")))
        : Observation.replica(target, atMillis, latencyMillis, timeline, number(xlog.getValue("received_location")),
            number(xlog.getValue("replayed_location")), receiver(json));
    return o.withPatroni(flags);
  }

  /** {@link Role#PRIMARY}, {@link Role#REPLICA} or, for anything else, {@link Role#UNKNOWN}. */
  static Role role(String role) {
    if (role == null) {
      return Role.UNKNOWN;
    }
    return switch (role) {
      case "master", "primary", "leader" -> Role.PRIMARY;
      case "replica", "standby_leader" -> Role.REPLICA;
      default -> Role.UNKNOWN;
    };
  }

  /** A replica's WAL receiver status, see the class comment. */
  static String receiver(JsonObject json) {
    String state = text(json.getValue("replication_state"));
    if (state != null) {
      return state;
    }
    Object serverVersion = json.getValue("server_version");
    boolean oldServer = serverVersion instanceof Number n && n.longValue() < 90600; // no pg_stat_get_wal_receiver()
    String version = json.getValue("patroni") instanceof JsonObject p ? text(p.getValue("version")) : null;
    return !oldServer && atLeast(version, REPORTS_RECEIVER_FROM) ? null : Observation.UNREPORTED;
  }

  /** Whether a dotted version such as {@code 3.0.2} or {@code 4.0.0rc1} is at least {@code min}; {@code false} if unreadable. */
  static boolean atLeast(String version, int[] min) {
    if (version == null) {
      return false;
    }
    String[] parts = version.trim().split("\\.");
    for (int i = 0; i < min.length; i++) {
      int n = i < parts.length ? leadingNumber(parts[i]) : 0;
      if (n < 0) {
        return false;
      }
      if (n != min[i]) {
        return n > min[i];
      }
    }
    return true;
  }

  private static int leadingNumber(String s) {
    int end = 0;
    while (end < s.length() && end < 9 && Character.isDigit(s.charAt(end))) {
      end++;
    }
    return end == 0 ? -1 : Integer.parseInt(s.substring(0, end));
  }

  private static JsonObject parse(String body) {
    if (body == null || body.isBlank()) {
      return null;
    }
    try {
      return Json.decodeValue(body) instanceof JsonObject o ? o : null;
    } catch (DecodeException e) {
      return null;
    }
  }

  private static String text(Object v) {
    return v instanceof String s ? s : null;
  }

  private static long number(Object v) {
    return v instanceof Number n && !(v instanceof Double || v instanceof Float) && n.longValue() >= 0 ? n.longValue() : -1;
  }

  /** The start of a body, on one line, quoted, for an error message. */
  static String snippet(String body) {
    if (body == null || body.isBlank()) {
      return "(empty)";
    }
    String s = body.replaceAll("\\s+", " ").trim();
    return "'" + (s.length() > 60 ? s.substring(0, 57) + "..." : s) + "'";
  }
}
