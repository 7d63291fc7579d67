package io.cutover.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * One session's entry in the {@link SessionRegistry} under its backend target. It is taken <em>before</em>
 * the backend connect starts, so a fence of the target can never miss a session routed in the same instant;
 * it becomes a relayed session with {@link #pair}, and leaves the registry once its channels are closed.
 *
 * <p>A fence ({@link #fence}) hard-closes whatever the entry has (the connecting backend channel, or both
 * channels of the relay) and makes {@link #connect} and {@link #pair} refuse from then on, so a fenced
 * session is never handed off. Thread-safe: the session's event loop connects and pairs, a fence may come
 * from any thread; the lock is held only for bookkeeping, never across I/O completion.
 */
final class Registration {

  private final SessionRegistry registry;
  private final Endpoint endpoint;
  private final String target;
  /** A read session routed to the primary ({@code read.fallback_to_primary}), not to a replica. */
  private final boolean fallback;
  /** The address connected to, or {@code null} when registered by name only (then the topology's address is it). */
  private final io.cutover.monitor.Target address;
  private final AtomicBoolean removed = new AtomicBoolean();
  /** Guarded by {@code this}. */
  private Channel backend;
  /** Guarded by {@code this}. */
  private Relay relay;
  /** Guarded by {@code this}; non-null once fenced. */
  private CompletableFuture<Void> fenced;

  Registration(SessionRegistry registry, Endpoint endpoint, String target, boolean fallback,
               io.cutover.monitor.Target address) {
    this.address = address;
    this.registry = registry;
    this.endpoint = endpoint;
    this.target = target;
    this.fallback = fallback;
  }

  /** Whether this is a read session routed to the primary because no replica was readable. */
  boolean fallback() {
    return fallback;
  }

  Endpoint endpoint() {
    return endpoint;
  }

  String target() {
    return target;
  }

  /** The address the session connects to, or {@code null} when it was registered by name only. */
  io.cutover.monitor.Target address() {
    return address;
  }

  /**
   * Starts the backend connect unless the entry is already fenced; the started channel belongs to this
   * entry from the first instant (a fence closes it even while it is still connecting).
   *
   * @return the connect future, or {@code null} when fenced (nothing was started)
   */
  synchronized ChannelFuture connect(Supplier<ChannelFuture> connect) {
    if (fenced != null) {
      return null;
    }
    ChannelFuture f = connect.get();
    backend = f.channel();
    return f;
  }

  /**
   * Turns the entry into a relayed session.
   *
   * @return {@code false} when fenced: the caller must not hand the session off (its backend is being
   *         closed hard)
   */
  synchronized boolean pair(Relay r) {
    if (fenced != null) {
      return false;
    }
    relay = r;
    registry.paired(this);
    return true;
  }

  synchronized boolean isFenced() {
    return fenced != null;
  }

  synchronized boolean isRelayed() {
    return relay != null;
  }

  /**
   * Fences the session: a relay is closed hard on both sides ({@link Relay#abort}); a connecting or
   * connected-but-unpaired backend channel is reset ({@code SO_LINGER} 0) at once. Idempotent.
   *
   * @return completes when every channel of the session is closed (at once when it has none yet)
   */
  CompletableFuture<Void> fence() {
    Relay r;
    Channel b;
    CompletableFuture<Void> done;
    synchronized (this) {
      if (fenced != null) {
        return fenced;
      }
      r = relay;
      b = backend;
      done = r != null ? r.abort() : b != null ? Relay.reset(b) : CompletableFuture.completedFuture(null);
      fenced = done;
    }
    return done;
  }

  /** Closes a relayed session gracefully (a drain's {@code close_after}); nothing for one still connecting. */
  void closeRelay() {
    Relay r;
    synchronized (this) {
      r = relay;
    }
    if (r != null) {
      r.close();
    }
  }

  /**
   * The session is over: an unpaired, unfenced backend channel is closed; the entry leaves the registry once the
   * backend channel is closed (at once when there is none).
   */
  void release() {
    Channel b;
    boolean closeIt;
    synchronized (this) {
      b = backend;
      // a relay closes its own channels; a fence resets the backend itself
      closeIt = relay == null && fenced == null;
    }
    if (b == null) {
      remove();
      return;
    }
    if (closeIt) {
      b.close();
    }
    b.closeFuture().addListener(f -> remove());
  }

  private void remove() {
    if (removed.compareAndSet(false, true)) {
      registry.removed(this);
    }
  }

  /** Whether this session may relay client bytes now ({@link SessionRegistry#writeLease}; reads always may). */
  boolean mayRelay() {
    return endpoint != Endpoint.WRITE || registry.writesAllowed();
  }
}
