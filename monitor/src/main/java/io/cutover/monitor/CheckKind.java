package io.cutover.monitor;

import io.cutover.config.ConfigSection;

import java.util.Locale;

/** How a target is checked ({@code checks.kind}, {@code targets[].check.kind}). */
public enum CheckKind {
  /** A session on the server itself ({@link SqlCheck}); the default. */
  SQL,
  /** Patroni's REST API, {@code GET /patroni} ({@link PatroniCheck}). */
  PATRONI,
  /** HAProxy-{@code httpchk}-style role endpoints: a primary path and a replica path ({@link HttpRoleCheck}). */
  HTTP;

  /** {@code sql}, {@code patroni} or {@code http}. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Whether the check asks an HTTP endpoint beside PostgreSQL (a port of its own). */
  public boolean overHttp() {
    return this != SQL;
  }

  /** Reads {@code name} of {@code s}: absent → {@code def}; anything but a kind's label → a problem and {@code def}. */
  public static CheckKind read(ConfigSection s, String name, CheckKind def) {
    String text = s.string(name, def.label());
    for (CheckKind k : values()) {
      if (k.label().equals(text.trim().toLowerCase(Locale.ROOT))) {
        return k;
      }
    }
    s.problems().add(s.key(name), text, "must be sql, patroni or http");
    return def;
  }
}
