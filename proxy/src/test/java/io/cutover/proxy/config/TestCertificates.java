package io.cutover.proxy.config;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Self-signed certificates made by {@code openssl} for tests (installed by {@code .ci/run}), and clients trusting them. */
public final class TestCertificates {

  /**
   * A certificate and its key, both PEM files.
   *
   * @param cert   the certificate (CN as given, subjectAltName IP:127.0.0.1 and DNS:localhost)
   * @param key    its private key, unencrypted PKCS#8 ({@code PRIVATE KEY}, OpenSSL 3's default)
   * @param serial the serial number given to openssl
   */
  public record Pair(Path cert, Path key, long serial) {
  }

  private TestCertificates() {
  }

  /**
   * Makes a self-signed certificate valid for two days in {@code dir} ({@code NAME.crt}, {@code NAME.key}).
   *
   * @param ec an EC P-256 key when true, else RSA 2048
   */
  public static Pair create(Path dir, String name, String commonName, long serial, boolean ec) throws Exception {
    Path cert = dir.resolve(name + ".crt");
    Path key = dir.resolve(name + ".key");
    List<String> cmd = new ArrayList<>(List.of("openssl", "req", "-x509", "-nodes", "-days", "2",
        "-subj", "/CN=" + commonName, "-set_serial", String.valueOf(serial),
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key.toString(), "-out", cert.toString()));
    cmd.addAll(ec ? List.of("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1") : List.of("-newkey", "rsa:2048"));
    openssl(dir, cmd);
    return new Pair(cert, key, serial);
  }

  /** Runs {@code openssl ARGS...} in {@code dir}, at most 60 s; fails the test with its output when it does not exit 0. */
  public static void openssl(Path dir, List<String> cmd) throws Exception {
    Path out = Files.createTempFile(dir, "openssl", ".log");
    Process p;
    try {
      p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    } catch (IOException e) {
      throw new AssertionError("openssl cannot be started (install it: apt-get install openssl): " + e.getMessage(), e);
    }
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        throw new AssertionError("openssl did not finish within 60 s: " + cmd);
      }
      if (p.exitValue() != 0) {
        throw new AssertionError("openssl failed (" + p.exitValue() + "): " + cmd + "\n" + Files.readString(out));
      }
    } finally {
      p.destroyForcibly();
      Files.deleteIfExists(out);
    }
  }

  /** The first certificate of a PEM file. */
  public static X509Certificate read(Path cert) throws Exception {
    try (InputStream in = Files.newInputStream(cert)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  /** A new TLS context (its own session cache) that trusts exactly these certificates. */
  public static SSLContext trusting(Path... certs) throws Exception {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    for (int i = 0; i < certs.length; i++) {
      store.setCertificateEntry("trusted-" + i, read(certs[i]));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(store);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }
}
