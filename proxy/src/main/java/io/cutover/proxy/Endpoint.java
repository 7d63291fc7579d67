package io.cutover.proxy;

/** The two client-facing endpoints. */
public enum Endpoint {
  /** Always the current primary. */
  WRITE,
  /** Readable replicas, round-robin; the primary as a fallback when configured. */
  READ;

  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** The configuration key of this endpoint's listener, e.g. {@code listeners.write}. */
  public String configKey() {
    return "listeners." + label();
  }
}
