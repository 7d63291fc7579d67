package io.cutover.drill;

import io.cutover.monitor.Deadline;
import io.cutover.monitor.Errors;
import io.cutover.monitor.OtherCutovers;
import io.cutover.monitor.Presence;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The drill's pre-flight: it refuses to start while another Cutover manages the local cluster, because the
 * drill resets the cluster, kills and promotes nodes, and a second Cutover would fail over the same servers
 * on its own (and report false split brains). Another Cutover is one with a fresh row in the marker table
 * {@value Presence#TABLE} ({@link Presence}, {@link OtherCutovers#active}) on any node.
 */
public final class DrillPreflight {

  /** The drill's exit status when it refuses to start. */
  public static final int EXIT_BUSY = 3;
  /** Limit for reading one node's table (connect and query). */
  public static final Duration NODE_TIMEOUT = Duration.ofSeconds(5);

  private DrillPreflight() {
  }

  /**
   * Reads the marker table on every node of the local cluster and names the Cutovers active there. A node
   * that cannot be read is skipped: the drill's reset, which comes next, reports a cluster that is not up. Blocks
   * the calling thread (a command-line tool's main thread, never an event loop), at most {@link #NODE_TIMEOUT}
   * plus 1 s per node.
   *
   * @param vertx for the connections
   * @param ports node name → port on 127.0.0.1, as {@code scripts/pg-cluster env} gives them; the drill
   *              connects as {@code postgres} to the database {@code postgres}
   * @return a one-line refusal naming every other Cutover (id, host, PID, HTTP listener, cluster, when last
   *     seen and on which node), or empty when none is active
   * @throws InterruptedException when interrupted while waiting
   */
  public static Optional<String> refusal(Vertx vertx, Map<String, Integer> ports) throws InterruptedException {
    Map<String, OtherCutovers.Instance> found = new TreeMap<>();
    Map<String, String> where = new TreeMap<>();
    for (Map.Entry<String, Integer> node : ports.entrySet()) {
      PgConnectOptions o = new PgConnectOptions().setHost("127.0.0.1").setPort(node.getValue()).setUser("postgres")
          .setDatabase("postgres").setProperties(Map.of("application_name", "cutover-drill-preflight"));
      List<OtherCutovers.Instance> active;
      try {
        active = Presence.activeOn(vertx, o, Deadline.in(NODE_TIMEOUT, "the drill's pre-flight limit"))
            .toCompletionStage().toCompletableFuture().get(NODE_TIMEOUT.toMillis() + 1000, TimeUnit.MILLISECONDS);
      } catch (ExecutionException | TimeoutException e) {
        System.out.println("drill: pre-flight could not read " + Presence.TABLE + " on " + node.getKey() + ": "
            + Errors.describe(e.getCause() == null ? e : e.getCause()));
        continue;
      }
      for (OtherCutovers.Instance i : active) {
        OtherCutovers.Instance known = found.get(i.id());
        if (known == null || i.seenAt().isAfter(known.seenAt())) {
          found.put(i.id(), i);
          where.put(i.id(), node.getKey());
        }
      }
    }
    if (found.isEmpty()) {
      return Optional.empty();
    }
    List<String> named = new ArrayList<>();
    found.forEach((id, i) -> named.add(i.describe() + " in " + Presence.TABLE + " on " + where.get(id)));
    return Optional.of("drill: refusing to start: " + (found.size() == 1 ? "another Cutover manages" : found.size()
        + " other Cutovers manage") + " the local cluster: " + String.join("; ", named) + ". Stop it first (its "
        + "row counts until it is " + OtherCutovers.STALE_HEARTBEATS + " of its heartbeats old; a clean stop deletes it)");
  }
}
