package io.cutover.proxy.config;

import io.cutover.config.ConfigSection;
import io.cutover.config.Durations;
import io.netty.util.NetUtil;
import io.vertx.core.dns.AddressResolverOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * How Cutover resolves host names ({@code resolver} section): the targets' hosts, for the monitor's checks and for
 * every backend connection the proxy opens. Resolution is asynchronous (Vert.x's DNS resolver over Netty), never on a
 * blocking call on an event loop; {@code /etc/hosts} is read first, answers are cached for their DNS TTL.
 *
 * @param servers {@code resolver.servers}: DNS servers as {@code IPv4}, {@code IPv4:port} or {@code IPv6} (port 53 by
 *                default), asked in order; empty (the default) = the {@code nameserver}s of {@code /etc/resolv.conf}
 * @param timeout {@code resolver.timeout}: how long one DNS query may take before the next server is asked or the
 *                resolution fails (default {@link #DEFAULT_TIMEOUT}, at least {@link #MIN_TIMEOUT})
 */
public record ResolverOptions(List<String> servers, Duration timeout) {

  /** Default {@code resolver.timeout}: 5 s, as glibc's resolver and Vert.x's. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
  /** Smallest {@code resolver.timeout}. */
  public static final Duration MIN_TIMEOUT = Duration.ofMillis(100);

  public ResolverOptions {
    servers = List.copyOf(servers);
  }

  /** The system's servers, the default timeout. */
  public static ResolverOptions defaults() {
    return new ResolverOptions(List.of(), DEFAULT_TIMEOUT);
  }

  /** Reads the {@code resolver} section; problems go to the section's {@link io.cutover.config.ConfigProblems}. */
  public static ResolverOptions fromConfig(ConfigSection section) {
    List<String> servers = new ArrayList<>();
    for (String server : section.strings("servers")) {
      if (valid(server)) {
        servers.add(server);
      } else {
        section.problems().add(section.key("servers"), server, "must be an IPv4 address with an optional :port (1-65535), or an IPv6 address");
      }
    }
    Duration timeout = section.duration("timeout", DEFAULT_TIMEOUT, MIN_TIMEOUT);
    section.rejectUnknown();
    return new ResolverOptions(servers, timeout);
  }

  /** {@code 10.0.0.2}, {@code 10.0.0.2:5353}, {@code ::1} (an IPv6 server on port 53 only). */
  static boolean valid(String server) {
    if (NetUtil.isValidIpV4Address(server) || NetUtil.isValidIpV6Address(server)) {
      return true;
    }
    int colon = server.lastIndexOf(':');
    if (colon <= 0 || !NetUtil.isValidIpV4Address(server.substring(0, colon))) {
      return false;
    }
    try {
      int port = Integer.parseInt(server.substring(colon + 1));
      return port >= 1 && port <= 65535;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  /** Vert.x's resolver options for these settings. */
  public AddressResolverOptions toVertx() {
    AddressResolverOptions o = new AddressResolverOptions().setQueryTimeout(timeout.toMillis());
    if (!servers.isEmpty()) {
      o.setServers(servers);
    }
    return o;
  }

  /** The settings in effect, as logged at start-up and printed by {@code --check}. */
  public JsonObject toJson() {
    return new JsonObject().put("servers", servers.isEmpty() ? "/etc/resolv.conf" : new JsonArray(servers))
        .put("timeout", Durations.format(timeout));
  }
}
