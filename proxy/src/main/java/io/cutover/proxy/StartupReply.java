package io.cutover.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Cutover's look at the server's first reply to a relayed StartupMessage, before the session is handed to the
 * {@link Relay}. A server that cannot take connections right now answers {@code FATAL 57P03} (cannot_connect_now: "the
 * database system is shutting down", "... is starting up", "... is not yet accepting connections"), as an old primary
 * does while Patroni demotes it in a switchover. Such a reply, a close before any reply, or no reply within
 * {@code proxy.connect_timeout}, is treated like a failed backend connect: nothing reaches the client, and the session
 * is routed again (held while a cutover is in flight). Any other first reply (an authentication request, another
 * error) is passed on, and the session relayed from there. Runs on the session's event loop.
 */
final class StartupReply extends ChannelInboundHandlerAdapter {

  /** The server's verdict: {@code reply} to pass on to the client, or {@code unavailable} with the reason. */
  record Outcome(ByteBuf reply, String unavailable) {
  }

  /** An ErrorResponse longer than this is passed on unread (a 57P03 of PostgreSQL's is a few hundred bytes). */
  private static final int MAX_INSPECTED = 64 * 1024;
  static final String NAME = "cutover-startup-reply";

  private final Consumer<Outcome> done;
  private ByteBuf received = Unpooled.buffer();
  private ScheduledFuture<?> deadline;

  private StartupReply(Consumer<Outcome> done) {
    this.done = done;
  }

  /**
   * Sends {@code startup} (the StartupMessage and whatever the client sent after it) to {@code backend} and reports the
   * server's first reply to {@code done}, once, on the backend's event loop.
   *
   * @param timeoutMillis how long the server may take to answer ({@code proxy.connect_timeout}, in ms)
   */
  static void watch(Channel backend, ByteBuf startup, long timeoutMillis, Consumer<Outcome> done) {
    StartupReply r = new StartupReply(done);
    backend.pipeline().addLast(NAME, r);
    r.deadline = backend.eventLoop().schedule(() -> r.finish(backend, null,
        "no answer to the startup packet within proxy.connect_timeout " + timeoutMillis + " ms"), timeoutMillis,
        TimeUnit.MILLISECONDS);
    backend.writeAndFlush(startup);
    backend.config().setAutoRead(true);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (received == null) {
      ReferenceCountUtil.release(msg);
      return;
    }
    received.writeBytes((ByteBuf) msg);
    ReferenceCountUtil.release(msg);
    if (received.getByte(0) != 'E') {
      finish(ctx.channel(), received, null);
      return;
    }
    if (received.readableBytes() < 5) {
      return;
    }
    int length = received.getInt(1);
    if (length > MAX_INSPECTED || length < 4) {
      finish(ctx.channel(), received, null);
      return;
    }
    if (received.readableBytes() >= 1 + length) {
      String code = field(received, 1 + length, 'C');
      if (PgWire.CANNOT_CONNECT_NOW.equals(code)) {
        finish(ctx.channel(), null, "answered " + code + " " + field(received, 1 + length, 'M'));
      } else {
        finish(ctx.channel(), received, null);
      }
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    finish(ctx.channel(), null, "closed the connection before answering the startup packet");
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    finish(ctx.channel(), null, "failed before answering the startup packet: " + cause.getMessage());
  }

  private void finish(Channel backend, ByteBuf reply, String unavailable) {
    if (received == null) {
      return;
    }
    ByteBuf kept = received;
    received = null;
    deadline.cancel(false);
    backend.config().setAutoRead(false);
    if (backend.pipeline().get(NAME) != null) {
      backend.pipeline().remove(NAME);
    }
    if (reply == null) {
      kept.release();
      backend.close();
    }
    done.accept(new Outcome(reply, unavailable));
  }

  /** Field {@code type} of the ErrorResponse in {@code buf[0, end)}, or null. */
  private static String field(ByteBuf buf, int end, char type) {
    int i = 5;
    while (i < end && buf.getByte(i) != 0) {
      byte t = buf.getByte(i);
      int start = i + 1;
      int zero = buf.indexOf(start, end, (byte) 0);
      if (zero < 0) {
        return null;
      }
      if (t == type) {
        return buf.toString(start, zero - start, StandardCharsets.UTF_8);
      }
      i = zero + 1;
    }
    return null;
  }
}
