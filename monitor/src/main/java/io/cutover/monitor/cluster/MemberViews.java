package io.cutover.monitor.cluster;

import com.hazelcast.cluster.Member;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/** Every member's own view (topology, incidents), each answered on its own {@value #ADDRESS}. */
final class MemberViews {

  /** Per-member address answering with that member's own view. */
  static final String ADDRESS = "cutover.cluster.member";

  private final Vertx vertx;
  private final Members members;
  private volatile Supplier<Future<JsonObject>> localView = () -> Future.succeededFuture(new JsonObject());

  MemberViews(Vertx vertx, Members members) {
    this.vertx = vertx;
    this.members = members;
    members.onOwnAddress(ADDRESS, m -> localView.get().onComplete(ar -> {
      if (ar.succeeded()) {
        m.reply(ar.result());
      } else {
        m.fail(503, ar.cause().getMessage());
      }
    }));
  }

  void localView(Supplier<Future<JsonObject>> view) {
    this.localView = view;
  }

  /** Every member's view, oldest member first; one that does not answer within 2 s is listed with an {@code error}. */
  Future<JsonArray> all() {
    List<Future<JsonObject>> views = new ArrayList<>();
    List<Member> list = members.list();
    for (Member m : list) {
      String address = m.getAddress().toString();
      views.add(vertx.eventBus().<JsonObject>request(ADDRESS + "." + m.getUuid(), new JsonObject(),
              new DeliveryOptions().setSendTimeout(2000))
          .map(msg -> msg.body().put("member", address).put("leader", m.equals(list.get(0))))
          .otherwise(err -> new JsonObject().put("member", address).put("error", err.getMessage())));
    }
    return Future.all(views).map(done -> {
      JsonArray out = new JsonArray();
      views.forEach(f -> out.add(f.result()));
      return out;
    });
  }
}
