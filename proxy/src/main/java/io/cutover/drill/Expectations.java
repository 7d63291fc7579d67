package io.cutover.drill;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** What a fault is expected to do, whether it held and what was observed; an unknown outcome does not hold. */
final class Expectations {

  private final JsonArray list = new JsonArray();

  Expectations expect(String expected, Boolean held, Object observed) {
    list.add(new JsonObject().put("expected", expected).put("held", held != null && held)
        .put("observed", observed == null ? "unknown" : String.valueOf(observed)));
    return this;
  }

  /** Exactly {@code n} promotions (every instance's log). */
  Expectations promotions(int n, long observed) {
    return expect(n == 1 ? "exactly 1 promotion" : n + " promotions", observed == n, observed);
  }

  /** No acknowledged write lost: always with synchronous replication (or {@code always}), else only reported. */
  Expectations noLoss(JsonObject result, boolean sync, boolean always) {
    Long lost = result.getLong("lost_acknowledged");
    if (sync || always) {
      return expect("0 acknowledged writes lost", lost == null ? null : lost == 0, lost);
    }
    return this;
  }

  JsonArray toJson() {
    return list;
  }

  static boolean allHeld(JsonArray expectations) {
    return expectations.stream().map(JsonObject.class::cast).allMatch(e -> e.getBoolean("held"));
  }
}
