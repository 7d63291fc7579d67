package io.cutover.monitor;

/**
 * The {@code http} check's decision (HAProxy's {@code option httpchk} with one path per role): a target's role from
 * the HTTP status of its primary path and of its replica path, both asked at once. Pure and I/O-free.
 *
 * <ul>
 *   <li>{@code 200} on the primary path: {@link Role#PRIMARY}, whatever the replica path says (a replica path that
 *   also admits the primary, such as Patroni's {@code /read-only}, still makes the primary the primary).</li>
 *   <li>Else {@code 200} on the replica path: {@link Role#REPLICA}, with an {@link Observation#UNREPORTED} WAL
 *   receiver: the endpoint vouches for it, so the replica counts as following (put a lag limit in the path, e.g.
 *   Patroni's {@code /replica?lag=16MB}, since {@code read.max_lag} cannot be applied).</li>
 *   <li>Else, when a path got no answer, the check fails with that failure's kind (the primary path's first):
 *   {@code GET /primary: connection refused}.</li>
 *   <li>Else (both answered, neither {@code 200}) the check fails with {@link FailureKind#ERROR}:
 *   {@code neither primary nor replica (GET /primary: 503, GET /replica: 503)}.</li>
 * </ul>
 *
 * <p>An {@code http} check sees no timeline and no WAL position: they are {@code -1} (unknown), so there is no lag
 * figure, no candidate for a promotion by Cutover and no RPO bound from positions.
 */
public final class HttpRoles {

  private HttpRoles() {
  }

  /**
   * @param target        the target's name
   * @param atMillis      when the check completed, epoch milliseconds
   * @param latencyMillis how long it took, in milliseconds
   * @param primaryPath   the primary path asked, e.g. {@code /primary}
   * @param primary       its answer
   * @param replicaPath   the replica path asked, e.g. {@code /replica?lag=16MB}
   * @param replica       its answer
   */
  public static Observation observe(String target, long atMillis, long latencyMillis, String primaryPath,
                                    HttpAnswer primary, String replicaPath, HttpAnswer replica) {
    if (primary.answered() && primary.status() == 200) {
      return Observation.primary(target, atMillis, latencyMillis, -1, -1);
    }
    if (replica.answered() && replica.status() == 200) {
      return Observation.replica(target, atMillis, latencyMillis, -1, -1, -1, Observation.UNREPORTED);
    }
    if (!primary.answered()) {
      return Observation.failed(target, atMillis, latencyMillis, primary.failure(), "GET " + primaryPath + ": " + primary.error());
    }
    if (!replica.answered()) {
      return Observation.failed(target, atMillis, latencyMillis, replica.failure(), "GET " + replicaPath + ": " + replica.error());
    }
    return Observation.failed(target, atMillis, latencyMillis, FailureKind.ERROR, "neither primary nor replica (GET "
        + primaryPath + ": " + primary.status() + ", GET " + replicaPath + ": " + replica.status() + ")");
  }
}
