package io.cutover.proxy;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Per-endpoint counters of the data plane (thread-safe, for logs and metrics): bytes relayed per direction, new
 * sessions held for a primary ({@code proxy.connect_wait}), sessions refused with SQLSTATE {@code 57P03},
 * connections closed for not completing their startup within {@code proxy.startup_timeout} and sessions closed
 * because their client or server stopped answering ({@code proxy.keepalive}).
 */
public final class Traffic {

  private final Map<Endpoint, LongAdder> up = new EnumMap<>(Endpoint.class);
  private final Map<Endpoint, LongAdder> down = new EnumMap<>(Endpoint.class);
  private final Map<Endpoint, LongAdder> held = new EnumMap<>(Endpoint.class);
  private final Map<Endpoint, LongAdder> refused = new EnumMap<>(Endpoint.class);
  private final Map<Endpoint, LongAdder> startupTimeouts = new EnumMap<>(Endpoint.class);
  private final Map<Endpoint, LongAdder> deadClients = new EnumMap<>(Endpoint.class);
  private final Map<Endpoint, LongAdder> deadServers = new EnumMap<>(Endpoint.class);

  public Traffic() {
    for (Endpoint e : Endpoint.values()) {
      up.put(e, new LongAdder());
      down.put(e, new LongAdder());
      held.put(e, new LongAdder());
      refused.put(e, new LongAdder());
      startupTimeouts.put(e, new LongAdder());
      deadClients.put(e, new LongAdder());
      deadServers.put(e, new LongAdder());
    }
  }

  /** New sessions that waited for a primary (counted once per session, when its wait starts). */
  public LongAdder held(Endpoint e) {
    return held.get(e);
  }

  /** Sessions refused with SQLSTATE {@code 57P03} (no backend available, after any wait). */
  public LongAdder refused(Endpoint e) {
    return refused.get(e);
  }

  /**
   * Client connections closed because their first packet (or, after an {@code N} to an encryption request, their
   * startup packet) did not arrive complete within {@code proxy.startup_timeout}.
   */
  public LongAdder startupTimeouts(Endpoint e) {
    return startupTimeouts.get(e);
  }

  /**
   * Relayed sessions closed because the client ({@code client} true) or the server stopped answering: the kernel
   * gave up on the socket after unanswered keepalive probes or the user timeout ({@code proxy.keepalive}).
   */
  public LongAdder deadPeers(Endpoint e, boolean client) {
    return (client ? deadClients : deadServers).get(e);
  }

  /** Bytes relayed client → server on an endpoint. */
  public LongAdder upstream(Endpoint e) {
    return up.get(e);
  }

  /** Bytes relayed server → client on an endpoint. */
  public LongAdder downstream(Endpoint e) {
    return down.get(e);
  }
}
