package io.cutover.drill;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/**
 * {@code --fault power-loss}: every PostgreSQL node stops at once ({@code scripts/pg-cluster crash}: pg_ctl stop -m
 * immediate), stays down for {@code --down-for}, then pg1 is started first and the replicas one second later.
 * Expected: no promotion, pg1 keeps the primary role, writes resume on pg1 within {@value #RESUME_EXPECTED_MS} ms
 * of its restart, no acknowledged write lost, nothing fenced.
 */
final class PowerLossFault implements Fault.Run {

  static final long RESUME_EXPECTED_MS = 10_000;
  /** After writes resumed: time for a late promotion or fence to show. */
  static final long SETTLE_MS = 5_000;
  private final Drill options;

  PowerLossFault(Drill options) {
    this.options = options;
  }

  @Override
  public JsonObject run(DrillRig rig) throws Exception {
    long crashAt = System.currentTimeMillis();
    rig.pg.script("crash");
    System.out.printf("  all nodes down (immediate stop took %d ms); restarting pg1 in %d s%n",
        System.currentTimeMillis() - crashAt, options.downFor);
    DrillRig.sleep(Math.max(0, crashAt + options.downFor * 1000L - System.currentTimeMillis()));
    long restartAt = System.currentTimeMillis();
    Process pg1 = rig.pg.scriptAsync("start", "pg1");
    DrillRig.sleep(1000);
    String replicas = rig.pg.script("start", "pg2") + rig.pg.script("start", "pg3");
    String pg1Out = new String(pg1.getInputStream().readAllBytes());
    if (!pg1.waitFor(120, TimeUnit.SECONDS) || pg1.exitValue() != 0) {
      throw new IllegalStateException("scripts/pg-cluster start pg1 failed:\n" + pg1Out);
    }
    System.out.print(("  " + pg1Out + replicas).replace("\n", "\n  ").stripTrailing() + "\n");
    rig.awaitAcks(rig.writers, restartAt, -1, restartAt + options.timeoutMillis());
    Long worst = 0L;
    for (DrillWriter w : rig.writers) {
      long first = w.firstAckAfter(restartAt, -1);
      worst = first < 0 || worst == null ? null : Math.max(worst, first - restartAt);
    }
    String firstBy = rig.pg.nodeOfPort(rig.writers.get(0).firstAckPort(restartAt, -1));
    DrillRig.sleep(SETTLE_MS);
    List<Integer> all = IntStream.range(0, rig.instances.size()).boxed().toList();
    List<String> fenced = rig.fenced(all);
    JsonObject api = rig.clusterApi(0);
    String primary = api == null ? null : api.getJsonObject("topology").getString("primary");
    List<String> pgPrimaries = rig.pg.primaries();
    JsonObject result = new JsonObject();
    JsonArray per = rig.finish(result, rig.instances.get(0).writePort());
    for (int i = 0; i < per.size(); i++) {
      long first = rig.writers.get(i).firstAckAfter(restartAt, -1);
      per.getJsonObject(i).put("client_rto_ms", first < 0 ? null : first - restartAt);
    }
    int promotions = result.getInteger("promotions");
    boolean kept = "pg1".equals(primary) && pgPrimaries.equals(List.of("pg1")) && promotions == 0;
    result.put("crash_at", Instant.ofEpochMilli(crashAt).toString())
        .put("restart_at", Instant.ofEpochMilli(restartAt).toString())
        .put("client_rto_from_restart_ms", worst).put("first_ack_after_restart_by", firstBy).put("primary_at_end", primary)
        .put("pg_primaries_at_end", new JsonArray(pgPrimaries)).put("old_primary_kept_role", kept)
        .put("fenced_at_end", new JsonArray(fenced)).put("incidents", rig.incidents(0));
    if (rig.instances.size() > 1) {
      result.put("per_instance", per);
    }
    result.put("table", new JsonObject()
        .put("promotions", promotions)
        .put("primary at end (Cutover / not in recovery)", primary + " / " + String.join(",", pgPrimaries))
        .put("old primary kept its role", kept)
        .put("client-seen pg1 restart → first ack", DrillReport.ms(worst))
        .put("first ack by", firstBy)
        .put("acknowledged writes lost", result.getValue("lost_acknowledged"))
        .put("fenced at end", fenced.isEmpty() ? "none" : String.join(",", fenced))
        .put("failed attempts", result.getLong("failed_attempts")));
    Expectations e = new Expectations().promotions(0, promotions)
        .expect("pg1 keeps the primary role", kept, "Cutover's primary " + primary + ", not in recovery: " + pgPrimaries)
        .expect("writes resume on pg1 within " + RESUME_EXPECTED_MS / 1000 + " s of its restart",
            worst != null && worst <= RESUME_EXPECTED_MS && "pg1".equals(firstBy), worst == null
                ? "writes never resumed within " + options.timeout + " s" : worst + " ms, first acknowledged by " + firstBy)
        .noLoss(result, options.sync, true)
        .expect("nothing fenced", fenced.isEmpty(), fenced.isEmpty() ? "none" : String.join(",", fenced));
    return result.put("expectations", e.toJson());
  }
}
