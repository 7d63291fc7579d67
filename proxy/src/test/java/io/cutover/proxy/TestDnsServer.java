package io.cutover.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.dns.DatagramDnsQuery;
import io.netty.handler.codec.dns.DatagramDnsQueryDecoder;
import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DatagramDnsResponseEncoder;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DnsQuestion;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real DNS server over UDP on 127.0.0.1 for tests: names in {@link #answer} get an A record {@code 127.0.0.1} with
 * TTL 0 (never cached, so every resolution asks again), other names NXDOMAIN. Queries for a {@link #hold held} name
 * get no answer until {@link #release}, like a slow or unreachable DNS server.
 */
final class TestDnsServer implements AutoCloseable {

  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final Channel channel;
  private final Set<String> known = ConcurrentHashMap.newKeySet();
  private final Set<String> held = ConcurrentHashMap.newKeySet();
  private final List<Runnable> waiting = new ArrayList<>();
  private final Map<String, AtomicInteger> queries = new ConcurrentHashMap<>();

  TestDnsServer() throws InterruptedException {
    channel = new Bootstrap().group(group).channel(NioDatagramChannel.class)
        .handler(new ChannelInitializer<NioDatagramChannel>() {
          @Override
          protected void initChannel(NioDatagramChannel ch) {
            ch.pipeline().addLast(new DatagramDnsQueryDecoder(), new DatagramDnsResponseEncoder(),
                new SimpleChannelInboundHandler<DatagramDnsQuery>() {
                  @Override
                  protected void channelRead0(ChannelHandlerContext ctx, DatagramDnsQuery query) {
                    onQuery(ctx, query);
                  }
                });
          }
        }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
  }

  /** {@code 127.0.0.1:port}, for {@code resolver.servers}. */
  String address() {
    return "127.0.0.1:" + ((InetSocketAddress) channel.localAddress()).getPort();
  }

  /** Answers {@code name} with 127.0.0.1 from now on. */
  void answer(String name) {
    known.add(name);
  }

  /** Answers {@code name} with NXDOMAIN from now on. */
  void forget(String name) {
    known.remove(name);
  }

  /** Holds every query for {@code name} unanswered until {@link #release}. */
  void hold(String name) {
    held.add(name);
  }

  /** Answers the held queries and stops holding. */
  void release() {
    List<Runnable> answers;
    synchronized (waiting) {
      held.clear();
      answers = new ArrayList<>(waiting);
      waiting.clear();
    }
    answers.forEach(Runnable::run);
  }

  /** Queries held now. */
  int heldQueries() {
    synchronized (waiting) {
      return waiting.size();
    }
  }

  /** Queries received for {@code name} (any type). */
  int queries(String name) {
    return queries.computeIfAbsent(name, n -> new AtomicInteger()).get();
  }

  private void onQuery(ChannelHandlerContext ctx, DatagramDnsQuery query) {
    DnsQuestion question = query.recordAt(DnsSection.QUESTION);
    String name = question.name().endsWith(".") ? question.name().substring(0, question.name().length() - 1)
        : question.name();
    queries.computeIfAbsent(name, n -> new AtomicInteger()).incrementAndGet();
    DatagramDnsResponse response = new DatagramDnsResponse(query.recipient(), query.sender(), query.id());
    response.setRecursionDesired(query.isRecursionDesired()).setRecursionAvailable(true);
    response.addRecord(DnsSection.QUESTION, question);
    if (!known.contains(name)) {
      response.setCode(DnsResponseCode.NXDOMAIN);
    } else if (question.type() == DnsRecordType.A) {
      response.addRecord(DnsSection.ANSWER, new DefaultDnsRawRecord(question.name(), DnsRecordType.A, 0,
          Unpooled.wrappedBuffer(new byte[] {127, 0, 0, 1})));
    }
    // AAAA and other types of a known name: NOERROR without answers
    Runnable send = () -> ctx.writeAndFlush(response);
    synchronized (waiting) {
      if (held.contains(name)) {
        waiting.add(() -> ctx.channel().eventLoop().execute(send));
        return;
      }
    }
    send.run();
  }

  @Override
  public void close() {
    channel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }
}
