package io.cutover.proxy.config;

import io.cutover.config.ConfigSection;
import io.cutover.config.Durations;
import io.vertx.core.json.JsonObject;

import java.time.Duration;

/**
 * How Cutover stops ({@code shutdown} section), on SIGTERM or {@code POST /api/v1/shutdown}: first it announces (the
 * readiness and endpoint health checks answer 503 while new sessions are still accepted, so that load balancers and
 * Kubernetes stop sending them), then the listeners stop accepting and the established sessions run on until they
 * end or the grace passes; what is left then is closed. A second SIGTERM ends at once.
 *
 * @param announce {@code shutdown.announce}: how long new sessions are still accepted after readiness turned 503
 *                 (default {@link #DEFAULT_ANNOUNCE}: HAProxy's default check {@code inter 2s fall 3} and the README's
 *                 Kubernetes readiness probe {@code periodSeconds: 2}, {@code failureThreshold: 3} both notice a 503
 *                 within 6 s; set it to your load balancer's detection time; {@code 0s} closes the listeners at once)
 * @param grace    {@code shutdown.grace}: how long established sessions may run on after the listeners closed (default
 *                 {@link #DEFAULT_GRACE}, like Kubernetes' {@code terminationGracePeriodSeconds}; keep the sum of both
 *                 below the time your supervisor waits before SIGKILL: systemd's {@code TimeoutStopSec}, Kubernetes'
 *                 grace period)
 */
public record ShutdownOptions(Duration announce, Duration grace) {

  /** Default {@code shutdown.announce}: 6 s. */
  public static final Duration DEFAULT_ANNOUNCE = Duration.ofSeconds(6);
  /** Default {@code shutdown.grace}: 30 s. */
  public static final Duration DEFAULT_GRACE = Duration.ofSeconds(30);
  /** Largest value of either: an hour. */
  public static final Duration MAX = Duration.ofHours(1);

  /** The defaults. */
  public static ShutdownOptions defaults() {
    return new ShutdownOptions(DEFAULT_ANNOUNCE, DEFAULT_GRACE);
  }

  /** Reads the {@code shutdown} section; problems go to the section's {@link io.cutover.config.ConfigProblems}. */
  public static ShutdownOptions fromConfig(ConfigSection section) {
    Duration announce = atMostAnHour(section, "announce", DEFAULT_ANNOUNCE);
    Duration grace = atMostAnHour(section, "grace", DEFAULT_GRACE);
    section.rejectUnknown();
    return new ShutdownOptions(announce, grace);
  }

  private static Duration atMostAnHour(ConfigSection section, String key, Duration def) {
    Duration d = section.duration(key, def, Duration.ZERO);
    if (d.compareTo(MAX) > 0) {
      section.problems().add(section.key(key), Durations.format(d), "must be at most 1h");
      return def;
    }
    return d;
  }

  /** The settings in effect, as logged at start-up and printed by {@code --check}. */
  public JsonObject toJson() {
    return new JsonObject().put("announce", Durations.format(announce)).put("grace", Durations.format(grace));
  }
}
