package io.cutover.proxy;

import io.cutover.proxy.config.KeepaliveOptions;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.epoll.EpollSocketChannelConfig;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioSocketChannel;
import jdk.net.ExtendedSocketOptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.SocketException;
import java.time.Duration;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code proxy.keepalive} lands on real sockets of both transports, through a bootstrap and on a connected channel. */
class TcpKeepaliveTest {

  private static final KeepaliveOptions OPTIONS = new KeepaliveOptions(7, 3, 4, Duration.ofMillis(1500));
  private static final KeepaliveOptions OTHER = new KeepaliveOptions(11, 5, 6, Duration.ZERO);

  @Test
  void epollSocketsGetKeepaliveTimingAndTheUserTimeout() throws Exception {
    assertTrue(Epoll.isAvailable(), "native epoll (Cutover's transport on Linux): " + Epoll.unavailabilityCause());
    connected(EpollIoHandler.newFactory(), EpollSocketChannel.class, ch -> {
      EpollSocketChannelConfig c = (EpollSocketChannelConfig) ch.config();
      assertTrue(c.isKeepAlive());
      assertEquals(7, c.getTcpKeepIdle());
      assertEquals(3, c.getTcpKeepIntvl());
      assertEquals(4, c.getTcpKeepCnt());
      assertEquals(1500, c.getTcpUserTimeout());
      new TcpKeepalive(OTHER).apply(ch);
      assertEquals(11, c.getTcpKeepIdle());
      assertEquals(5, c.getTcpKeepIntvl());
      assertEquals(6, c.getTcpKeepCnt());
      assertEquals(0, c.getTcpUserTimeout(), "off");
    });
  }

  @Test
  void nioSocketsGetKeepaliveTiming() throws Exception {
    connected(NioIoHandler.newFactory(), NioSocketChannel.class, ch -> {
      assertTrue(ch.config().getOption(ChannelOption.SO_KEEPALIVE));
      assertEquals(7, ch.config().getOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE)));
      assertEquals(3, ch.config().getOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL)));
      assertEquals(4, ch.config().getOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT)));
      new TcpKeepalive(OTHER).apply(ch);
      assertEquals(11, ch.config().getOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE)));
      assertEquals(5, ch.config().getOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL)));
      assertEquals(6, ch.config().getOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT)));
    });
  }

  @Test
  void deadPeerErrorsAreTheKernelsTimeoutsNotResets() {
    assertTrue(TcpKeepalive.deadPeer(new IOException("recvAddress(..) failed with error(-110): Connection timed out")));
    assertTrue(TcpKeepalive.deadPeer(new SocketException("Connection timed out")));
    assertTrue(TcpKeepalive.deadPeer(new IOException("readAddress(..) failed with error(-113): No route to host")));
    assertFalse(TcpKeepalive.deadPeer(new IOException("recvAddress(..) failed with error(-104): Connection reset by peer")));
    assertFalse(TcpKeepalive.deadPeer(new IOException((String) null)));
    assertFalse(TcpKeepalive.deadPeer(new IllegalStateException("Connection timed out")));
  }

  /** Connects a channel of {@code type}, bootstrapped with {@link #OPTIONS}, to a local server; runs {@code check} on its event loop. */
  private static void connected(IoHandlerFactory io, Class<? extends Channel> type, Consumer<Channel> check) throws Exception {
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, io);
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Bootstrap b = new Bootstrap().group(group).channel(type).handler(new ChannelInboundHandlerAdapter());
      Channel ch = new TcpKeepalive(OPTIONS).apply(b, type).connect(server.getLocalSocketAddress()).sync().channel();
      try {
        ch.eventLoop().submit(() -> check.accept(ch)).get();
      } finally {
        ch.close().sync();
      }
    } finally {
      group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
    }
  }
}
