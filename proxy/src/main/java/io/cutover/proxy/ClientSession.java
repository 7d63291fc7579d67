package io.cutover.proxy;

import io.cutover.monitor.Errors;
import io.cutover.monitor.Target;
import io.cutover.monitor.TargetStatus;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * The start of one client connection, up to the moment it becomes a {@link Relay}. Cutover reads only
 * the first packet:
 * <ul>
 *   <li>{@code SSLRequest}/{@code GSSENCRequest}: with a backend available, the request is forwarded and
 *       everything after it is relayed untouched (TLS runs end to end between client and server);
 *       without one, Cutover answers {@code N} and reads the next packet.</li>
 *   <li>{@code StartupMessage}: relayed to the chosen backend; without one, a {@code FATAL} ErrorResponse
 *       with SQLSTATE {@code 57P03} naming the endpoint and the reason, then close.</li>
 *   <li>{@code CancelRequest}: forwarded to every target that has live relayed sessions (PostgreSQL
 *       ignores a key it does not know), then the client connection is closed, as PostgreSQL does.</li>
 *   <li>Anything else: {@code FATAL} {@code 08P01} and close.</li>
 * </ul>
 * Runs on the listener instance's event loop; the backend is connected from the same loop.
 */
final class ClientSession {

  private static final Logger LOG = LoggerFactory.getLogger(ClientSession.class);

  private final Endpoint endpoint;
  private final NetSocket client;
  private final NetClient backends;
  private final TopologyView view;
  private final SessionRegistry registry;
  private final Traffic traffic;
  private Buffer pending = Buffer.buffer();
  private boolean dispatched;
  private boolean clientClosed;

  ClientSession(Endpoint endpoint, NetSocket client, NetClient backends, TopologyView view,
                SessionRegistry registry, Traffic traffic) {
    this.endpoint = endpoint;
    this.client = client;
    this.backends = backends;
    this.view = view;
    this.registry = registry;
    this.traffic = traffic;
  }

  void start() {
    client.handler(this::onData);
    client.closeHandler(v -> clientClosed = true);
    client.exceptionHandler(err -> LOG.debug("{} client error before relay: {}", endpoint.label(), err.toString()));
  }

  private void onData(Buffer data) {
    pending.appendBuffer(data);
    while (!dispatched) {
      int len = StartupPacket.length(pending);
      if (len == -1 || (len > 0 && pending.length() < len)) {
        return;
      }
      if (len == -2) {
        refuse(PgWire.PROTOCOL_VIOLATION, "invalid length of startup packet");
        return;
      }
      Buffer packet = pending.getBuffer(0, len);
      pending = pending.getBuffer(len, pending.length());
      dispatch(packet);
    }
  }

  private void dispatch(Buffer packet) {
    switch (StartupPacket.classify(packet)) {
      case SSL_REQUEST, GSSENC_REQUEST -> connect(packet, true);
      case STARTUP -> connect(packet, false);
      case CANCEL_REQUEST -> cancel(packet);
      default -> refuse(PgWire.PROTOCOL_VIOLATION, "unsupported frontend protocol or request code "
          + packet.getInt(4));
    }
  }

  private void connect(Buffer packet, boolean encryptionRequest) {
    Route route = view.route(endpoint);
    if (!route.routable()) {
      unavailable(encryptionRequest, route.reason());
      return;
    }
    dispatched = true;
    client.pause();
    tryConnect(route.candidates(), 0, new ArrayList<>(), packet, encryptionRequest);
  }

  private void tryConnect(List<Target> candidates, int index, List<String> failures, Buffer packet, boolean encryptionRequest) {
    if (index == candidates.size()) {
      String what = endpoint == Endpoint.WRITE ? "no primary reachable for the write endpoint"
          : "no replica reachable for the read endpoint";
      dispatched = false;
      client.resume();
      unavailable(encryptionRequest, what + " (" + String.join("; ", failures) + ")");
      return;
    }
    Target target = candidates.get(index);
    backends.connect(target.port(), target.host()).onComplete(ar -> {
      if (ar.failed()) {
        failures.add(target.name() + " (" + target.address() + "): " + Errors.describe(ar.cause()));
        tryConnect(candidates, index + 1, failures, packet, encryptionRequest);
        return;
      }
      NetSocket backend = ar.result();
      if (clientClosed) {
        backend.close();
        return;
      }
      Buffer initial = packet.appendBuffer(pending);
      pending = Buffer.buffer();
      LOG.debug("{} session {} -> {}", endpoint.label(), client.remoteAddress(), target.name());
      new Relay(endpoint, target, client, backend, registry, traffic).start(initial);
    });
  }

  private void unavailable(boolean encryptionRequest, String reason) {
    if (encryptionRequest) {
      // Decline encryption; the client continues in plain text with its StartupMessage (or gives up).
      client.write(PgWire.refuseEncryption());
      return;
    }
    refuse(PgWire.CANNOT_CONNECT_NOW, reason);
  }

  private void refuse(String sqlState, String reason) {
    dispatched = true;
    LOG.debug("{} session {} refused: {} {}", endpoint.label(), client.remoteAddress(), sqlState, reason);
    client.pause();
    client.end(PgWire.fatal(sqlState, "cutover: " + reason)).onComplete(v -> client.close());
  }

  private void cancel(Buffer packet) {
    dispatched = true;
    for (String name : registry.targetsWithSessions()) {
      view.current().target(name).map(TargetStatus::target).ifPresent(t ->
          backends.connect(t.port(), t.host()).onSuccess(s -> s.end(packet.copy()).onComplete(v -> s.close())));
    }
    client.close();
  }
}
