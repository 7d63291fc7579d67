package io.cutover.proxy;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Relayed byte counters per endpoint and direction (thread-safe, for logs and metrics). */
public final class Traffic {

  private final Map<Endpoint, LongAdder> up = new EnumMap<>(Endpoint.class);
  private final Map<Endpoint, LongAdder> down = new EnumMap<>(Endpoint.class);

  public Traffic() {
    for (Endpoint e : Endpoint.values()) {
      up.put(e, new LongAdder());
      down.put(e, new LongAdder());
    }
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
