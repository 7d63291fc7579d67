package io.cutover.proxy.config;

import io.cutover.config.ConfigSection;
import io.cutover.config.Durations;
import io.vertx.core.json.JsonObject;

import java.time.Duration;

/**
 * The data plane's settings ({@code proxy} section).
 *
 * @param connectTimeout       {@code proxy.connect_timeout}: backend TCP connect timeout (default 2 s)
 * @param eventLoops           {@code proxy.event_loops}: event-loop threads, and listener instances per endpoint
 *                             (default: the number of CPU cores)
 * @param connectWait          {@code proxy.connect_wait}: how long a new write session waits for a primary while a
 *                             cutover is in flight or the primary is unreachable (default 5 s)
 * @param startupTimeout       {@code proxy.startup_timeout}: how long a new client may take to send its first packet,
 *                             and its startup packet after Cutover declined encryption with {@code N}, before it is
 *                             closed (default {@link #DEFAULT_STARTUP_TIMEOUT}, at least {@link #MIN_STARTUP_TIMEOUT});
 *                             Cutover's own wait for a backend does not count
 * @param maxClientConnections {@code proxy.max_client_connections}: client connections allowed on each endpoint
 *                             (default {@value #DEFAULT_MAX_CLIENT_CONNECTIONS}, 1 to {@value #MAX_MAX_CLIENT_CONNECTIONS});
 *                             a client beyond it gets {@code FATAL 53300}
 * @param keepalive            {@code proxy.keepalive}: TCP keepalive and user timeout of every client and backend
 *                             socket, so a session to a peer that vanished is closed within a bound
 *                             (default {@link KeepaliveOptions#defaults()}: within 60 s)
 */
public record ProxyOptions(Duration connectTimeout, int eventLoops, Duration connectWait, Duration startupTimeout,
                           int maxClientConnections, KeepaliveOptions keepalive) {

  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(2);
  public static final Duration DEFAULT_CONNECT_WAIT = Duration.ofSeconds(5);
  /**
   * Default {@code proxy.startup_timeout}: 10 s. A client on a slow or lossy network still sends a startup packet of
   * at most 10000 bytes well within it (TLS handshakes are relayed to the server and not covered), while a
   * connection that never completes its startup is released six times sooner than PostgreSQL's own
   * {@code authentication_timeout} or PgBouncer's {@code client_login_timeout} (60 s each) would, so idle junk
   * connections do not pile up.
   */
  public static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(10);
  /** Smallest {@code proxy.startup_timeout}: 100 ms (less would close clients that are merely slow to write). */
  public static final Duration MIN_STARTUP_TIMEOUT = Duration.ofMillis(100);

  /**
   * Default {@code proxy.max_client_connections}: 1000 per endpoint. Cutover does not pool, so every relayed session
   * is one server connection; the limit bounds Cutover's own resources (two sockets per session) against a runaway
   * client, well above PostgreSQL's default {@code max_connections} of 100. To keep the servers' reserved slots for
   * Cutover's checks and administrators, set it below {@code max_connections - superuser_reserved_connections}.
   */
  public static final int DEFAULT_MAX_CLIENT_CONNECTIONS = 1000;
  /** Largest {@code proxy.max_client_connections}. */
  public static final int MAX_MAX_CLIENT_CONNECTIONS = 1_000_000;

  /** Reads the {@code proxy} section; problems go to the section's {@link io.cutover.config.ConfigProblems}. */
  public static ProxyOptions fromConfig(ConfigSection proxy) {
    Duration connectTimeout = proxy.duration("connect_timeout", DEFAULT_CONNECT_TIMEOUT, Duration.ofMillis(10));
    int eventLoops = proxy.integer("event_loops", Runtime.getRuntime().availableProcessors(), 1, 1024);
    Duration connectWait = proxy.duration("connect_wait", DEFAULT_CONNECT_WAIT, Duration.ZERO);
    Duration startupTimeout = proxy.duration("startup_timeout", DEFAULT_STARTUP_TIMEOUT, MIN_STARTUP_TIMEOUT);
    int maxClientConnections = proxy.integer("max_client_connections", DEFAULT_MAX_CLIENT_CONNECTIONS, 1,
        MAX_MAX_CLIENT_CONNECTIONS);
    KeepaliveOptions keepalive = KeepaliveOptions.fromConfig(proxy.section("keepalive"));
    proxy.rejectUnknown();
    return new ProxyOptions(connectTimeout, eventLoops, connectWait, startupTimeout, maxClientConnections, keepalive);
  }

  /** Every setting at its default. */
  public static ProxyOptions defaults() {
    return new ProxyOptions(DEFAULT_CONNECT_TIMEOUT, Runtime.getRuntime().availableProcessors(), DEFAULT_CONNECT_WAIT,
        DEFAULT_STARTUP_TIMEOUT, DEFAULT_MAX_CLIENT_CONNECTIONS, KeepaliveOptions.defaults());
  }

  /** A copy with another {@code connect_timeout}. */
  public ProxyOptions withConnectTimeout(Duration d) {
    return new ProxyOptions(d, eventLoops, connectWait, startupTimeout, maxClientConnections, keepalive);
  }

  /** A copy with another {@code connect_wait}. */
  public ProxyOptions withConnectWait(Duration d) {
    return new ProxyOptions(connectTimeout, eventLoops, d, startupTimeout, maxClientConnections, keepalive);
  }

  /** A copy with another {@code startup_timeout}. */
  public ProxyOptions withStartupTimeout(Duration d) {
    return new ProxyOptions(connectTimeout, eventLoops, connectWait, d, maxClientConnections, keepalive);
  }

  /** A copy with another {@code max_client_connections}. */
  public ProxyOptions withMaxClientConnections(int n) {
    return new ProxyOptions(connectTimeout, eventLoops, connectWait, startupTimeout, n, keepalive);
  }

  /** A copy with other {@code keepalive} settings. */
  public ProxyOptions withKeepalive(KeepaliveOptions k) {
    return new ProxyOptions(connectTimeout, eventLoops, connectWait, startupTimeout, maxClientConnections, k);
  }

  /** The settings in effect, as logged at start-up and printed by {@code --check}. */
  public JsonObject toJson() {
    return new JsonObject().put("connect_timeout", Durations.format(connectTimeout))
        .put("event_loops", eventLoops).put("connect_wait", Durations.format(connectWait))
        .put("startup_timeout", Durations.format(startupTimeout)).put("max_client_connections", maxClientConnections)
        .put("keepalive", keepalive.toJson());
  }
}
