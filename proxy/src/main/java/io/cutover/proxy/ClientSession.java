package io.cutover.proxy;

import io.cutover.monitor.Errors;
import io.cutover.monitor.MonitorVerticle;
import io.cutover.monitor.Role;
import io.cutover.monitor.Target;
import io.cutover.monitor.Topology;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * The start of one client connection, up to the moment it becomes a {@link Relay}. Cutover reads only
 * the first packet:
 * <ul>
 *   <li>{@code SSLRequest}/{@code GSSENCRequest}: with a backend available, the request is forwarded and
 *       everything after it is relayed untouched (TLS runs end to end between client and server);
 *       without one, Cutover answers {@code N} and reads the next packet.</li>
 *   <li>{@code StartupMessage}: relayed to the chosen backend, whose first reply must not be {@code 57P03} (else it
 *       counts as a failed connect, {@link StartupReply}); without one, {@code FATAL 57P03} naming the endpoint and
 *       the reason, then close.</li>
 *   <li>{@code CancelRequest}: forwarded ({@link CancelRequests}), then the connection is closed, as PostgreSQL does.</li>
 *   <li>Anything else: {@code FATAL} {@code 08P01} and close.</li>
 * </ul>
 * A connection beyond {@code proxy.max_client_connections} ({@link ClientConnections}) is read the same way but never
 * connected: an encryption request gets {@code N}, a {@code StartupMessage} {@code FATAL 53300} naming the limit, a
 * {@code CancelRequest} is still forwarded. A client that has not sent a complete first packet within
 * {@code proxy.startup_timeout} (nor, after an {@code N} to its encryption request, its startup packet) gets
 * {@code FATAL 08P01} saying so and is closed; the timer runs only while Cutover reads the client. An encryption
 * handshake relayed to the server gets its own {@code proxy.startup_timeout} in the {@link Relay}; the rest of a
 * login is the server's ({@code authentication_timeout}). Runs on the listener instance's event loop; the backend is
 * connected from the same loop ({@link BackendConnector}) and the pair then becomes a {@link Relay}.
 */
final class ClientSession {

  private static final Logger LOG = LoggerFactory.getLogger(ClientSession.class);
  /** Bytes a client may send beyond its first packet before the backend is connected. */
  static final int MAX_EARLY_BYTES = 64 * 1024;

  private final Endpoint endpoint;
  private final NetSocket client;
  private final NetClient backends;
  private final BackendConnector connector;
  private final Channel channel;
  private final TopologyView view;
  private final SessionRegistry registry;
  private final Traffic traffic;
  private final ClientConnections connections;
  private final Vertx vertx;
  private final long connectWaitMillis;
  private final long startupTimeoutMillis;
  /** The running {@code proxy.startup_timeout} timer, or {@code -1}. */
  private long startupTimer = -1;
  /** The listener instance's context (the client channel's event loop), where the startup timer fires. */
  private ContextInternal context;
  /** Whether Cutover answered {@code N} to an encryption request (for the timeout's message). */
  private boolean encryptionDeclined;
  private long holdUntil;
  private Buffer pending = Buffer.buffer();
  private boolean dispatched;
  private boolean clientClosed;
  /** Whether this connection got a slot within {@code proxy.max_client_connections}. */
  private boolean admitted;

  ClientSession(Vertx vertx, Endpoint endpoint, NetSocket client, NetClient backends, BackendConnector connector,
                TopologyView view, SessionRegistry registry, Traffic traffic, ClientConnections connections,
                long connectWaitMillis, long startupTimeoutMillis) {
    this.connections = connections;
    this.vertx = vertx;
    this.connectWaitMillis = connectWaitMillis;
    this.startupTimeoutMillis = startupTimeoutMillis;
    this.endpoint = endpoint;
    this.client = client;
    this.backends = backends;
    this.connector = connector;
    this.channel = ((NetSocketInternal) client).channelHandlerContext().channel();
    this.view = view;
    this.registry = registry;
    this.traffic = traffic;
  }

  void start() {
    context = (ContextInternal) vertx.getOrCreateContext();
    admitted = connections.admit(endpoint, channel);
    client.handler(this::onData);
    client.closeHandler(v -> {
      clientClosed = true;
      stopStartupTimer();
    });
    client.exceptionHandler(err -> LOG.debug("{} client error before relay: {}", endpoint.label(), err.toString()));
    startStartupTimer();
  }

  /** Starts {@code proxy.startup_timeout} for the packet Cutover reads next. */
  private void startStartupTimer() {
    stopStartupTimer();
    startupTimer = context.setTimer(startupTimeoutMillis, id -> {
      startupTimer = -1;
      startupTimedOut();
    });
  }

  private void stopStartupTimer() {
    if (startupTimer != -1) {
      vertx.cancelTimer(startupTimer);
      startupTimer = -1;
    }
  }

  private void startupTimedOut() {
    if (dispatched || pending == null || clientClosed) {
      return;
    }
    traffic.startupTimeouts(endpoint).increment();
    int len = StartupPacket.length(pending);
    String received = pending.length() == 0 ? "nothing received"
        : len > 0 ? "received " + pending.length() + " of " + len + " bytes"
        : "received " + pending.length() + " bytes";
    String what = encryptionDeclined ? "no complete startup packet after the encryption request was declined"
        : "no complete startup packet";
    refuse(PgWire.PROTOCOL_VIOLATION, what + " within proxy.startup_timeout " + startupTimeoutMillis + " ms ("
        + received + ")");
  }

  private void onData(Buffer data) {
    if (pending == null) {
      return;
    }
    pending.appendBuffer(data);
    if (pending.length() > MAX_EARLY_BYTES) {
      // A client that sends this much before the server has answered its startup is not a PostgreSQL client.
      pending = Buffer.buffer();
      channel.config().setAutoRead(true);
      refuse(PgWire.PROTOCOL_VIOLATION, "too much data before the server's answer to the startup packet");
      return;
    }
    while (!dispatched) {
      int len = StartupPacket.length(pending);
      if (len == -1 || (len > 0 && pending.length() < len)) {
        return;
      }
      if (len == -2) {
        refuse(PgWire.PROTOCOL_VIOLATION, "invalid length of startup packet");
        return;
      }
      Buffer packet = pending.getBuffer(0, len);
      pending = pending.getBuffer(len, pending.length());
      dispatch(packet);
    }
  }

  private void dispatch(Buffer packet) {
    // a complete packet: from here Cutover acts (or refuses), no longer waits for the client
    stopStartupTimer();
    switch (StartupPacket.classify(packet)) {
      case SSL_REQUEST, GSSENC_REQUEST -> {
        if (admitted) {
          connect(packet, true);
        } else {
          declineEncryption();
        }
      }
      case STARTUP -> {
        if (admitted) {
          connect(packet, false);
        } else {
          connections.refused(endpoint);
          refuse(PgWire.TOO_MANY_CONNECTIONS, "too many client connections on the " + endpoint.label()
              + " endpoint (proxy.max_client_connections is " + connections.max() + ")");
        }
      }
      case CANCEL_REQUEST -> cancel(packet);
      default -> refuse(PgWire.PROTOCOL_VIOLATION, StartupPacket.invalidReason(packet));
    }
  }

  private void connect(Buffer packet, boolean encryptionRequest) {
    dispatched = true;
    // Stop reading from the client until the backend is up. Not NetSocket.pause(): bytes of the current
    // read batch must keep arriving in this session's own buffer, which is handed to the relay.
    channel.config().setAutoRead(false);
    attempt(packet, encryptionRequest);
  }

  private void attempt(Buffer packet, boolean encryptionRequest) {
    if (clientClosed || pending == null) {
      return;
    }
    Route route = view.route(endpoint);
    if (!route.routable()) {
      holdOrFail(packet, encryptionRequest, route.reason());
      return;
    }
    tryConnect(route.candidates(), route.fallback(), 0, new ArrayList<>(), packet, encryptionRequest);
  }

  /**
   * Connection hold: a new write session waits up to {@code proxy.connect_wait} for a primary while a cutover
   * is in flight or the primary that was routed has become unreachable, re-trying every 25 ms; past that it
   * gets the 57P03 ErrorResponse. Without any primary ever seen (or on the read endpoint) it fails at once.
   */
  private void holdOrFail(Buffer packet, boolean encryptionRequest, String reason) {
    if (endpoint == Endpoint.WRITE && connectWaitMillis > 0 && holdable()) {
      long now = System.currentTimeMillis();
      if (holdUntil == 0) {
        holdUntil = now + connectWaitMillis;
        traffic.held(endpoint).increment();
      }
      if (now < holdUntil) {
        vertx.setTimer(25, id -> attempt(packet, encryptionRequest));
        return;
      }
      reason += "; waited " + connectWaitMillis + " ms (proxy.connect_wait)";
    }
    dispatched = false;
    channel.config().setAutoRead(true);
    if (encryptionRequest) {
      declineEncryption();
      // continue with whatever the client already sent after its SSLRequest
      channel.eventLoop().execute(() -> onData(Buffer.buffer()));
    } else {
      traffic.refused(endpoint).increment();
      refuse(PgWire.CANNOT_CONNECT_NOW, reason);
    }
  }

  /**
   * Answers {@code N} to an encryption request: the client continues in plain text with its StartupMessage (or
   * gives up), which it owes within a fresh {@code proxy.startup_timeout}.
   */
  private void declineEncryption() {
    client.write(PgWire.refuseEncryption());
    encryptionDeclined = true;
    startStartupTimer();
  }

  /**
   * Whether a primary may come: a cutover is in flight, or a primary was seen and an automatic failover can
   * still promote another (not in maintenance mode nor {@code mode: manual}, which say so in the reason).
   */
  private boolean holdable() {
    var t = view.current();
    return t.cutover() != null
        || (t.failoverPaused() == null && t.targets().stream().anyMatch(s -> s.role() == Role.PRIMARY));
  }

  /**
   * Connects to {@code candidates[index]}: the session is registered under that target first and the
   * topology re-read, so a fence running at the same instant either shows in the re-read (the target is
   * skipped) or finds the registration (its connect is reset and the session goes back to routing). A
   * fenced session is never handed off and its client never dropped silently: it is routed again, i.e.
   * held for {@code proxy.connect_wait} on the write endpoint while a cutover is in flight, then 57P03.
   */
  private void tryConnect(List<Target> candidates, boolean fallback, int index, List<String> failures, Buffer packet,
                          boolean encryptionRequest) {
    if (index == candidates.size()) {
      String what = endpoint == Endpoint.WRITE ? "no primary reachable for the write endpoint"
          : "no replica reachable for the read endpoint";
      holdOrFail(packet, encryptionRequest, what + " (" + String.join("; ", failures) + ")");
      return;
    }
    Target target = candidates.get(index);
    // a read session that fell back to the primary (no replica readable) is not ended by the primary staying
    // primary, unlike a session routed to a replica that gets promoted
    Registration registration = registry.register(endpoint, target, fallback);
    ChannelFuture connecting = shut(target, fallback) ? null : registration.connect(() -> connector.connect(channel, target));
    if (connecting == null) {
      registration.release();
      reroute(target, packet, encryptionRequest);
      return;
    }
    connecting.addListener((ChannelFuture f) -> {
      if (registration.isFenced()) {
        registration.release();
        reroute(target, packet, encryptionRequest);
        return;
      }
      Runnable next = () -> tryConnect(candidates, fallback, index + 1, failures, packet, encryptionRequest);
      if (!f.isSuccess()) {
        failed(registration, target, Errors.describe(f.cause()), failures, next);
        return;
      }
      Channel backend = f.channel();
      if (clientClosed || pending == null || !channel.isActive()) {
        registration.release();
        return;
      }
      if (encryptionRequest) {
        pair(registration, target, backend, packet, true, packet.appendBuffer(pending), null);
        return;
      }
      Buffer sent = pending;
      pending = Buffer.buffer();
      StartupReply.watch(backend, Unpooled.wrappedBuffer(packet.copy().appendBuffer(sent).getBytes()),
          connector.connectTimeoutMillis(), outcome -> {
            boolean usable = outcome.reply() != null;
            if (pending != null && !usable) {
              pending = sent.appendBuffer(pending); // for the next server
            }
            if (usable && !registration.isFenced() && !clientClosed && pending != null && channel.isActive()) {
              pair(registration, target, backend, packet, false, pending, outcome.reply());
              return;
            }
            if (usable) {
              outcome.reply().release();
              backend.close();
            }
            if (clientClosed || pending == null || !channel.isActive()) {
              registration.release();
            } else if (registration.isFenced()) {
              registration.release();
              reroute(target, packet, false);
            } else {
              failed(registration, target, outcome.unavailable(), failures, next);
            }
          });
    });
  }

  /** A backend connect failed (or the server could not take the session): a hint to the monitor, then {@code next}. */
  private void failed(Registration registration, Target target, String why, List<String> failures, Runnable next) {
    registration.release();
    failures.add(target.name() + " (" + target.address() + "): " + why);
    registry.connectFailed(target.name());
    // a failed connect is a hint, never a verdict: the monitor re-checks the target at once
    vertx.eventBus().send(MonitorVerticle.HINT_ADDRESS, target.name(), MonitorVerticle.LOCAL);
    next.run();
  }

  /**
   * Pairs the session with its registration and hands it to a {@link Relay}: {@code toBackend} is written to the
   * server, {@code toClient} (the server's first reply, already read) to the client.
   */
  private void pair(Registration registration, Target target, Channel backend, Buffer packet, boolean encryptionRequest,
                    Buffer toBackend, ByteBuf toClient) {
    Relay relay = new Relay(endpoint, target, channel, backend, registration, traffic,
        encryptionRequest ? startupTimeoutMillis : 0);
    if (!registration.pair(relay)) {
      // fenced between the check above and now: the fence is resetting the backend
      if (toClient != null) {
        toClient.release();
      }
      registration.release();
      reroute(target, packet, encryptionRequest);
      return;
    }
    LOG.debug("{} session {} -> {}", endpoint.label(), client.remoteAddress(), target.name());
    handOff(relay, toBackend, toClient);
  }

  /**
   * Whether the newest snapshot ends a session to {@code target} as {@link SessionEnforcement#ends} would (fenced,
   * or a read session whose replica stopped being one), or no longer knows the target. Re-read after registering:
   * an enforcement that ran before the registration shows here, a later one finds the registration.
   */
  private boolean shut(Target target, boolean fallback) {
    Topology now = view.current();
    return now.target(target.name()).map(t -> SessionEnforcement.ends(now, t, endpoint, fallback)).orElse(true);
  }

  /** A fence caught this session before its hand-off: route it again by the newest snapshot. */
  private void reroute(Target target, Buffer packet, boolean encryptionRequest) {
    LOG.debug("{} session {}: {} fenced before the hand-off; routing again", endpoint.label(), client.remoteAddress(),
        target.name());
    attempt(packet, encryptionRequest);
  }

  /** From here on the session is the {@link Relay}'s: {@code initial} to the server, {@code toClient} to the client. */
  private void handOff(Relay relay, Buffer initial, ByteBuf toClient) {
    pending = null;
    relay.start(Unpooled.wrappedBuffer(initial.getBytes()), toClient);
  }

  private void refuse(String sqlState, String reason) {
    stopStartupTimer();
    dispatched = true;
    pending = null;
    LOG.debug("{} session {} refused: {} {}", endpoint.label(), client.remoteAddress(), sqlState, reason);
    client.pause();
    client.end(PgWire.fatal(sqlState, "cutover: " + reason)).onComplete(v -> client.close());
  }

  private void cancel(Buffer packet) {
    dispatched = true;
    CancelRequests.forward(packet, registry, view, backends, connector.connectTimeoutMillis());
    client.close();
  }
}
