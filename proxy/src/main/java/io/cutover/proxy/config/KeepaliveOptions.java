package io.cutover.proxy.config;

import io.cutover.config.ConfigSection;
import io.cutover.config.Durations;
import io.vertx.core.json.JsonObject;

import java.time.Duration;

/**
 * How Cutover notices a dead peer ({@code proxy.keepalive} section): TCP keepalive, and optionally
 * {@code TCP_USER_TIMEOUT}, on every client and backend socket of a session.
 *
 * <p>A peer that vanished without a reset or a FIN (a host powered off, a cut link, a NAT or firewall that
 * forgot the connection) leaves an idle session open forever unless the kernel probes it. With keepalive,
 * Linux sends the first probe after {@code idle} without a received segment, then one every {@code interval},
 * and drops the connection when {@code count} probes in a row went unanswered: an idle session to a dead peer
 * is closed within {@link #deadPeerBound() idle + interval × count} (60 s with the defaults). Both halves of
 * the session are closed then (the other peer sees a normal end of its connection).
 *
 * <p>Keepalive sends no probe while sent data is unacknowledged; such a connection is bounded by the
 * retransmission timeout instead (about 15 minutes with Linux's {@code net.ipv4.tcp_retries2} = 15), unless
 * {@code user_timeout} is set: then no data may stay unacknowledged, or unsent because the peer's receive
 * window is zero, for longer than {@code user_timeout} (tcp(7)), and it also replaces {@code count} for an idle
 * connection: it is dropped at the first unanswered probe once {@code user_timeout} has passed since the
 * peer was last heard.
 *
 * @param idleSeconds     {@code proxy.keepalive.idle}: seconds without a received segment before the first
 *                        probe ({@code TCP_KEEPIDLE}), 1 to 32767; default 30
 * @param intervalSeconds {@code proxy.keepalive.interval}: seconds between unanswered probes
 *                        ({@code TCP_KEEPINTVL}), 1 to 32767; default 10
 * @param count           {@code proxy.keepalive.count}: unanswered probes before the connection is dropped
 *                        ({@code TCP_KEEPCNT}), 1 to 127; default 3
 * @param userTimeout     {@code proxy.keepalive.user_timeout}: {@code TCP_USER_TIMEOUT}, or {@link Duration#ZERO}
 *                        for off (the default; see {@link #DEFAULT_USER_TIMEOUT} for why); set only on the native
 *                        epoll transport (the JDK's NIO sockets have no such option)
 */
public record KeepaliveOptions(int idleSeconds, int intervalSeconds, int count, Duration userTimeout) {

  /** Largest {@code idle} and {@code interval} Linux accepts ({@code MAX_TCP_KEEPIDLE}, {@code MAX_TCP_KEEPINTVL}). */
  public static final int MAX_SECONDS = 32767;
  /** Largest {@code count} Linux accepts ({@code MAX_TCP_KEEPCNT}). */
  public static final int MAX_COUNT = 127;
  /**
   * Default {@code idle}: 30 s. Short enough that a dead idle peer is noticed within a minute and that an idle
   * session keeps its entry in NAT tables and stateful firewalls (which commonly forget idle connections after
   * 4 to 5 minutes, e.g. cloud load balancers at 350 s); a probe is one empty segment each way per idle session.
   * Linux's own default (7200 s) leaves a dead peer's session open for over two hours.
   */
  public static final int DEFAULT_IDLE = 30;
  /** Default {@code interval}: 10 s. */
  public static final int DEFAULT_INTERVAL = 10;
  /** Default {@code count}: 3 (a single lost probe on a lossy link does not close a healthy session). */
  public static final int DEFAULT_COUNT = 3;
  /**
   * Default {@code user_timeout}: off, as in PostgreSQL, libpq and PgBouncer ({@code tcp_user_timeout = 0}). Besides
   * dead peers it also closes live ones that stop reading for that long while data waits for them: a client
   * paused in the middle of a large result, a server whose {@code COPY FROM} waits on a lock while the client
   * keeps sending. Set it when sessions with data in flight must end within a bound too.
   */
  public static final Duration DEFAULT_USER_TIMEOUT = Duration.ZERO;
  /** Smallest {@code user_timeout}: 100 ms. */
  public static final Duration MIN_USER_TIMEOUT = Duration.ofMillis(100);
  /** Largest {@code user_timeout}: 24 h (the socket option, in milliseconds, would allow 24 days). */
  public static final Duration MAX_USER_TIMEOUT = Duration.ofHours(24);

  /** Reads the {@code proxy.keepalive} section; problems go to the section's {@link io.cutover.config.ConfigProblems}. */
  public static KeepaliveOptions fromConfig(ConfigSection s) {
    int idle = s.seconds("idle", DEFAULT_IDLE, 1, MAX_SECONDS);
    int interval = s.seconds("interval", DEFAULT_INTERVAL, 1, MAX_SECONDS);
    int count = s.integer("count", DEFAULT_COUNT, 1, MAX_COUNT);
    Duration userTimeout = s.durationOrOff("user_timeout", DEFAULT_USER_TIMEOUT, MIN_USER_TIMEOUT, MAX_USER_TIMEOUT);
    s.rejectUnknown();
    return new KeepaliveOptions(idle, interval, count, userTimeout);
  }

  /** Every setting at its default: a dead idle peer is noticed within 60 s. */
  public static KeepaliveOptions defaults() {
    return new KeepaliveOptions(DEFAULT_IDLE, DEFAULT_INTERVAL, DEFAULT_COUNT, DEFAULT_USER_TIMEOUT);
  }

  /** Whether {@code TCP_USER_TIMEOUT} is set. */
  public boolean hasUserTimeout() {
    return !userTimeout.isZero();
  }

  /**
   * The longest an idle session (nothing unacknowledged) to a dead peer stays open, measured from the last
   * segment received from the peer: {@code idle + interval × count}; with {@code user_timeout} set, the first
   * probe time {@code idle + interval × k} (k ≥ 1) that is at least {@code user_timeout}.
   */
  public Duration deadPeerBound() {
    if (!hasUserTimeout()) {
      return Duration.ofSeconds(idleSeconds + (long) intervalSeconds * count);
    }
    long probes = Math.max(1, (userTimeout.toMillis() - idleSeconds * 1000L + intervalSeconds * 1000L - 1)
        / (intervalSeconds * 1000L));
    return Duration.ofSeconds(idleSeconds + intervalSeconds * probes);
  }

  /** The settings in effect, as logged at start-up and printed by {@code --check}. */
  public JsonObject toJson() {
    return new JsonObject().put("idle", idleSeconds + "s").put("interval", intervalSeconds + "s").put("count", count)
        .put("user_timeout", hasUserTimeout() ? Durations.format(userTimeout) : "off");
  }
}
