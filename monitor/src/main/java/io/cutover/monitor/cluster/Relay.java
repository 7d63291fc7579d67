package io.cutover.monitor.cluster;

import io.cutover.monitor.MonitorVerticle;
import io.vertx.core.AsyncResult;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;

/** Forwards cluster messages to this instance's monitor and answers with its reply or its failure code. */
final class Relay {

  private Relay() {
  }

  /** Sends {@code body} to the monitor's {@code address} and replies to {@code m} with the outcome. */
  static void toMonitor(Vertx vertx, Message<JsonObject> m, String address, JsonObject body) {
    vertx.eventBus().<JsonObject>request(address, body, MonitorVerticle.LOCAL).map(Message::body)
        .onComplete(ar -> reply(m, ar));
  }

  /** Replies with the result, or fails with the monitor's failure code (503 when it did not answer). */
  static void reply(Message<JsonObject> m, AsyncResult<JsonObject> ar) {
    if (ar.succeeded()) {
      m.reply(ar.result());
    } else if (ar.cause() instanceof ReplyException re) {
      m.fail(re.failureCode(), re.getMessage());
    } else {
      m.fail(503, ar.cause().getMessage());
    }
  }
}
