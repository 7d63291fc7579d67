package io.cutover.monitor;

import io.cutover.config.ConfigSection;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.ext.web.client.WebClientOptions;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * How the checks reach an HTTP endpoint beside each server (YAML {@code checks.patroni} or {@code checks.http}): the
 * port, TLS and basic authentication as Patroni's REST API offers them ({@code restapi.certfile},
 * {@code restapi.verify_client}, {@code restapi.authentication}), and for {@code http} checks the two role paths.
 *
 * @param port        the endpoint's TCP port on each target's host, 1-65535 (default {@value #DEFAULT_PORT}, Patroni's);
 *                    a target may override it ({@code targets[].check.port})
 * @param https       {@code scheme: https}: TLS (default {@code http}: none)
 * @param cafile      PEM file of the certificate authorities trusted for the endpoint's certificate, {@code null}: the
 *                    JVM's default trust store
 * @param certfile    PEM client certificate, for an endpoint that requires one ({@code verify_client: required});
 *                    {@code null} for none
 * @param keyfile     its PEM private key (PKCS#8 or PKCS#1)
 * @param verify      check the endpoint's certificate and host name (default {@code true}); {@code false} accepts any,
 *                    like patronictl's {@code ctl.insecure}
 * @param user        basic authentication user, {@code null} for none
 * @param password    its password (better from the environment: {@code CUTOVER_CHECKS__PATRONI__PASSWORD})
 * @param primaryPath {@code http} only: the path that answers 200 on the primary (default {@value #DEFAULT_PRIMARY_PATH})
 * @param replicaPath {@code http} only: the path that answers 200 on a readable replica (default
 *                    {@value #DEFAULT_REPLICA_PATH}; e.g. {@code /replica?lag=16MB} for Patroni's lag limit)
 */
public record HttpCheckOptions(int port, boolean https, Path cafile, Path certfile, Path keyfile, boolean verify,
                               String user, String password, String primaryPath, String replicaPath) {

  /** Default {@code port}: 8008, Patroni's REST API. */
  public static final int DEFAULT_PORT = 8008;
  /** Default {@code primary_path}: Patroni's primary endpoint. */
  public static final String DEFAULT_PRIMARY_PATH = "/primary";
  /** Default {@code replica_path}: Patroni's replica endpoint. */
  public static final String DEFAULT_REPLICA_PATH = "/replica";
  /** The defaults: Patroni's REST API on port 8008, plain HTTP, no authentication. */
  public static final HttpCheckOptions DEFAULTS = new HttpCheckOptions(DEFAULT_PORT, false, null, null, null, true,
      null, null, DEFAULT_PRIMARY_PATH, DEFAULT_REPLICA_PATH);

  /**
   * Reads the section, reporting bad values as configuration problems (one line each).
   *
   * @param rolePaths whether {@code primary_path} and {@code replica_path} belong to it ({@code checks.http})
   */
  public static HttpCheckOptions fromConfig(ConfigSection s, boolean rolePaths) {
    int port = s.integer("port", DEFAULT_PORT, 1, 65535);
    String scheme = s.string("scheme", "http").trim();
    boolean https = scheme.equalsIgnoreCase("https");
    if (!https && !scheme.equalsIgnoreCase("http")) {
      s.problems().add(s.key("scheme"), scheme, "must be http or https");
    }
    Path cafile = file(s, "cafile", https);
    Path certfile = file(s, "certfile", https);
    Path keyfile = file(s, "keyfile", https);
    if (s.has("certfile") != s.has("keyfile")) {
      boolean noCert = !s.has("certfile");
      s.problems().add(s.key(noCert ? "keyfile" : "certfile"), null, "needs " + s.key(noCert ? "certfile" : "keyfile") + " too");
    }
    if (certfile == null || keyfile == null) {
      certfile = null;
      keyfile = null;
    }
    boolean verify = s.bool("verify", true);
    String user = s.string("user", null);
    String password = s.string("password", null);
    if ((user == null) != (password == null)) {
      s.problems().add(s.key(user == null ? "password" : "user"), null,
          "needs " + s.key(user == null ? "user" : "password") + " too (basic authentication)");
    }
    String primary = rolePaths ? path(s, "primary_path", DEFAULT_PRIMARY_PATH) : DEFAULT_PRIMARY_PATH;
    String replica = rolePaths ? path(s, "replica_path", DEFAULT_REPLICA_PATH) : DEFAULT_REPLICA_PATH;
    s.rejectUnknown();
    return new HttpCheckOptions(port, https, cafile, certfile, keyfile, verify, user, password, primary, replica);
  }

  /**
   * The web client's settings: TLS as configured, {@code connect timeout} = {@code timeout}, a new connection for
   * every request (no keep-alive, as HAProxy's checks), redirects not followed.
   */
  public WebClientOptions clientOptions(Duration timeout) {
    WebClientOptions o = new WebClientOptions()
        .setUserAgent("cutover-monitor")
        .setKeepAlive(false)
        .setFollowRedirects(false)
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, timeout.toMillis()))
        .setSsl(https)
        .setVerifyHost(verify)
        .setTrustAll(!verify);
    if (cafile != null) {
      o.setTrustOptions(new PemTrustOptions().addCertPath(cafile.toString()));
    }
    if (certfile != null) {
      o.setKeyCertOptions(new PemKeyCertOptions().setCertPath(certfile.toString()).setKeyPath(keyfile.toString()));
    }
    return o;
  }

  /** For the start-up log: no password ({@code password_set}), paths only with {@code rolePaths}. */
  public JsonObject toJson(boolean rolePaths) {
    JsonObject json = new JsonObject().put("port", port).put("scheme", https ? "https" : "http").put("verify", verify);
    if (cafile != null) {
      json.put("cafile", cafile.toString());
    }
    if (certfile != null) {
      json.put("certfile", certfile.toString()).put("keyfile", keyfile.toString());
    }
    if (user != null) {
      json.put("user", user).put("password_set", true);
    }
    if (rolePaths) {
      json.put("primary_path", primaryPath).put("replica_path", replicaPath);
    }
    return json;
  }

  private static Path file(ConfigSection s, String name, boolean https) {
    String text = s.string(name, null);
    if (text == null) {
      return null;
    }
    if (!https) {
      s.problems().add(s.key(name), text, "needs " + s.key("scheme") + ": https");
      return null;
    }
    try {
      Path p = Path.of(text.trim());
      if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
        s.problems().add(s.key(name), text, "not a readable file");
        return null;
      }
      return p;
    } catch (InvalidPathException e) {
      s.problems().add(s.key(name), text, "not a valid path: " + e.getReason());
      return null;
    }
  }

  private static String path(ConfigSection s, String name, String def) {
    String text = s.string(name, def);
    if (!text.startsWith("/") || text.chars().anyMatch(c -> c <= ' ' || c == '#' || c >= 127)) {
      s.problems().add(s.key(name), text, "must be a path starting with '/', optionally with a query (e.g. /replica?lag=16MB)");
      return def;
    }
    return text;
  }
}
