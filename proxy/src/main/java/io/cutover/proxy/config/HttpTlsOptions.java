package io.cutover.proxy.config;

import io.cutover.config.ConfigSection;
import io.vertx.core.json.JsonObject;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * {@code listeners.http_tls}: HTTPS on the HTTP listener ({@code listeners.http}: health, admin API, metrics, the
 * operator's page), so that its answers and the admin token travel encrypted.
 *
 * @param cert PEM certificate chain, the server's certificate first ({@code cert}); relative paths from the working
 *             directory, like {@code history.dir}
 * @param key  its PEM private key, unencrypted: PKCS#8 ({@code PRIVATE KEY}), PKCS#1 ({@code RSA PRIVATE KEY}) or
 *             SEC1 ({@code EC PRIVATE KEY}) ({@code key})
 */
public record HttpTlsOptions(Path cert, Path key) {

  /**
   * Reads {@code listeners.http_tls}: both keys or neither, and both files usable as they are when read now
   * ({@link PemKeyPair#load}); every problem is one line of {@code listeners}' problems, naming the key and the path.
   *
   * @return the options, or {@code null} when the section is absent or has problems
   */
  static HttpTlsOptions fromConfig(ConfigSection listeners) {
    if (!listeners.has("http_tls")) {
      listeners.section("http_tls"); // read, so an explicit null is not an unknown key
      return null;
    }
    int before = listeners.problems().problems().size();
    ConfigSection s = listeners.section("http_tls");
    if (listeners.problems().problems().size() > before) {
      return null; // not a mapping: said so
    }
    Path cert = path(s, "cert");
    Path key = path(s, "key");
    s.rejectUnknown();
    if (!s.has("cert") && !s.has("key")) {
      s.problems().add(listeners.key("http_tls"), null, "needs cert and key (PEM files)");
      return null;
    }
    if (s.has("cert") != s.has("key")) {
      String present = s.has("cert") ? "cert" : "key";
      String missing = s.has("cert") ? "key" : "cert";
      s.problems().add(s.key(present), null, "needs " + s.key(missing) + " too");
      return null;
    }
    if (cert == null || key == null) {
      return null;
    }
    try {
      PemKeyPair.load(cert, key);
    } catch (PemKeyPair.Invalid e) {
      e.problems().forEach(p -> s.problems().add(s.key(p.part().key()),
          (p.part() == PemKeyPair.Part.CERT ? cert : key).toString(), p.reason()));
      return null;
    }
    return new HttpTlsOptions(cert, key);
  }

  /** For {@code --check} and the start-up log: the two paths as written (never the key's contents). */
  public JsonObject toJson() {
    return new JsonObject().put("cert", cert.toString()).put("key", key.toString());
  }

  /**
   * Reads the files again and checks them (blocking file I/O: call it off the event loops).
   *
   * @throws PemKeyPair.Invalid naming every problem, see {@link PemKeyPair#load}
   */
  public PemKeyPair load() throws PemKeyPair.Invalid {
    return PemKeyPair.load(cert, key);
  }

  private static Path path(ConfigSection s, String name) {
    String text = s.string(name, null);
    if (text == null) {
      return null;
    }
    if (text.isBlank()) {
      s.problems().add(s.key(name), text, "must be a file path");
      return null;
    }
    try {
      return Path.of(text.trim());
    } catch (InvalidPathException e) {
      s.problems().add(s.key(name), text, "not a valid path: " + e.getReason());
      return null;
    }
  }
}
