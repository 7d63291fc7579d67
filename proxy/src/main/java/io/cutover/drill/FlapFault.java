package io.cutover.drill;

import io.vertx.core.json.JsonObject;

import java.util.List;

/**
 * {@code --fault flap} (also {@code --flap}): freeze pg1 (SIGSTOP of its postmaster and children) for 2 s, five
 * times, 5 s apart. Expected: no promotion (the default checks ride it out) and no acknowledged write lost.
 */
final class FlapFault implements Fault.Run {

  @Override
  public JsonObject run(DrillRig rig) throws Exception {
    for (int i = 0; i < 5; i++) {
      List<Long> pids = rig.pg.postmasterTree("pg1");
      rig.freeze(pids);
      DrillRig.sleep(2000);
      rig.thaw(pids);
      DrillRig.sleep(3000);
    }
    DrillRig.sleep(2000);
    JsonObject result = new JsonObject();
    io.vertx.core.json.JsonArray per = rig.finish(result, rig.instances.get(0).writePort());
    if (rig.instances.size() > 1) {
      result.put("per_instance", per);
    }
    result.put("table", new JsonObject()
        .put("promotions", result.getInteger("promotions"))
        .put("acknowledged writes", result.getLong("acknowledged"))
        .put("failed attempts", result.getLong("failed_attempts"))
        .put("acknowledged writes lost", result.getValue("lost_acknowledged")));
    Expectations e = new Expectations().promotions(0, result.getInteger("promotions")).noLoss(result, false, true);
    return result.put("expectations", e.toJson());
  }
}
