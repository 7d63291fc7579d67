package io.cutover.proxy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Sessions per backend target, from the moment one is routed (before its backend connect starts) until its
 * sockets are closed. Cancel requests go to every target that has relayed sessions; a drain closes a
 * target's sessions gracefully ({@link #closeAll}); a fence closes them hard ({@link #fenceAll}), including
 * the ones still connecting, which then never reach the relay.
 *
 * <p>Why register before connecting: the data plane fences by updating the {@link TopologyView} and then
 * calling {@link #fenceAll}; a new session registers and then re-reads the view. Whichever runs second sees
 * the other, so no session routed in the same instant as a fence slips through. Thread-safe: sessions on
 * every event loop register here.
 */
public final class SessionRegistry {

  /** Whether write sessions may relay client bytes now (clustered: the instance holds its write lease). */
  private volatile java.util.function.BooleanSupplier writeLease = () -> true;

  /**
   * Clustered Cutover: write sessions relay client bytes only while {@code lease} holds; a session that reads
   * client bytes after it expired is aborted instead (a proxy woken from a freeze forwards nothing).
   */
  public void writeLease(java.util.function.BooleanSupplier lease) {
    this.writeLease = lease;
  }

  boolean writesAllowed() {
    return writeLease.getAsBoolean();
  }

  private static final Logger LOG = LoggerFactory.getLogger(SessionRegistry.class);
  /** How long {@link #fenceAll} waits for the sockets to close before it completes anyway, in milliseconds. */
  static final long FENCE_CLOSE_DEADLINE_MILLIS = 1000;

  private final Map<String, Set<Registration>> byTarget = new ConcurrentHashMap<>();
  private final Map<Endpoint, LongAdder> perEndpoint = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> connectFailures = new ConcurrentHashMap<>();

  /** Counts a failed backend connect to {@code target}. */
  void connectFailed(String target) {
    connectFailures.computeIfAbsent(target, k -> new LongAdder()).increment();
  }

  /** Failed backend connects to {@code target} since start. */
  public long connectFailures(String target) {
    LongAdder n = connectFailures.get(target);
    return n == null ? 0 : n.sum();
  }

  /**
   * Registers a session routed to {@code target}, before its backend connect starts. The caller must then
   * re-read the topology (a fence that ran before this call is visible there) and {@link Registration#release}
   * the entry when the session ends without a relay.
   */
  Registration register(Endpoint endpoint, String target) {
    return register(endpoint, target, false);
  }

  /**
   * Registers a session as {@link #register(Endpoint, String)} does; {@code fallback} marks a read session routed
   * to the primary ({@code read.fallback_to_primary}), which {@link #closeReads} leaves alone.
   */
  Registration register(Endpoint endpoint, String target, boolean fallback) {
    return register(endpoint, target, fallback, null);
  }

  /**
   * Registers a session to {@code backend} (its name and the address it connects to, which a cancel request is sent
   * to even after a reload removed or re-addressed the target), as {@link #register(Endpoint, String, boolean)} does.
   */
  Registration register(Endpoint endpoint, io.cutover.monitor.Target backend, boolean fallback) {
    return register(endpoint, backend.name(), fallback, backend);
  }

  private Registration register(Endpoint endpoint, String target, boolean fallback, io.cutover.monitor.Target backend) {
    Registration r = new Registration(this, endpoint, target, fallback, backend);
    byTarget.computeIfAbsent(target, k -> ConcurrentHashMap.newKeySet()).add(r);
    return r;
  }

  /** Called by {@link Registration#pair}: the session now counts as relayed on its endpoint. */
  void paired(Registration r) {
    perEndpoint.computeIfAbsent(r.endpoint(), k -> new LongAdder()).increment();
  }

  /** Called once per entry when its session is over and its backend socket closed. */
  void removed(Registration r) {
    Set<Registration> set = byTarget.get(r.target());
    if (set != null && set.remove(r) && r.isRelayed()) {
      perEndpoint.get(r.endpoint()).decrement();
    }
  }

  /** Names of targets with at least one relayed session. */
  public Set<String> targetsWithSessions() {
    Set<String> out = new TreeSet<>();
    byTarget.forEach((k, v) -> {
      if (v.stream().anyMatch(Registration::isRelayed)) {
        out.add(k);
      }
    });
    return out;
  }

  /**
   * The addresses of the relayed sessions, each once: where each connected, or for one registered by name only the
   * address {@code lookup} gives for its target (none: left out).
   */
  public Set<io.cutover.monitor.Target> backendsWithSessions(
      java.util.function.Function<String, java.util.Optional<io.cutover.monitor.Target>> lookup) {
    Set<io.cutover.monitor.Target> out = new java.util.LinkedHashSet<>();
    byTarget.forEach((name, set) -> set.stream().filter(Registration::isRelayed).forEach(r ->
        (r.address() != null ? java.util.Optional.of(r.address()) : lookup.apply(name)).ifPresent(out::add)));
    return out;
  }

  /** Relayed sessions to {@code target} whose sockets are not closed yet. */
  public int sessions(String target) {
    Set<Registration> set = byTarget.get(target);
    return set == null ? 0 : (int) set.stream().filter(Registration::isRelayed).count();
  }

  /** Sessions routed to {@code target} whose backend is still connecting (not yet relayed). */
  public int pending(String target) {
    Set<Registration> set = byTarget.get(target);
    return set == null ? 0 : (int) set.stream().filter(r -> !r.isRelayed()).count();
  }

  /** Relayed sessions of one endpoint. */
  public long sessions(Endpoint endpoint) {
    LongAdder n = perEndpoint.get(endpoint);
    return n == null ? 0 : n.sum();
  }

  /**
   * The relayed sessions as operators see them ({@code GET /api/v1/cluster}'s {@code sessions}, the event stream's
   * {@code sessions} events): {@code {"write": n, "read": n, "by_target": {"pg1": n, ...}}}, targets in name order.
   */
  public io.vertx.core.json.JsonObject toJson(java.util.Collection<String> targets) {
    io.vertx.core.json.JsonObject byTarget = new io.vertx.core.json.JsonObject();
    targets.stream().sorted().forEach(t -> byTarget.put(t, sessions(t)));
    return new io.vertx.core.json.JsonObject().put("write", sessions(Endpoint.WRITE)).put("read", sessions(Endpoint.READ))
        .put("by_target", byTarget);
  }

  /**
   * Closes every session relayed to {@code target} gracefully (what was already read is flushed first), for
   * a drain's {@code close_after}. Sessions still connecting are left alone (the drain stopped routing to
   * the target; they are its last ones).
   *
   * @return how many relayed sessions were asked to close
   */
  public int closeAll(String target) {
    Set<Registration> set = byTarget.get(target);
    if (set == null) {
      return 0;
    }
    int n = 0;
    for (Registration r : set) {
      if (r.isRelayed()) {
        r.closeRelay();
        n++;
      }
    }
    return n;
  }

  /** The sessions routed to {@code target} now, relayed or still connecting (what a reload retires). */
  java.util.List<Registration> snapshot(String target) {
    Set<Registration> set = byTarget.get(target);
    return set == null ? java.util.List.of() : java.util.List.copyOf(set);
  }

  /**
   * Ends {@code sessions} after a reload removed or re-addressed their target: a relayed session is closed gracefully,
   * as a drain's {@code close_after} closes it; one still connecting is fenced, so it is never handed off and goes back
   * to routing. Sessions already over are skipped.
   *
   * @return how many relayed sessions were asked to close
   */
  static int retire(java.util.Collection<Registration> sessions) {
    int n = 0;
    for (Registration r : sessions) {
      if (r.isRelayed()) {
        r.closeRelay();
        n++;
      } else {
        r.fence();
      }
    }
    return n;
  }

  /**
   * Closes hard read-endpoint sessions to {@code target}, relayed or still connecting (a connecting one is routed
   * again) — HAProxy's {@code on-marked-down shutdown-sessions}. Write sessions are left alone. Idempotent.
   *
   * @param replicaSessions  close the sessions routed to {@code target} as a replica
   * @param fallbackSessions close the sessions that fell back to {@code target} as the primary
   * @return how many sessions this call closed (not counting ones closed before)
   */
  public int closeReads(String target, boolean replicaSessions, boolean fallbackSessions) {
    return closeReads(target, null, replicaSessions, fallbackSessions);
  }

  /**
   * {@link #closeReads(String, boolean, boolean)} for the sessions connected to {@code address} only (and those
   * registered by name only): sessions to an address a reload replaced keep their grace.
   *
   * @param address the target's address now, or {@code null} for every session under the name
   */
  public int closeReads(String target, io.cutover.monitor.Target address, boolean replicaSessions, boolean fallbackSessions) {
    Set<Registration> set = byTarget.get(target);
    if (set == null) {
      return 0;
    }
    int n = 0;
    for (Registration r : set) {
      boolean here = address == null || r.address() == null || r.address().equals(address);
      if (here && r.endpoint() == Endpoint.READ && (r.fallback() ? fallbackSessions : replicaSessions) && !r.isFenced()) {
        r.fence();
        n++;
      }
    }
    return n;
  }

  /**
   * Fences {@code target}: every session to it, relayed or still connecting, is closed hard — the backend
   * socket is reset ({@code SO_LINGER} 0: the kernel's send buffer is discarded, the server sees a RST),
   * bytes not yet written to either socket are dropped, and a connecting session is never handed off (it
   * goes back to routing). Idempotent; sessions fenced earlier and still closing are waited for as well.
   *
   * @return completes with the number of sessions this call fenced (not counting ones fenced before) once
   *         every socket is closed, or after {@value #FENCE_CLOSE_DEADLINE_MILLIS} ms at the latest, with a
   *         warning logged; never completes exceptionally
   */
  public CompletableFuture<Integer> fenceAll(String target) {
    Set<Registration> set = byTarget.get(target);
    if (set == null || set.isEmpty()) {
      return CompletableFuture.completedFuture(0);
    }
    List<CompletableFuture<Void>> closing = new ArrayList<>();
    int fresh = 0;
    for (Registration r : set) {
      if (!r.isFenced()) {
        fresh++;
      }
      closing.add(r.fence());
    }
    int n = fresh;
    CompletableFuture<Integer> result = new CompletableFuture<>();
    CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new)).whenComplete((v, err) -> result.complete(n));
    if (!result.isDone()) {
      CompletableFuture.delayedExecutor(FENCE_CLOSE_DEADLINE_MILLIS, TimeUnit.MILLISECONDS).execute(() -> {
        if (result.complete(n)) {
          long open = closing.stream().filter(f -> !f.isDone()).count();
          LOG.warn("fence of {}: {} of {} session(s) not closed within {} ms; acknowledging anyway", target, open,
              closing.size(), FENCE_CLOSE_DEADLINE_MILLIS);
        }
      });
    }
    return result;
  }
}
