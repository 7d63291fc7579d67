package io.cutover.monitor;

import java.util.List;

/**
 * What a configuration reload hands the monitor ({@link MonitorVerticle#reconfigure}).
 *
 * @param targets     the configured targets, at least one, names unique
 * @param checks      {@code checks} (including the targets' own {@code check}s)
 * @param failover    {@code failover}
 * @param maxLagBytes {@code read.max_lag} in bytes of WAL ({@code 0}: no lag); negative ({@code off}) disables it
 */
public record MonitorSettings(List<Target> targets, CheckOptions checks, FailoverOptions failover, long maxLagBytes) {

  public MonitorSettings {
    targets = List.copyOf(targets);
  }
}
