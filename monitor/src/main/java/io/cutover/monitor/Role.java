package io.cutover.monitor;

/** The role a server reports about itself ({@code pg_is_in_recovery()}). */
public enum Role {
  /** Not in recovery: accepts writes. */
  PRIMARY,
  /** In recovery (a streaming replica / hot standby): read-only. */
  REPLICA,
  /** Never observed, or the last check failed before the role was known. */
  UNKNOWN;

  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  public static Role fromLabel(String label) {
    return valueOf(label.toUpperCase(java.util.Locale.ROOT));
  }
}
