package io.cutover.proxy;

import io.cutover.monitor.Target;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.resolver.AddressResolverGroup;

import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * Opens backend connections on the client channel's own event loop and transport (epoll or NIO, the
 * class of the accepted channel), so both halves of a session share one thread and never need locking.
 * The new channel does not read until the relay is installed. Its socket has {@code proxy.keepalive}'s
 * keepalive and user timeout ({@link TcpKeepalive}), so a server that vanished ends the session.
 */
final class BackendConnector {

  /** Placeholder pipeline entry until the relay handler is added. */
  @ChannelHandler.Sharable
  private static final class Idle extends ChannelInboundHandlerAdapter {
  }

  private static final Idle IDLE = new Idle();

  private final int connectTimeoutMillis;
  private final TcpKeepalive keepalive;
  private final AddressResolverGroup<InetSocketAddress> resolver;

  /**
   * @param connectTimeout backend TCP connect timeout ({@code proxy.connect_timeout})
   * @param keepalive      the sockets' keepalive ({@code proxy.keepalive})
   * @param resolver       resolves the targets' host names without blocking the event loop: Vert.x's own
   *                       asynchronous DNS resolver (configured by {@code resolver}), never Netty's default, which calls
   *                       the blocking {@link java.net.InetAddress#getByName} on the event loop
   */
  BackendConnector(Duration connectTimeout, TcpKeepalive keepalive, AddressResolverGroup<InetSocketAddress> resolver) {
    this.connectTimeoutMillis = (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis());
    this.keepalive = keepalive;
    this.resolver = resolver;
  }

  /** {@code proxy.connect_timeout} in ms; also how long a server may take to answer the startup packet. */
  long connectTimeoutMillis() {
    return connectTimeoutMillis;
  }

  /**
   * Connects to {@code target} from {@code client}'s event loop.
   *
   * @return the connect future; failed with a {@link java.net.ConnectException} (refused, or timed out after
   *         the connect timeout) when the target cannot be reached, with a {@link java.net.UnknownHostException}
   *         when its host name does not resolve (within {@code resolver.timeout} per DNS server)
   */
  ChannelFuture connect(Channel client, Target target) {
    Bootstrap b = new Bootstrap()
        .group(client.eventLoop())
        .channel(client.getClass())
        .resolver(resolver)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.AUTO_READ, false)
        .handler(IDLE);
    return keepalive.apply(b, client.getClass()).connect(target.host(), target.port());
  }
}
