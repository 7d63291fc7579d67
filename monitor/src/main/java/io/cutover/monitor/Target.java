package io.cutover.monitor;

import io.vertx.core.json.JsonObject;

import java.util.Objects;

/**
 * A configured PostgreSQL server. Cutover never trusts configuration for who is primary: the role
 * is observed by checks ({@link Check}), so a target carries only its identity and address.
 *
 * @param name unique name used in logs, topology and (later) the admin API, e.g. {@code pg1}
 * @param host host name or IP address the proxy and the checks connect to
 * @param port TCP port, 1..65535
 */
public record Target(String name, String host, int port) {

  public Target {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(host, "host");
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port out of range 1..65535: " + port);
    }
  }

  /** {@code host:port}, for logs and error messages. */
  public String address() {
    return host + ":" + port;
  }

  public JsonObject toJson() {
    return new JsonObject().put("name", name).put("host", host).put("port", port);
  }

  public static Target fromJson(JsonObject json) {
    return new Target(json.getString("name"), json.getString("host"), json.getInteger("port"));
  }
}
