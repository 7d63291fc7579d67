package io.cutover.monitor;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Carries out the {@link FailoverMachine}'s {@link Action}s with a {@link FailoverExecutor}, the clustering layer
 * ({@link AuthoritySource}) and the event bus, and feeds every result back as an input — a success, a failure or,
 * through the phase deadlines, the lack of one. Keeps the last alerts ("decisions") for operators and publishes each
 * on {@value MonitorVerticle#DECISION_ADDRESS}.
 */
final class ActionRunner {

  private static final Logger LOG = LoggerFactory.getLogger(MonitorVerticle.class);
  private static final Logger INCIDENTS = LoggerFactory.getLogger("io.cutover.incident");
  /** Decisions kept for {@value MonitorVerticle#CLUSTER_ADDRESS}. */
  private static final int DECISIONS_KEPT = 50;

  private final Vertx vertx;
  private FailoverExecutor executor;
  private FailoverOptions failover;
  private final AuthoritySource authority;
  private final Clock clock;
  private final String probeHost;
  private final int probePort;
  private final Consumer<BiFunction<FailoverMachine, Long, List<Action>>> report;
  private final Consumer<String> recheck;
  private final LongSupplier version;
  private final Deque<JsonObject> decisions = new ArrayDeque<>();

  /**
   * @param report  feeds a result back into the machine (on the monitor's context)
   * @param recheck checks a target now
   * @param version the current topology version (the decision is numbered above it)
   */
  ActionRunner(Vertx vertx, FailoverExecutor executor, FailoverOptions failover, AuthoritySource authority, Clock clock,
               String probeHost, int probePort, Consumer<BiFunction<FailoverMachine, Long, List<Action>>> report,
               Consumer<String> recheck, LongSupplier version) {
    this.vertx = vertx;
    this.executor = executor;
    this.failover = failover;
    this.authority = authority;
    this.clock = clock;
    this.probeHost = probeHost;
    this.probePort = probePort;
    this.report = report;
    this.recheck = recheck;
    this.version = version;
  }

  /**
   * A reload: actions from now on are carried out by {@code executor} with {@code failover}'s hooks; those already
   * running finish with the old ones.
   */
  void reconfigure(FailoverExecutor executor, FailoverOptions failover) {
    this.executor = executor;
    this.failover = failover;
  }

  /** The last alerts, oldest first, as {@code {"at", "level", "reason"}}. */
  JsonArray decisions() {
    return new JsonArray(new ArrayList<>(decisions));
  }

  /** Carries out {@code actions} in order (followers skip promotions, re-pointing, switchovers and hooks). */
  void run(List<Action> actions) {
    boolean acting = authority.leader();
    for (Action a : actions) {
      if (!acting && (a instanceof Action.Promote || a instanceof Action.Repoint || a instanceof Action.Hook
          || a instanceof Action.Switchover)) {
        LOG.debug("not the leader: {} left to the leader", a);
        continue;
      }
      if (a instanceof Action.Promote p) {
        promote(p);
      } else if (a instanceof Action.Repoint r) {
        executor.repoint(r.replica(), r.primary()).onComplete(ar -> report.accept((m, now) -> m.onRepointed(r.replica().name(),
            r.primary().name(), ar.succeeded(), ar.failed() ? Errors.describe(ar.cause()) : null, now)));
      } else if (a instanceof Action.Recheck r) {
        recheck.accept(r.target());
      } else if (a instanceof Action.ProbeWrite w) {
        executor.probeWrite(probeHost, probePort, w.deadlineMillis()).onComplete(ar -> report.accept(ar.succeeded()
            ? FailoverMachine::onWriteAccepted : (m, now) -> m.onProbeFailed(Errors.describe(ar.cause()), now)));
      } else if (a instanceof Action.Hook h) {
        runHook(h);
      } else if (a instanceof Action.Alert al) {
        alert(al);
      } else if (a instanceof Action.IncidentClosed ic) {
        JsonObject json = ic.incident().toJson();
        INCIDENTS.info(json.encode());
        vertx.eventBus().publish(MonitorVerticle.INCIDENT_CLOSED_ADDRESS, json, MonitorVerticle.LOCAL);
        if ("recovered".equals(ic.incident().outcome()) && acting) {
          // the old primary leads again: any instance still fencing it by this leader's decision lifts that
          authority.unfenceEverywhere(ic.incident().oldPrimary());
        }
      } else if (a instanceof Action.IncidentUpdated iu) {
        JsonObject json = iu.incident().toJson();
        if (iu.incident().rpo().exact() || iu.incident().rpoUnmeasurable != null) {
          INCIDENTS.info(json.encode());
        }
        vertx.eventBus().publish(MonitorVerticle.INCIDENT_UPDATED_ADDRESS, json, MonitorVerticle.LOCAL);
      } else if (a instanceof Action.IncidentStep st) {
        vertx.eventBus().publish(MonitorVerticle.INCIDENT_UPDATED_ADDRESS, st.incident().toJson(), MonitorVerticle.LOCAL);
      } else if (a instanceof Action.MeasureRpo mr) {
        executor.readRpo(mr.oldPrimary(), mr.newPrimary(), mr.sinceMillis()).onComplete(ar -> report.accept(ar.succeeded()
            ? (m, now) -> m.rpo().onMeasured(mr.incident(), mr.newPrimary().name(), ar.result(), now)
            : (m, now) -> m.rpo().onMeasureFailed(mr.incident(), Errors.describe(ar.cause()), now)));
      } else if (a instanceof Action.IncidentOpened io) {
        vertx.eventBus().publish(MonitorVerticle.INCIDENT_OPENED_ADDRESS, io.incident().toJson()
            .put("last_healthy_ms", io.incident().lastHealthyAt()), MonitorVerticle.LOCAL);
      } else if (a instanceof Action.Refused r) {
        vertx.eventBus().publish(MonitorVerticle.REFUSED_ADDRESS, r.reason(), MonitorVerticle.LOCAL);
      } else if (a instanceof Action.Switchover sw) {
        switchover(sw);
      }
    }
  }

  /**
   * Records the decision (clustered: cluster-wide, every instance fencing the old primary), runs {@code on_fence}
   * once per incident after that, then promotes; the result (or failure, at any step) goes back to the machine.
   */
  private void promote(Action.Promote p) {
    String name = p.candidate().name();
    String old = p.oldPrimary() == null ? null : p.oldPrimary().name();
    authority.decide("failover", old, name, version.getAsLong())
        .compose(v -> {
          if (p.runFenceHook()) {
            runHook(new Action.Hook("on_fence", p.oldPrimary(), p.candidate()));
          }
          return executor.promoteReadingFork(p.candidate());
        })
        .onComplete(ar -> {
          if (ar.succeeded()) {
            authority.promoted(name);
            report.accept((m, now) -> m.rpo().forked(name, ar.result(), now));
          }
          report.accept((m, now) -> m.onPromoted(name, ar.succeeded(), ar.failed() ? Errors.describe(ar.cause()) : null, now));
        });
  }

  private void switchover(Action.Switchover s) {
    LOG.warn("switchover: {} -> {}", s.from().name(), s.to().name());
    authority.decide("switchover", s.from().name(), s.to().name(), version.getAsLong())
        .compose(v -> executor.switchover(s.from(), s.to()))
        .onComplete(ar -> {
          if (ar.failed() || !ar.result().ok()) {
            // the old primary stays the primary: the other instances route to it again
            authority.unfenceEverywhere(s.from().name());
          } else {
            authority.promoted(s.to().name());
          }
          report.accept((m, now) -> ar.succeeded()
              ? m.onSwitchoverResult(ar.result().ok(), ar.result().error(), ar.result().oldLsn(), ar.result().candidateLsn(), now)
              : m.onSwitchoverResult(false, Errors.describe(ar.cause()), -1, -1, now));
        });
  }

  /** Keeps the alert for {@link #decisions()}, publishes it on {@value MonitorVerticle#DECISION_ADDRESS} and logs it. */
  private void alert(Action.Alert al) {
    JsonObject decision = new JsonObject().put("at", java.time.Instant.ofEpochMilli(clock.millis()).toString())
        .put("level", al.level()).put("reason", al.message());
    decisions.addLast(decision);
    while (decisions.size() > DECISIONS_KEPT) {
      decisions.removeFirst();
    }
    vertx.eventBus().publish(MonitorVerticle.DECISION_ADDRESS, decision.copy(), MonitorVerticle.LOCAL);
    switch (al.level()) {
      case "error" -> LOG.error(al.message());
      case "warn" -> LOG.warn(al.message());
      default -> LOG.info(al.message());
    }
  }

  private void runHook(Action.Hook h) {
    String command = switch (h.event()) {
      case "on_failover" -> failover.getOnFailover();
      case "on_fence" -> failover.getOnFence();
      case "on_switchover" -> failover.getOnSwitchover();
      default -> null;
    };
    if (command == null) {
      return;
    }
    executor.runHook(h.event(), command, h.oldPrimary(), h.newPrimary()).onComplete(ar -> {
      if (ar.succeeded()) {
        LOG.info("hook {} exited with {}", h.event(), ar.result());
      } else {
        LOG.error("hook {} failed: {}", h.event(), Errors.describe(ar.cause()));
      }
    });
  }

}
