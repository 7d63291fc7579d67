package io.cutover.proxy;

import io.cutover.monitor.Target;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * One relayed session: the client's channel paired with the backend's, bytes copied both ways on the
 * one event loop both channels share, following Netty's proxy example ({@code HexDumpProxyFrontendHandler}):
 * each read is written to the other side without copying and flushed when the read batch completes.
 *
 * <p><b>Backpressure:</b> when the destination's outbound buffer passes its high water mark (Netty's
 * {@code WRITE_BUFFER_WATER_MARK}, 64 KiB by default) the source stops reading (auto-read off) until the
 * destination drains below the low mark, so at most about one water mark per direction is held in memory.
 * A close or error on either side closes the other after flushing what was already read ({@link #close});
 * a fence closes both at once and resets the backend, dropping whatever was not yet written ({@link #abort}).
 *
 * <p><b>Relayed encryption handshake:</b> a session that began with an {@code SSLRequest}/{@code GSSENCRequest}
 * forwarded to the server is the client's to continue (a TLS ClientHello, a GSSAPI token, or its StartupMessage after
 * an {@code N}); the server sends nothing more until it has. Unless the server has sent more than its one-byte answer
 * within {@code proxy.startup_timeout}, both sides are closed (no ErrorResponse: the client may be mid-TLS) and it
 * counts as a startup timeout, so a client that never completes its handshake holds nothing longer than one that never
 * completes its startup packet.
 *
 * <p><b>Dead peers:</b> when the kernel gives up on either socket ({@code proxy.keepalive}: unanswered keepalive
 * probes or the user timeout, {@link TcpKeepalive#deadPeer}) the session is closed like any other error, counted
 * ({@link Traffic#deadPeers}) and logged: at INFO for a client (clients vanish routinely), at WARN for a server.
 */
public final class Relay {

  private static final Logger LOG = LoggerFactory.getLogger(Relay.class);
  /** Name of Vert.x's NetSocket handler in an accepted channel's pipeline. */
  private static final String VERTX_HANDLER = "handler";

  private final Endpoint endpoint;
  private final Target target;
  private final Channel client;
  private final Channel backend;
  private final Registration registration;
  private final Traffic traffic;
  private final AtomicBoolean closed = new AtomicBoolean();
  /** {@code proxy.startup_timeout} for a relayed encryption handshake in ms, or 0 (a StartupMessage was relayed). */
  private final long handshakeTimeoutMillis;
  /** Bytes the server has sent on this session (on the event loop). */
  private long fromServer;
  /** The running handshake deadline, or {@code null}. */
  private ScheduledFuture<?> handshakeDeadline;

  /**
   * @param handshakeTimeoutMillis when the session began with an encryption request: how long the server may take to
   *                               send more than its one-byte answer ({@code proxy.startup_timeout}, in ms); 0 otherwise
   */
  Relay(Endpoint endpoint, Target target, Channel client, Channel backend, Registration registration, Traffic traffic,
        long handshakeTimeoutMillis) {
    this.handshakeTimeoutMillis = handshakeTimeoutMillis;
    this.endpoint = endpoint;
    this.target = target;
    this.client = client;
    this.backend = backend;
    this.registration = registration;
    this.traffic = traffic;
  }

  public Endpoint endpoint() {
    return endpoint;
  }

  public Target target() {
    return target;
  }

  /** Handler for the client channel: forwards to the backend. */
  ChannelInboundHandlerAdapter clientHandler() {
    return new Pump(backend, traffic.upstream(endpoint), "client", true);
  }

  /** Handler for the backend channel: forwards to the client. */
  ChannelInboundHandlerAdapter backendHandler() {
    return new Pump(client, traffic.downstream(endpoint), "backend " + target.name(), false);
  }

  /**
   * Takes the session over: from here on it is a plain Netty relay on this event loop. Vert.x's NetSocket handler leaves
   * the client's pipeline (it would copy every read into a heap buffer and queue every write), the relay handlers move
   * bytes between the two channels directly. Writes the bytes already read from the client ({@code initial}) to the
   * backend and {@code toClient} (the server's first reply, already read, or null) to the client. The session must be
   * paired with its {@link Registration} first; it leaves the registry once both channels are closed.
   */
  void start(ByteBuf initial, ByteBuf toClient) {
    backend.pipeline().addLast("cutover-relay", backendHandler());
    client.pipeline().addLast("cutover-relay", clientHandler());
    if (client.pipeline().get(VERTX_HANDLER) != null) {
      client.pipeline().remove(VERTX_HANDLER);
    }
    start(initial);
    if (toClient != null) {
      traffic.downstream(endpoint).add(toClient.readableBytes());
      client.writeAndFlush(toClient);
    }
    client.config().setAutoRead(true);
    backend.config().setAutoRead(true);
  }

  private void start(ByteBuf initial) {
    client.closeFuture().addListener(f -> registration.release());
    if (handshakeTimeoutMillis > 0) {
      ScheduledFuture<?> deadline = backend.eventLoop().schedule(this::handshakeTimedOut, handshakeTimeoutMillis,
          TimeUnit.MILLISECONDS);
      handshakeDeadline = deadline;
      client.closeFuture().addListener(f -> deadline.cancel(false));
    }
    if (initial.isReadable()) {
      traffic.upstream(endpoint).add(initial.readableBytes());
      backend.writeAndFlush(initial);
    } else {
      initial.release();
    }
    if (!client.isActive() || !backend.isActive()) {
      close();
    }
  }

  private void handshakeTimedOut() {
    if (closed.get() || fromServer > 1) {
      return;
    }
    traffic.startupTimeouts(endpoint).increment();
    LOG.debug("{} session to {}: encryption handshake not completed within proxy.startup_timeout {} ms; closed",
        endpoint.label(), target.name(), handshakeTimeoutMillis);
    close();
  }

  /** Closes both channels after flushing what was already read (idempotent, any thread). */
  public void close() {
    if (closed.compareAndSet(false, true)) {
      closeAfterFlush(client);
      closeAfterFlush(backend);
    }
  }

  /**
   * The fence's hard close (any thread, also after {@link #close} began): on the session's event loop the
   * backend socket is reset ({@link #reset}) and the client's closed, both without a flush; bytes still in
   * Netty's outbound buffers are dropped.
   *
   * @return completes when both channels are closed
   */
  CompletableFuture<Void> abort() {
    closed.set(true);
    CompletableFuture<Void> done = CompletableFuture.allOf(closed(client), closed(backend));
    backend.eventLoop().execute(() -> {
      resetNow(backend);
      client.close();
    });
    return done;
  }

  /**
   * Closes {@code ch} on its event loop with {@code SO_LINGER} 0: the kernel discards its send buffer and
   * sends a RST, so nothing more reaches the peer; works on a channel that is still connecting too.
   *
   * @return completes when the channel is closed
   */
  static CompletableFuture<Void> reset(Channel ch) {
    CompletableFuture<Void> done = closed(ch);
    ch.eventLoop().execute(() -> resetNow(ch));
    return done;
  }

  private static void resetNow(Channel ch) {
    if (ch.isOpen()) {
      try {
        ch.config().setOption(ChannelOption.SO_LINGER, 0);
      } catch (ChannelException e) {
        LOG.debug("SO_LINGER 0 on {} failed: {}", ch, e.toString());
      }
    }
    ch.close();
  }

  private static CompletableFuture<Void> closed(Channel ch) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    ch.closeFuture().addListener(x -> f.complete(null));
    return f;
  }

  private static void closeAfterFlush(Channel ch) {
    if (ch.isActive()) {
      ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    } else {
      ch.close();
    }
  }

  private final class Pump extends ChannelInboundHandlerAdapter {
    private final Channel to;
    private final LongAdder bytes;
    private final String side;
    private final boolean fromClient;

    Pump(Channel to, LongAdder bytes, String side, boolean fromClient) {
      this.to = to;
      this.bytes = bytes;
      this.side = side;
      this.fromClient = fromClient;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (fromClient && !registration.mayRelay()) {
        // clustered: no write lease (cut off, or woken from a freeze): not one more byte to the primary
        io.netty.util.ReferenceCountUtil.release(msg);
        LOG.warn("{} session to {}: no write lease; session aborted", endpoint.label(), target.name());
        abort();
        return;
      }
      if (msg instanceof ByteBuf buf) {
        bytes.add(buf.readableBytes());
        if (!fromClient) {
          fromServer += buf.readableBytes();
          if (fromServer > 1 && handshakeDeadline != null) {
            handshakeDeadline.cancel(false);
            handshakeDeadline = null;
          }
        }
      }
      to.write(msg, to.voidPromise());
      if (!to.isWritable()) {
        ctx.channel().config().setAutoRead(false);
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      to.flush();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      // this channel (the destination of the other pump) drained: let the other side read again
      Channel from = ctx.channel() == client ? backend : client;
      if (ctx.channel().isWritable()) {
        from.config().setAutoRead(true);
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      close();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (TcpKeepalive.deadPeer(cause) && !closed.get()) {
        traffic.deadPeers(endpoint, fromClient).increment();
        String what = fromClient ? "the client stopped answering"
            : "the server " + target.name() + " (" + target.host() + ":" + target.port() + ") stopped answering";
        String line = "{} session {} -> {}: {} ({}); session closed (proxy.keepalive)";
        Object[] args = {endpoint.label(), client.remoteAddress(), target.name(), what, cause.getMessage()};
        if (fromClient) {
          LOG.info(line, args);
        } else {
          LOG.warn(line, args);
        }
      } else {
        LOG.debug("{} session to {}: {} error: {}", endpoint.label(), target.name(), side, cause.toString());
      }
      close();
    }
  }
}
