package io.cutover.drill;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;

import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * {@code --fault freeze}: SIGSTOP of pg1's postmaster and all its children for {@code --freeze-for} (longer than
 * detection, so that Cutover fails over while the old primary is frozen), then SIGCONT. Expected: exactly one
 * promotion, writes resume through every instance, the old primary acknowledges no write after the freeze began
 * (a grace of {@value #GRACE_MS} ms covers answers already on the wire when SIGSTOP lands), and its sessions are
 * closed: Cutover relays none to it before SIGCONT, and none of the drill's sessions is left on it 3 s after.
 */
final class FreezeFault implements Fault.Run {

  static final long GRACE_MS = 200;
  private final Drill options;

  FreezeFault(Drill options) {
    this.options = options;
  }

  @Override
  public JsonObject run(DrillRig rig) throws Exception {
    JsonObject result = new JsonObject();
    int oldPort = rig.pg.port("pg1");
    List<Long> pids = rig.pg.postmasterTree("pg1");
    long freezeAt = System.currentTimeMillis();
    rig.freeze(pids);
    while (System.currentTimeMillis() < freezeAt + options.freezeFor * 1000L) {
      DrillRig.sleep(50);
    }
    Integer relayed = 0;
    for (int i = 0; i < rig.instances.size(); i++) {
      JsonObject c = rig.clusterApi(i);
      relayed = c == null || relayed == null ? null
          : relayed + c.getJsonObject("sessions").getJsonObject("by_target").getInteger("pg1", 0);
    }
    rig.thaw(pids);
    long thawAt = System.currentTimeMillis();
    rig.awaitAcks(rig.writers, freezeAt, oldPort, freezeAt + options.timeoutMillis());
    JsonArray rtos = new JsonArray();
    Long worst = 0L;
    for (DrillWriter w : rig.writers) {
      long first = w.firstAckAfter(freezeAt, oldPort);
      rtos.add(first < 0 ? null : first - freezeAt);
      worst = first < 0 || worst == null ? null : Math.max(worst, first - freezeAt);
    }
    int newPort = rig.writers.get(0).firstAckPort(freezeAt, oldPort);
    DrillRig.sleep(Math.max(0, thawAt + 3000 - System.currentTimeMillis()));
    RowSet<Row> left = rig.pg.queryNode("pg1", "select count(*) from pg_stat_activity where application_name = "
        + "'cutover-drill' and backend_type = 'client backend'");
    Long leftOnOld = left == null ? null : left.iterator().next().getLong(0);
    long oldAcks = rig.writers.stream().mapToLong(w -> w.acksFrom(oldPort, freezeAt + GRACE_MS)).sum();
    JsonArray per = rig.finish(result, rig.instances.get(0).writePort());
    for (int i = 0; i < per.size(); i++) {
      per.getJsonObject(i).put("client_rto_ms", rtos.getValue(i));
    }
    Long diverged = null;
    RowSet<Row> oldIds = rig.pg.queryNode("pg1", "select id from cutover_drill");
    Set<Long> present = rig.presentIds;
    if (oldIds != null && present != null) {
      diverged = 0L;
      for (Row r : oldIds) {
        diverged += present.contains(r.getLong(0)) ? 0 : 1;
      }
    }
    List<String> fenced = rig.fenced(java.util.stream.IntStream.range(0, rig.instances.size()).boxed().toList());
    result.put("freeze_at", Instant.ofEpochMilli(freezeAt).toString()).put("thaw_at", Instant.ofEpochMilli(thawAt).toString())
        .put("client_rto_ms", worst).put("new_primary", rig.pg.nodeOfPort(newPort))
        .put("acknowledged_by_old_primary_after_freeze", oldAcks)
        .put("sessions_relayed_to_old_primary_before_sigcont", relayed)
        .put("drill_sessions_on_old_primary_after_sigcont", leftOnOld)
        .put("rows_on_old_primary_not_on_new", diverged)
        .put("fenced_at_end", new JsonArray(fenced)).put("incidents", rig.incidents(0));
    if (rig.instances.size() > 1) {
      result.put("per_instance", per);
    }
    boolean closed = relayed != null && relayed == 0 && leftOnOld != null && leftOnOld == 0;
    result.put("table", new JsonObject()
        .put("client-seen RTO (SIGSTOP → first ack by another node)", DrillReport.ms(worst))
        .put("new primary", result.getString("new_primary"))
        .put("promotions", result.getInteger("promotions"))
        .put("acked by old primary after freeze", oldAcks)
        .put("sessions to old primary before SIGCONT", relayed)
        .put("drill sessions on old primary 3 s after SIGCONT", leftOnOld)
        .put("rows on old primary not on new (unacknowledged)", diverged)
        .put("fenced at end", String.join(",", fenced))
        .put("failed attempts", result.getLong("failed_attempts"))
        .put("acknowledged writes lost", result.getValue("lost_acknowledged")));
    Expectations e = new Expectations().promotions(1, result.getInteger("promotions"))
        .expect("writes resume through every instance within " + options.timeout + " s", worst != null,
            worst == null ? "writes never resumed" : worst + " ms")
        .expect("the old primary acknowledges no write after the freeze began", oldAcks == 0, oldAcks)
        .expect("the old primary's sessions are closed", closed, "relayed before SIGCONT: " + relayed
            + ", drill sessions on it 3 s after SIGCONT: " + leftOnOld)
        .noLoss(result, options.sync, false);
    return result.put("expectations", e.toJson());
  }
}
