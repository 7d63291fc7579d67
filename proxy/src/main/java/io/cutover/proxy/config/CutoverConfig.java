package io.cutover.proxy.config;

import io.cutover.config.Durations;
import io.cutover.monitor.CheckOptions;
import io.cutover.monitor.FailoverOptions;
import io.cutover.monitor.Target;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.List;

/**
 * The whole validated configuration (one YAML file, see {@link ConfigLoader}).
 *
 * @param write             write endpoint listener ({@code listeners.write})
 * @param read              read endpoint listener ({@code listeners.read})
 * @param targets           PostgreSQL servers ({@code targets}), at least one, names unique
 * @param checks            monitor settings ({@code checks})
 * @param readMaxLagBytes   {@code read.max_lag}: replay lag in bytes of WAL above which a replica leaves
 *                          the read pool ({@code 0}: any lag); {@code -1} = {@code off}, no limit (default)
 * @param readFallbackToPrimary {@code read.fallback_to_primary}: route reads to the primary when no
 *                          replica is readable (default {@code true})
 * @param proxy             the data plane's settings ({@code proxy})
 * @param resolver          how host names are resolved ({@code resolver})
 * @param failover          failover settings ({@code failover})
 * @param http              HTTP listener for health, admin API and metrics ({@code listeners.http})
 * @param adminToken        bearer token for mutating admin calls ({@code admin.token} or
 *                          {@code CUTOVER_ADMIN_TOKEN}); {@code null} refuses them with 403
 * @param auditKept         audit entries kept in memory ({@code admin.audit_kept})
 * @param cluster           clustering over Hazelcast ({@code cluster})
 * @param history           where incidents and audit entries are kept across restarts ({@code history})
 * @param presence          the marker table that lets Cutovers on the same servers notice each other
 *                          ({@code presence}, see {@link io.cutover.monitor.Presence})
 * @param shutdown          how Cutover stops: announce, then drain ({@code shutdown}, see {@link ShutdownOptions})
 * @param httpTls           HTTPS on the HTTP listener ({@code listeners.http_tls}), {@code null}: plain HTTP
 */
public record CutoverConfig(ListenAddress write, ListenAddress read, List<Target> targets, CheckOptions checks,
                            long readMaxLagBytes, boolean readFallbackToPrimary, ProxyOptions proxy, ResolverOptions resolver,
                            FailoverOptions failover, ListenAddress http,
                            String adminToken, int auditKept, Cluster cluster, History history,
                            io.cutover.monitor.Presence.Options presence, ShutdownOptions shutdown,
                            HttpTlsOptions httpTls) {

  /**
   * {@code history} section: this instance's incidents and audit entries as JSON lines on disk, read back at start.
   *
   * @param dir          {@code history.dir}: the directory (relative paths from the working directory), or
   *                     {@code null} when unset or {@code off}: kept in memory only, lost on restart
   * @param maxFileBytes {@code history.max_file_size}: a file is rotated before an append would take it past this
   *                     (default {@link #DEFAULT_MAX_FILE_BYTES}, at least {@link #MIN_FILE_BYTES})
   * @param maxFiles     {@code history.max_files}: files kept per record, the current one included (default
   *                     {@value #DEFAULT_MAX_FILES}, 1-100)
   */
  public record History(java.nio.file.Path dir, long maxFileBytes, int maxFiles) {
    /** Default {@code history.max_file_size}: 10 MiB. */
    public static final long DEFAULT_MAX_FILE_BYTES = 10L << 20;
    /** Smallest {@code history.max_file_size}: 64 KiB (an audit entry may carry a 64 KiB request body). */
    public static final long MIN_FILE_BYTES = 64L << 10;
    /** Default {@code history.max_files}. */
    public static final int DEFAULT_MAX_FILES = 5;
    /** History off: kept in memory only. */
    public static final History OFF = new History(null, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_FILES);

    JsonObject toJson() {
      return new JsonObject().put("dir", dir == null ? "off" : dir.toString()).put("max_file_size", maxFileBytes)
          .put("max_files", maxFiles);
    }
  }

  /**
   * {@code cluster} section.
   *
   * @param enabled   run clustered ({@code cluster.enabled}, or {@code --cluster})
   * @param size      the number of instances the cluster is meant to have; a quorum is a majority of it
   * @param name      Hazelcast cluster name (overrides the file's {@code cluster-name})
   * @param hazelcast the Hazelcast configuration file
   * @param lease     {@code cluster.lease}: how long an instance keeps routing writes after a quorum of instances
   *                  last answered it (default {@link #DEFAULT_LEASE}); the leader promotes no earlier than a
   *                  lease (plus 10%) after an instance left
   */
  public record Cluster(boolean enabled, int size, String name, java.nio.file.Path hazelcast, java.time.Duration lease) {
    /**
     * Default {@code cluster.lease}: 4 s, shorter than Hazelcast's failure detector (5 s without a heartbeat), so
     * a leader never has to wait for the lease of an instance the detector just removed.
     */
    public static final java.time.Duration DEFAULT_LEASE = java.time.Duration.ofSeconds(4);

    /** A majority of {@link #size()}. */
    public int quorum() {
      return size / 2 + 1;
    }

    public Cluster withEnabled(boolean on) {
      return new Cluster(on, size, name, hazelcast, lease);
    }
  }

  public static final String DEFAULT_WRITE = "127.0.0.1:6432";
  public static final String DEFAULT_READ = "127.0.0.1:6433";
  public static final boolean DEFAULT_READ_FALLBACK_TO_PRIMARY = true;
  public static final String DEFAULT_HTTP = "127.0.0.1:9432";
  public static final int DEFAULT_AUDIT_KEPT = 1000;

  public CutoverConfig {
    targets = List.copyOf(targets);
  }

  /** The configuration in effect, as logged at start-up (no secrets). */
  public JsonObject toJson() {
    JsonArray t = new JsonArray();
    targets.forEach(x -> t.add(x.toJson()));
    return new JsonObject()
        .put("listeners", new JsonObject().put("write", write.toString()).put("read", read.toString())
            .put("http", http.toString()).put("http_tls", httpTls == null ? "off" : httpTls.toJson()))
        .put("admin", new JsonObject().put("token_set", adminToken != null).put("audit_kept", auditKept))
        .put("cluster", new JsonObject().put("enabled", cluster.enabled()).put("size", cluster.size())
            .put("name", cluster.name()).put("hazelcast", cluster.hazelcast().toString()))
        .put("targets", t)
        .put("checks", checks.toJson())
        .put("read", new JsonObject().put("max_lag", readMaxLagBytes < 0 ? "off" : String.valueOf(readMaxLagBytes))
            .put("fallback_to_primary", readFallbackToPrimary))
        .put("proxy", proxy.toJson())
        .put("resolver", resolver.toJson())
        .put("failover", failover.toJson())
        .put("history", history.toJson())
        .put("presence", new JsonObject().put("enabled", presence.enabled())
            .put("heartbeat", Durations.format(presence.heartbeat())))
        .put("shutdown", shutdown.toJson());
  }

  /** A copy with clustering switched on or off ({@code --cluster}). */
  public CutoverConfig withCluster(boolean enabled) {
    return new CutoverConfig(write, read, targets, checks, readMaxLagBytes, readFallbackToPrimary, proxy, resolver, failover, http, adminToken, auditKept, cluster.withEnabled(enabled), history,
        presence, shutdown, httpTls);
  }

}
