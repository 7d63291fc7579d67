package io.cutover.proxy;

import io.cutover.monitor.Target;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * One relayed session: a client socket paired with a backend socket, bytes copied both ways with
 * backpressure. When the destination's write queue is full the source is paused and resumed on drain,
 * so at most one write queue's worth ({@code writeQueueMaxSize}) is held in memory per direction. A close
 * or error on either side closes the other. Both sockets live on the same event loop.
 */
public final class Relay {

  private static final Logger LOG = LoggerFactory.getLogger(Relay.class);

  private final Endpoint endpoint;
  private final Target target;
  private final NetSocket client;
  private final NetSocket backend;
  private final SessionRegistry registry;
  private final Traffic traffic;
  private final AtomicBoolean closed = new AtomicBoolean();

  Relay(Endpoint endpoint, Target target, NetSocket client, NetSocket backend, SessionRegistry registry, Traffic traffic) {
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

  /**
   * Starts relaying: writes {@code initial} (the bytes already read from the client) to the backend, wires
   * both directions and resumes the (paused) client.
   */
  void start(Buffer initial) {
    registry.add(this);
    pump(client, backend, traffic.upstream(endpoint));
    pump(backend, client, traffic.downstream(endpoint));
    client.closeHandler(v -> close());
    backend.closeHandler(v -> close());
    client.exceptionHandler(err -> failed("client", err));
    backend.exceptionHandler(err -> failed("backend " + target.name(), err));
    if (initial != null && initial.length() > 0) {
      traffic.upstream(endpoint).add(initial.length());
      backend.write(initial);
    }
    client.resume();
  }

  private static void pump(NetSocket from, NetSocket to, LongAdder bytes) {
    from.handler(buf -> {
      bytes.add(buf.length());
      to.write(buf);
      if (to.writeQueueFull()) {
        from.pause();
        to.drainHandler(v -> from.resume());
      }
    });
  }

  private void failed(String side, Throwable err) {
    LOG.debug("{} session to {}: {} error: {}", endpoint.label(), target.name(), side, err.toString());
    close();
  }

  /** Closes both sockets (idempotent). */
  public void close() {
    if (closed.compareAndSet(false, true)) {
      registry.remove(this);
      client.close();
      backend.close();
    }
  }
}
