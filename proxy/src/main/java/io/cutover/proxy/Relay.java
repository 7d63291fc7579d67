package io.cutover.proxy;

import io.cutover.monitor.Target;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * A close or error on either side closes the other after flushing what was already read.
 */
public final class Relay {

  private static final Logger LOG = LoggerFactory.getLogger(Relay.class);

  private final Endpoint endpoint;
  private final Target target;
  private final Channel client;
  private final Channel backend;
  private final SessionRegistry registry;
  private final Traffic traffic;
  private final AtomicBoolean closed = new AtomicBoolean();

  Relay(Endpoint endpoint, Target target, Channel client, Channel backend, SessionRegistry registry, Traffic traffic) {
    this.endpoint = endpoint;
    this.target = target;
    this.client = client;
    this.backend = backend;
    this.registry = registry;
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
    return new Pump(backend, traffic.upstream(endpoint), "client");
  }

  /** Handler for the backend channel: forwards to the client. */
  ChannelInboundHandlerAdapter backendHandler() {
    return new Pump(client, traffic.downstream(endpoint), "backend " + target.name());
  }

  /** Registers the session and writes the bytes already read from the client ({@code initial}) to the backend. */
  void start(ByteBuf initial) {
    registry.add(this);
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

  /** Closes both channels (idempotent, any thread). */
  public void close() {
    if (closed.compareAndSet(false, true)) {
      registry.remove(this);
      closeAfterFlush(client);
      closeAfterFlush(backend);
    }
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

    Pump(Channel to, LongAdder bytes, String side) {
      this.to = to;
      this.bytes = bytes;
      this.side = side;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof ByteBuf buf) {
        bytes.add(buf.readableBytes());
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
      LOG.debug("{} session to {}: {} error: {}", endpoint.label(), target.name(), side, cause.toString());
      close();
    }
  }
}
