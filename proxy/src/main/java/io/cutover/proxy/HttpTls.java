package io.cutover.proxy;

import io.cutover.proxy.config.CutoverConfig;
import io.cutover.proxy.config.HttpTlsOptions;
import io.cutover.proxy.config.PemKeyPair;
import io.netty.util.NetUtil;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.ServerSSLOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.cert.X509Certificate;
import java.util.Date;
import java.util.Locale;

/**
 * HTTPS on the HTTP listener ({@code listeners.http_tls}): the server's options at start, the certificate swapped on
 * a running listener, and the warning when the admin token would cross the network in clear text.
 */
final class HttpTls {

  private static final Logger LOG = LoggerFactory.getLogger(HttpTls.class);

  private HttpTls() {
  }

  /**
   * The HTTP listener's options: plain HTTP without {@code listeners.http_tls} (warning when the admin token would
   * cross the network in clear text: {@link #warnIfTokenInClear}); with it, TLS with the certificate and key read and
   * checked now, on a worker thread ({@link PemKeyPair}), and logged in one line.
   *
   * @return the options; failed with {@link PemKeyPair.Invalid} when the files are no longer usable (they were when the
   *         configuration was read)
   */
  static Future<HttpServerOptions> serverOptions(Vertx vertx, CutoverConfig config) {
    HttpTlsOptions tls = config.httpTls();
    if (tls == null) {
      warnIfTokenInClear(config);
      return Future.succeededFuture(new HttpServerOptions());
    }
    return vertx.executeBlocking(tls::load, false).map(pair -> {
      LOG.info("listeners.http serves HTTPS: {} from {}", pair.describe(), tls.cert());
      warnIfNotValidNow(pair.leaf());
      return new HttpServerOptions().setSsl(true).setKeyCertOptions(pair.options());
    });
  }

  /**
   * Reads the certificate and key again from {@code tls}'s paths and gives them to {@code server} for its new
   * connections; the listener stays bound and open connections keep the certificate they began with. Logs one line:
   * the new certificate, or why the old one stays.
   *
   * @return the certificate now served; failed, with the previous certificate still in use, when {@code tls} is
   *         {@code null} ({@link IllegalStateException}: plain HTTP), the server does not listen, the files cannot be
   *         used ({@link PemKeyPair.Invalid}, one clause per problem, e.g. {@code listeners.http_tls.cert
   *         /etc/cutover/tls.crt: not a PEM certificate: no -----BEGIN CERTIFICATE----- block, the file holds PRIVATE KEY})
   *         or Vert.x refuses them
   */
  static Future<X509Certificate> reload(Vertx vertx, HttpServer server, HttpTlsOptions tls) {
    if (tls == null) {
      return Future.failedFuture(new IllegalStateException(
          "listeners.http_tls is not set: the HTTP listener serves plain HTTP, there is no certificate to reload"));
    }
    if (server == null) {
      return Future.failedFuture(new IllegalStateException("the HTTP listener does not listen: no certificate to reload"));
    }
    return vertx.executeBlocking(tls::load, false)
        .compose(pair -> {
          try {
            // force: the options may equal the previous ones (same bytes); the files are read again on purpose
            return server.updateSSLOptions(new ServerSSLOptions().setKeyCertOptions(pair.options()), true)
                .map(updated -> pair);
          } catch (IllegalStateException e) { // "Not listening": closed meanwhile
            return Future.failedFuture(e);
          }
        })
        .map(pair -> {
          LOG.info("listeners.http_tls reloaded: now serving {}", pair.describe());
          warnIfNotValidNow(pair.leaf());
          return pair.leaf();
        })
        .onFailure(err -> LOG.warn("listeners.http_tls not reloaded, the previous certificate stays in use: {}",
            err.getMessage()));
  }

  /** {@code https} with {@code listeners.http_tls}, else {@code http}. */
  static String scheme(CutoverConfig config) {
    return config.httpTls() == null ? "http" : "https";
  }

  /**
   * Warns (one line) when {@code listeners.http} is not a loopback address, an admin token is configured and
   * {@code listeners.http_tls} is not set: the token would cross the network in clear text.
   *
   * @return whether it warned
   */
  static boolean warnIfTokenInClear(CutoverConfig config) {
    if (config.httpTls() != null || config.adminToken() == null || loopback(config.http().host())) {
      return false;
    }
    LOG.warn("listeners.http {} is not a loopback address and listeners.http_tls is not set: the admin token and every "
        + "answer cross the network in clear text; set listeners.http_tls {cert, key} or bind listeners.http to "
        + "127.0.0.1", config.http());
    return true;
  }

  /**
   * Whether {@code host} (from {@code listeners.http}) is a loopback address: {@code localhost}, {@code 127.0.0.0/8}
   * or {@code ::1}. Any other name counts as not loopback (it is not resolved); so do {@code 0.0.0.0} and {@code ::}.
   */
  static boolean loopback(String host) {
    if (host.toLowerCase(Locale.ROOT).equals("localhost")) {
      return true;
    }
    if (!NetUtil.isValidIpV4Address(host) && !NetUtil.isValidIpV6Address(host)) {
      return false;
    }
    java.net.InetAddress address = NetUtil.createInetAddressFromIpAddressString(host);
    return address != null && address.isLoopbackAddress();
  }

  private static void warnIfNotValidNow(X509Certificate leaf) {
    Date now = new Date();
    if (now.after(leaf.getNotAfter())) {
      LOG.warn("the certificate of listeners.http_tls expired at {}: clients that check it refuse the connection",
          leaf.getNotAfter().toInstant());
    } else if (now.before(leaf.getNotBefore())) {
      LOG.warn("the certificate of listeners.http_tls is valid only from {}: clients that check it refuse the connection",
          leaf.getNotBefore().toInstant());
    }
  }
}
