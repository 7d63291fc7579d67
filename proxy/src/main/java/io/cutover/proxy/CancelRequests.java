package io.cutover.proxy;

import io.cutover.monitor.TargetStatus;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.ConnectOptions;
import io.vertx.core.net.NetClient;

/**
 * A {@code CancelRequest} arriving on either endpoint is forwarded, as received, to every address with live relayed
 * sessions (also those of a target a reload removed or re-addressed, during their grace); PostgreSQL ignores a key it
 * does not know, so the server running the query cancels it.
 */
final class CancelRequests {

  private CancelRequests() {
  }

  /**
   * Forwards {@code packet} to every address with relayed sessions in {@code registry} (fire and forget, each connect bounded by
   * {@code connectTimeoutMillis}, {@code proxy.connect_timeout}).
   */
  static void forward(Buffer packet, SessionRegistry registry, TopologyView view, NetClient backends, long connectTimeoutMillis) {
    for (var t : registry.backendsWithSessions(name -> view.current().target(name).map(TargetStatus::target))) {
      backends.connect(new ConnectOptions().setHost(t.host()).setPort(t.port())
              .setTimeout((int) Math.min(Integer.MAX_VALUE, connectTimeoutMillis)))
          .onSuccess(s -> s.end(packet.copy()).onComplete(v -> s.close()));
    }
  }
}
