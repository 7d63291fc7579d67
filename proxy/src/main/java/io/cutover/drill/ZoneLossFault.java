package io.cutover.drill;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code --fault zone-loss} (three or more clustered instances): in the same moment the leader instance's JVM is
 * killed (kill -9) or, with {@code --leader freeze}, frozen (SIGSTOP, SIGCONT after {@code --freeze-for} and once the
 * survivors' writes resumed or timed out), and pg1's postmaster is killed (kill -9). The leader is the instance whose
 * {@code GET /api/v1/cluster} says {@code cluster.leader: true}. Expected: exactly one promotion across all
 * instances, writes resume through every surviving instance, (with {@code --sync}) no acknowledged write lost, and
 * a frozen old leader, once woken, promotes nothing and follows: its write endpoint acknowledges writes on the new
 * primary and its topology names the new primary.
 */
final class ZoneLossFault implements Fault.Run {

  private final Drill options;

  ZoneLossFault(Drill options) {
    this.options = options;
  }

  @Override
  public JsonObject run(DrillRig rig) throws Exception {
    boolean freeze = "freeze".equals(options.leader);
    int leader = rig.leader();
    if (leader < 0) {
      throw new IllegalStateException("no instance says it is the leader (GET /api/v1/cluster, cluster.leader)");
    }
    DrillRig.Instance old = rig.instances.get(leader);
    List<Integer> survivors = new ArrayList<>();
    List<DrillWriter> survivorWriters = new ArrayList<>();
    for (int i = 0; i < rig.instances.size(); i++) {
      if (i != leader) {
        survivors.add(i);
        survivorWriters.add(rig.writers.get(i));
      }
    }
    int oldPort = rig.pg.port("pg1");
    long pgPid = rig.pg.postmasterPid("pg1");
    System.out.printf("  leader: instance %d (pid %d); %s it and kill -9 pg1 (pid %d)%n", leader + 1,
        old.process().pid(), freeze ? "freeze" : "kill -9", pgPid);
    long faultAt = System.currentTimeMillis();
    if (freeze) {
      rig.freeze(List.of(old.process().pid()));
    } else {
      rig.signal("KILL", List.of(old.process().pid()));
    }
    rig.signal("KILL", List.of(pgPid));
    long skew = System.currentTimeMillis() - faultAt;
    rig.awaitAcks(survivorWriters, faultAt, oldPort, faultAt + options.timeoutMillis());
    Long worst = 0L;
    for (DrillWriter w : survivorWriters) {
      long first = w.firstAckAfter(faultAt, oldPort);
      worst = first < 0 || worst == null ? null : Math.max(worst, first - faultAt);
    }
    int newPort = survivorWriters.stream().mapToInt(w -> w.firstAckPort(faultAt, oldPort)).filter(p -> p >= 0)
        .findFirst().orElse(-1);
    String newPrimary = rig.pg.nodeOfPort(newPort);
    JsonObject result = new JsonObject().put("leader_instance", leader + 1).put("leader_fault", options.leader)
        .put("fault_at", Instant.ofEpochMilli(faultAt).toString()).put("fault_skew_ms", skew)
        .put("client_rto_ms", worst).put("new_primary", newPrimary);
    Long followMs = null;
    String apiPrimary = null;
    int leaderPromotions = 0;
    if (freeze) {
      DrillRig.sleep(Math.max(0, faultAt + options.freezeFor * 1000L - System.currentTimeMillis()));
      rig.thaw(List.of(old.process().pid()));
      long thawAt = System.currentTimeMillis();
      DrillWriter w = rig.writers.get(leader);
      while (System.currentTimeMillis() < thawAt + options.timeoutMillis()) {
        JsonObject c = rig.clusterApi(leader);
        apiPrimary = c == null ? null : c.getJsonObject("topology").getString("primary");
        long first = w.firstAckAfter(thawAt, oldPort);
        if (first >= 0 && newPrimary != null && newPrimary.equals(apiPrimary)
            && newPrimary.equals(rig.pg.nodeOfPort(w.firstAckPort(thawAt, oldPort)))) {
          followMs = first - thawAt;
          break;
        }
        DrillRig.sleep(100);
      }
      DrillRig.sleep(2000);
      leaderPromotions = rig.promotions(leader);
      result.put("thaw_at", Instant.ofEpochMilli(thawAt).toString()).put("old_leader_follows_after_ms", followMs)
          .put("old_leader_topology_primary", apiPrimary).put("old_leader_promotions", leaderPromotions);
    } else {
      DrillRig.sleep(3000);
    }
    JsonArray per = rig.finish(result, rig.instances.get(survivors.get(0)).writePort());
    for (int i = 0; i < per.size(); i++) {
      long first = rig.writers.get(i).firstAckAfter(faultAt, oldPort);
      per.getJsonObject(i).put("role", i == leader ? "old leader (" + (freeze ? "frozen" : "killed") + ")" : "survivor")
          .put("client_rto_ms", i == leader || first < 0 ? null : first - faultAt);
    }
    result.put("per_instance", per).put("incidents", rig.incidents(survivors.get(0)));
    JsonObject table = new JsonObject()
        .put("leader", "instance " + (leader + 1) + " (" + (freeze ? "frozen" : "killed") + ")")
        .put("client-seen RTO (fault → first ack, worst survivor)", DrillReport.ms(worst))
        .put("new primary", newPrimary)
        .put("promotions (all instances)", result.getInteger("promotions"));
    if (freeze) {
      table.put("old leader's promotions", leaderPromotions)
          .put("old leader follows (SIGCONT → ack on new primary)", DrillReport.ms(followMs));
    }
    result.put("table", table.put("failed attempts", result.getLong("failed_attempts"))
        .put("acknowledged writes lost", result.getValue("lost_acknowledged")));
    Expectations e = new Expectations().promotions(1, result.getInteger("promotions"))
        .expect("writes resume through every surviving instance within " + options.timeout + " s", worst != null,
            worst == null ? "writes never resumed" : worst + " ms");
    if (freeze) {
      e.expect("the old leader promotes nothing after SIGCONT", leaderPromotions == 0, leaderPromotions)
          .expect("the old leader follows within " + options.timeout + " s of SIGCONT (writes through it acknowledged by "
              + "the new primary, its topology names it)", followMs != null,
              followMs == null ? "not followed; its topology primary: " + apiPrimary : followMs + " ms");
    }
    e.noLoss(result, options.sync, false);
    return result.put("expectations", e.toJson());
  }
}
