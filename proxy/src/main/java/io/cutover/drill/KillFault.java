package io.cutover.drill;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Instant;

/**
 * {@code --fault kill}: kill -9 of pg1's postmaster (PID from its postmaster.pid, like {@code scripts/pg-cluster
 * kill pg1}); wait until every
 * writer has a write acknowledged by another server (or {@code --timeout}). Expected: exactly one promotion,
 * writes resume through every instance, and (with {@code --sync}) no acknowledged write lost.
 */
final class KillFault implements Fault.Run {

  private final Drill options;

  KillFault(Drill options) {
    this.options = options;
  }

  @Override
  public JsonObject run(DrillRig rig) throws Exception {
    JsonObject result = new JsonObject();
    int oldPort = rig.pg.port("pg1");
    long pid = rig.pg.postmasterPid("pg1");
    // the clock starts as the signal is sent (scripts/pg-cluster kill would add its own start-up, and its
    // wait for the postmaster to be gone, before the drill could read the clock)
    long killAt = System.currentTimeMillis();
    rig.signal("KILL", java.util.List.of(pid));
    rig.awaitAcks(rig.writers, killAt, oldPort, killAt + options.timeoutMillis());
    JsonArray rtos = new JsonArray();
    Long worst = 0L;
    for (DrillWriter w : rig.writers) {
      long first = w.firstAckAfter(killAt, oldPort);
      rtos.add(first < 0 ? null : first - killAt);
      worst = first < 0 || worst == null ? null : Math.max(worst, first - killAt);
    }
    DrillRig.sleep(3000);
    // a backend of the killed postmaster can still commit until it notices; with asynchronous
    // replication such a write may never reach a replica
    long oldAcks = rig.writers.stream().mapToLong(w -> w.acksFrom(oldPort, killAt)).sum();
    JsonArray per = rig.finish(result, rig.instances.get(0).writePort());
    for (int i = 0; i < per.size(); i++) {
      per.getJsonObject(i).put("client_rto_ms", rtos.getValue(i));
    }
    JsonArray incidents = rig.incidents(0);
    JsonObject incident = incidents.isEmpty() ? null : incidents.getJsonObject(incidents.size() - 1);
    JsonObject t = incident == null ? new JsonObject() : incident.getJsonObject("timeline", new JsonObject());
    result.put("kill_at", Instant.ofEpochMilli(killAt).toString()).put("client_rto_ms", worst)
        .put("acknowledged_by_old_primary_after_kill", oldAcks).put("incidents", incidents)
        .put("per_instance", rig.instances.size() > 1 ? per : null);
    result.put("table", new JsonObject()
        .put("client-seen RTO (kill → first ack" + (rig.instances.size() > 1 ? ", worst instance" : "") + ")",
            DrillReport.ms(worst))
        .put("Cutover cutover (last healthy → write accepted)", DrillReport.ms(incident == null ? null : incident.getLong("duration_ms")))
        .put("RTO verdict", incident == null ? null : incident.getString("rto_verdict"))
        .put("DOWN declared after last healthy", DrillReport.between(t.getString("last_healthy"), t.getString("down_declared")))
        .put("promoted after DOWN", DrillReport.between(t.getString("down_declared"), t.getString("promoted")))
        .put("RPO bytes", incident == null ? null : incident.getValue("rpo_bytes"))
        .put("promotions", result.getInteger("promotions"))
        .put("failed attempts", result.getLong("failed_attempts"))
        .put("acked by old primary after kill", oldAcks)
        .put("acknowledged writes lost", result.getValue("lost_acknowledged")));
    Expectations e = new Expectations().promotions(1, result.getInteger("promotions"))
        .expect("writes resume through every instance within " + options.timeout + " s", worst != null,
            worst == null ? "writes never resumed through " + rtos.stream().filter(x -> x == null).count()
                + " instance(s)" : worst + " ms")
        .noLoss(result, options.sync, false);
    return result.put("expectations", e.toJson());
  }
}
