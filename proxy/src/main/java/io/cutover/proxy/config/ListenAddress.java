package io.cutover.proxy.config;

/**
 * A listener address written {@code host:port} (e.g. {@code 127.0.0.1:6432}); port {@code 0} binds an
 * ephemeral port (logged at start-up; used by tests).
 */
public record ListenAddress(String host, int port) {

  /** @throws IllegalArgumentException with a message suitable for a configuration error */
  public static ListenAddress parse(String text) {
    int colon = text.lastIndexOf(':');
    if (colon <= 0 || colon == text.length() - 1) {
      throw new IllegalArgumentException("must be host:port, e.g. 127.0.0.1:6432");
    }
    String host = text.substring(0, colon).trim();
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(text.substring(colon + 1).trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("port must be a number between 0 and 65535");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port out of range 0..65535");
    }
    return new ListenAddress(host, port);
  }

  @Override
  public String toString() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }
}
