package io.cutover.proxy;

import io.netty.channel.Channel;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code proxy.max_client_connections}: the client connections open on each endpoint, admitted up to the limit
 * (thread-safe; every listener instance of an endpoint shares one count). A connection counts from its accept to its
 * close, whatever it does in between (startup, a relayed session, a cancel request). A connection beyond the limit is
 * not counted: it is only read for its first packet and then refused with SQLSTATE {@code 53300}, so a flood of
 * refused connections never takes a slot from a client that comes after the flood.
 */
public final class ClientConnections {

  private volatile int max;
  private final Map<Endpoint, AtomicInteger> open = new EnumMap<>(Endpoint.class);
  private final Map<Endpoint, LongAdder> overLimit = new EnumMap<>(Endpoint.class);

  /** @param max {@code proxy.max_client_connections}: client connections allowed per endpoint, at least 1 */
  public ClientConnections(int max) {
    if (max < 1) {
      throw new IllegalArgumentException("max_client_connections must be at least 1: " + max);
    }
    this.max = max;
    for (Endpoint e : Endpoint.values()) {
      open.put(e, new AtomicInteger());
      overLimit.put(e, new LongAdder());
    }
  }

  /**
   * A reload: {@code proxy.max_client_connections} is {@code max} for connections accepted from now on (connections
   * already open stay, even above a lowered limit).
   *
   * @throws IllegalArgumentException if {@code max} is below 1
   */
  public void max(int max) {
    if (max < 1) {
      throw new IllegalArgumentException("max_client_connections must be at least 1: " + max);
    }
    this.max = max;
  }

  /**
   * Takes a slot on {@code endpoint} for {@code channel} if one is free; the slot is given back when the channel
   * closes.
   *
   * @return {@code false} when {@code endpoint} already has {@link #max()} connections (nothing is taken)
   */
  boolean admit(Endpoint endpoint, Channel channel) {
    AtomicInteger count = open.get(endpoint);
    int max = this.max;
    int n;
    do {
      n = count.get();
      if (n >= max) {
        return false;
      }
    } while (!count.compareAndSet(n, n + 1));
    channel.closeFuture().addListener(f -> count.decrementAndGet());
    return true;
  }

  /** Counts a connection refused with {@code 53300} because the limit was reached. */
  void refused(Endpoint endpoint) {
    overLimit.get(endpoint).increment();
  }

  /** {@code proxy.max_client_connections}. */
  public int max() {
    return max;
  }

  /** Client connections open on {@code endpoint} now (admitted ones; those over the limit are not counted). */
  public int open(Endpoint endpoint) {
    return open.get(endpoint).get();
  }

  /** Connections refused with SQLSTATE {@code 53300} on {@code endpoint} since start. */
  public long overLimit(Endpoint endpoint) {
    return overLimit.get(endpoint).sum();
  }
}
