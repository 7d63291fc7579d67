package io.cutover.drill;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Instant;

/**
 * {@code --fault kill}: kill -9 of pg1's postmaster (PID from its postmaster.pid, like {@code scripts/pg-cluster
 * kill pg1}); wait until every
 * writer has a write acknowledged by another server (or {@code --timeout}), count the acknowledged writes missing on
 * the new primary (the client's view), then restart pg1 and wait (up to {@code --timeout}) for Cutover's RPO figure,
 * a bound at the cutover, to be measured. Expected: exactly one promotion, writes resume through every instance, (with
 * {@code --sync}) no acknowledged write lost, and after a promotion: the RPO measured once pg1 restarted, above 0
 * whenever acknowledged writes were lost, never claimed exact before it was measured.
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
    JsonArray logged = rig.incidents(0);
    JsonObject atCutover = logged.isEmpty() ? null : logged.getJsonObject(logged.size() - 1);
    Long lost = result.getLong("lost_acknowledged");
    boolean restarted = atCutover != null
        && atCutover.getJsonObject("timeline", new JsonObject()).getString("promoted") != null;
    JsonObject incident = restarted ? measuredAfterRestart(rig, atCutover.getLong("id"), result) : atCutover;
    JsonArray incidents = rig.incidents(0);
    JsonObject t = incident == null ? new JsonObject() : incident.getJsonObject("timeline", new JsonObject());
    JsonObject rpo = incident == null ? new JsonObject() : incident.getJsonObject("rpo", new JsonObject());
    boolean exact = rpo.getBoolean("exact", false);
    Long rpoBytes = rpo.getLong("bytes");
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
        .put("promotions", result.getInteger("promotions"))
        .put("failed attempts", result.getLong("failed_attempts"))
        .put("acked by old primary after kill", oldAcks)
        .put("acknowledged writes lost (client)", lost)
        .put("RPO at the cutover (Cutover)", atCutover == null ? null : atCutover.getJsonObject("rpo").getString("display"))
        .put("RPO measured after pg1's restart", !restarted ? null
            : exact ? rpo.getString("display") + " (" + DrillReport.ms(result.getLong("rpo_measured_after_restart_ms"))
            + " after)" : "not measured: " + why(rpo.getString("basis", ""))));
    Expectations e = new Expectations().promotions(1, result.getInteger("promotions"))
        .expect("writes resume through every instance within " + options.timeout + " s", worst != null,
            worst == null ? "writes never resumed through " + rtos.stream().filter(x -> x == null).count()
                + " instance(s)" : worst + " ms")
        .noLoss(result, options.sync, false);
    if (restarted) {
      e.expect("the RPO is measured once pg1 restarted (within " + options.timeout + " s)", exact,
          exact ? rpo.getString("display") : rpo.getString("basis"))
          .expect("a measured RPO above 0 whenever acknowledged writes were lost", lost == null ? null
              : lost == 0 || exact && rpoBytes != null && rpoBytes > 0, lost + " lost, RPO " + rpo.getString("display"))
          .expect("no exact RPO claimed before it was measured", rig.incidentVersions(0).stream()
              .filter(v -> v.getLong("id").equals(atCutover.getLong("id")))
              .map(v -> v.getJsonObject("rpo", new JsonObject()))
              .takeWhile(r -> r.getString("measured") == null).noneMatch(r -> r.getBoolean("exact", false)),
              atCutover.getJsonObject("rpo").getString("display") + " at the cutover");
    }
    return result.put("expectations", e.toJson());
  }

  /** The reason at the end of a bound's basis ("...; not measured yet: REASON"), else the whole basis. */
  private static String why(String basis) {
    int at = basis.lastIndexOf("; not measur");
    return at < 0 ? basis : basis.substring(basis.indexOf(':', at) + 2);
  }

  /**
   * Restarts pg1 (crash recovery; Cutover fences it, and nothing rejoins it before the next run's reset), then waits
   * up to --timeout until instance 1 logs incident {@code id} with its RPO measured (or no longer measurable); the
   * incident's last logged version. Records {@code rpo_measured_after_restart_ms} (pg1 accepting connections →
   * measured) in {@code result}.
   */
  private JsonObject measuredAfterRestart(DrillRig rig, long id, JsonObject result) throws Exception {
    rig.pg.script("start", "pg1");
    long started = System.currentTimeMillis();
    long deadline = started + options.timeoutMillis();
    while (true) {
      JsonObject latest = rig.incidents(0).stream().map(JsonObject.class::cast)
          .filter(i -> i.getLong("id") == id).findFirst().orElseThrow();
      JsonObject rpo = latest.getJsonObject("rpo", new JsonObject());
      if (rpo.getBoolean("exact", false) || rpo.getString("basis", "").contains("not measurable")) {
        result.put("rpo_measured_after_restart_ms", System.currentTimeMillis() - started);
        return latest;
      }
      if (System.currentTimeMillis() > deadline) {
        return latest;
      }
      DrillRig.sleep(200);
    }
  }
}
