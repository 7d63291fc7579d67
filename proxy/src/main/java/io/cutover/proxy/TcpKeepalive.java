package io.cutover.proxy;

import io.cutover.proxy.config.KeepaliveOptions;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioSocketChannel;
import jdk.net.ExtendedSocketOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code proxy.keepalive} as socket options of a session's two channels, chosen by the channel's transport:
 * <ul>
 *   <li>native epoll: {@code SO_KEEPALIVE}, {@code TCP_KEEPIDLE}, {@code TCP_KEEPINTVL}, {@code TCP_KEEPCNT}
 *       and {@code TCP_USER_TIMEOUT} ({@link EpollChannelOption});</li>
 *   <li>NIO: the same but {@code TCP_USER_TIMEOUT}, through {@link NioChannelOption} and the JDK's
 *       {@link ExtendedSocketOptions} (JDK 17 has no user timeout option; {@link Cutover} warns at start-up when
 *       one is configured);</li>
 *   <li>any other transport: {@code SO_KEEPALIVE} only, with the kernel's timing (warned once).</li>
 * </ul>
 * Vert.x 5.0's {@code NetServerOptions} cannot set the keepalive timing, so accepted channels get the options
 * here too ({@link #apply(Channel)}). Setting them is a few {@code setsockopt} calls, fine on an event loop.
 */
final class TcpKeepalive {

  private static final Logger LOG = LoggerFactory.getLogger(TcpKeepalive.class);
  /** Linux's texts for ETIMEDOUT and EHOSTUNREACH: what a read reports once keepalive or the user timeout gave up. */
  private static final List<String> DEAD_PEER_ERRORS = List.of("Connection timed out", "No route to host");

  /** One option with its value. */
  private record Setting<T>(ChannelOption<T> option, T value) {
    boolean set(ChannelConfig config) {
      return config.setOption(option, value);
    }

    void set(Bootstrap b) {
      b.option(option, value);
    }
  }

  private final KeepaliveOptions options;
  private final List<Setting<?>> epoll;
  private final List<Setting<?>> nio;
  private final List<Setting<?>> other = List.of(new Setting<>(ChannelOption.SO_KEEPALIVE, true));
  private final AtomicBoolean warned = new AtomicBoolean();

  TcpKeepalive(KeepaliveOptions options) {
    this.options = options;
    this.epoll = List.of(new Setting<>(ChannelOption.SO_KEEPALIVE, true),
        new Setting<>(EpollChannelOption.TCP_KEEPIDLE, options.idleSeconds()),
        new Setting<>(EpollChannelOption.TCP_KEEPINTVL, options.intervalSeconds()),
        new Setting<>(EpollChannelOption.TCP_KEEPCNT, options.count()),
        new Setting<>(EpollChannelOption.TCP_USER_TIMEOUT, (int) options.userTimeout().toMillis()));
    this.nio = List.of(new Setting<>(ChannelOption.SO_KEEPALIVE, true),
        new Setting<>(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE), options.idleSeconds()),
        new Setting<>(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL), options.intervalSeconds()),
        new Setting<>(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT), options.count()));
  }

  KeepaliveOptions options() {
    return options;
  }

  /** Sets the options on a connected (accepted) channel; call on its event loop. */
  void apply(Channel ch) {
    ChannelConfig config = ch.config();
    for (Setting<?> s : settings(ch.getClass())) {
      if (!s.set(config)) {
        LOG.debug("{}: option {} not supported", ch, s.option());
      }
    }
  }

  /** Adds the options for channels of {@code type} to a bootstrap (applied when its channel is created). */
  Bootstrap apply(Bootstrap b, Class<? extends Channel> type) {
    for (Setting<?> s : settings(type)) {
      s.set(b);
    }
    return b;
  }

  private List<Setting<?>> settings(Class<? extends Channel> type) {
    if (EpollSocketChannel.class.isAssignableFrom(type)) {
      return epoll;
    }
    if (NioSocketChannel.class.isAssignableFrom(type)) {
      return nio;
    }
    if (warned.compareAndSet(false, true)) {
      LOG.warn("proxy.keepalive: transport {} takes no keepalive timing; its sockets use the kernel's", type.getName());
    }
    return other;
  }

  /**
   * Whether {@code cause} is how the kernel reports a peer that stopped answering: keepalive probes or a
   * retransmission (or {@code TCP_USER_TIMEOUT}) gave up, {@code ETIMEDOUT}, or {@code EHOSTUNREACH} when an ICMP
   * or neighbour failure was the last soft error. Netty's epoll and NIO transports both carry the errno's text.
   */
  static boolean deadPeer(Throwable cause) {
    if (!(cause instanceof IOException) || cause.getMessage() == null) {
      return false;
    }
    String m = cause.getMessage();
    return DEAD_PEER_ERRORS.stream().anyMatch(m::endsWith);
  }
}
