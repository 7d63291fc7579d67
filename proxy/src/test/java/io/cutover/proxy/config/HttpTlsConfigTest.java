package io.cutover.proxy.config;

import io.cutover.proxy.Main;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code listeners.http_tls}: both keys, usable PEM files, one line per problem, exit code 2, paths in {@code --check}. */
class HttpTlsConfigTest {

  @TempDir
  static Path dir;
  static TestCertificates.Pair rsa;
  static TestCertificates.Pair ec;

  @BeforeAll
  static void certificates() throws Exception {
    rsa = TestCertificates.create(dir, "rsa", "cutover-config-rsa", 11, false);
    ec = TestCertificates.create(dir, "ec", "cutover-config-ec", 12, true);
  }

  private static ConfigLoader.Result parse(String tls) {
    return parse(tls, Map.of());
  }

  private static ConfigLoader.Result parse(String tls, Map<String, String> env) {
    return ConfigLoader.parse("test.yaml", ConfigLoaderTest.TARGETS + "listeners: {http: '0.0.0.0:9432', http_tls: " + tls
        + "}\n", env);
  }

  private static List<String> problems(String tls) {
    ConfigLoader.Result r = parse(tls);
    assertFalse(r.ok(), "expected problems for " + tls);
    return r.problems();
  }

  private static String tls(Path cert, Path key) {
    return "{cert: '" + cert + "', key: '" + key + "'}";
  }

  private static Path write(String name, String text) throws Exception {
    return Files.writeString(dir.resolve(name), text);
  }

  @Test
  void readsBothPathsAndPlainHttpIsTheDefault() {
    ConfigLoader.Result r = parse(tls(rsa.cert(), rsa.key()));
    assertTrue(r.ok(), r.problems().toString());
    assertEquals(new HttpTlsOptions(rsa.cert(), rsa.key()), r.config().httpTls());
    ConfigLoader.Result plain = ConfigLoader.parse("test.yaml", ConfigLoaderTest.TARGETS, Map.of());
    assertNull(plain.config().httpTls());
    assertEquals("off", plain.config().toJson().getJsonObject("listeners").getString("http_tls"));
    assertTrue(parse(tls(ec.cert(), ec.key())).ok(), "an EC key (PKCS#8)");
  }

  @Test
  void pkcs1AndSec1KeysAreRead() throws Exception {
    Path rsa1 = dir.resolve("rsa-pkcs1.key");
    TestCertificates.openssl(dir, List.of("openssl", "pkey", "-in", rsa.key().toString(), "-traditional", "-out", rsa1.toString()));
    assertTrue(Files.readString(rsa1).contains("BEGIN RSA PRIVATE KEY"));
    Path ec1 = dir.resolve("ec-sec1.key");
    TestCertificates.openssl(dir, List.of("openssl", "pkey", "-in", ec.key().toString(), "-traditional", "-out", ec1.toString()));
    assertTrue(Files.readString(ec1).contains("BEGIN EC PRIVATE KEY"));
    for (String t : List.of(tls(rsa.cert(), rsa1), tls(ec.cert(), ec1))) {
      ConfigLoader.Result r = parse(t);
      assertTrue(r.ok(), t + ": " + r.problems());
    }
  }

  @Test
  void aChainIsTheServersCertificateThenItsIssuers() throws Exception {
    TestCertificates.Pair ca = TestCertificates.create(dir, "ca", "cutover-config-ca", 20, false);
    TestCertificates.openssl(dir, List.of("openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj",
        "/CN=cutover-config-leaf", "-keyout", "leaf.key", "-out", "leaf.csr"));
    TestCertificates.openssl(dir, List.of("openssl", "x509", "-req", "-in", "leaf.csr", "-CA", ca.cert().toString(),
        "-CAkey", ca.key().toString(), "-set_serial", "21", "-days", "2", "-out", "leaf.crt"));
    String leaf = Files.readString(dir.resolve("leaf.crt"));
    String issuer = Files.readString(ca.cert());
    Path chain = write("chain.crt", "subject=CN = cutover-config-leaf\n" + leaf + "subject=CN = cutover-config-ca\n" + issuer);
    ConfigLoader.Result r = parse(tls(chain, dir.resolve("leaf.key")));
    assertTrue(r.ok(), r.problems().toString());
    Path reversed = write("reversed.crt", issuer + leaf);
    assertEquals(List.of("listeners.http_tls.cert: not a certificate chain: certificate 2 (CN=cutover-config-leaf) is not "
            + "the issuer of certificate 1 (CN=cutover-config-ca); the server's certificate comes first, then each one's "
            + "issuer (got '" + reversed + "')"),
        problems(tls(reversed, dir.resolve("leaf.key"))));
  }

  @Test
  void pathsAreRelativeToTheWorkingDirectory() throws Exception {
    Path relative = Path.of("target", "http-tls-" + UUID.randomUUID());
    Files.createDirectories(relative);
    try {
      Files.copy(rsa.cert(), relative.resolve("tls.crt"));
      Files.copy(rsa.key(), relative.resolve("tls.key"));
      ConfigLoader.Result r = parse(tls(relative.resolve("tls.crt"), relative.resolve("tls.key")));
      assertTrue(r.ok(), r.problems().toString());
      assertFalse(r.config().httpTls().cert().isAbsolute());
      assertEquals(relative.resolve("tls.crt").toString(), r.config().toJson().getJsonObject("listeners")
          .getJsonObject("http_tls").getString("cert"), "shown as written");
    } finally {
      for (String f : List.of("tls.crt", "tls.key")) {
        Files.deleteIfExists(relative.resolve(f));
      }
      Files.deleteIfExists(relative);
    }
  }

  @Test
  void bothKeysAreRequiredTogether() {
    assertEquals(List.of("listeners.http_tls.cert: needs listeners.http_tls.key too"), problems("{cert: '" + rsa.cert() + "'}"));
    assertEquals(List.of("listeners.http_tls.key: needs listeners.http_tls.cert too"), problems("{key: '" + rsa.key() + "'}"));
    assertEquals(List.of("listeners.http_tls: needs cert and key (PEM files)"), problems("{}"));
    assertEquals(List.of("listeners.http_tls.ca: unknown key"),
        problems("{cert: '" + rsa.cert() + "', key: '" + rsa.key() + "', ca: x}"));
    assertEquals(List.of("listeners.http_tls: must be a mapping of keys to values (got 'yes please')"),
        problems("yes please"));
  }

  @Test
  void missingAndUnreadableFilesAreOneLineEach() throws Exception {
    Path missing = dir.resolve("missing.crt");
    assertEquals(List.of("listeners.http_tls.cert: not a readable file: no such file (got '" + missing + "')"),
        problems(tls(missing, rsa.key())));
    assertEquals(List.of(
            "listeners.http_tls.cert: not a readable file: a directory (got '" + dir + "')",
            "listeners.http_tls.key: not a readable file: no such file (got '" + missing + "')"),
        problems(tls(dir, missing)));
  }

  @Test
  void garbageAndWrongPemBlocksAreNamed() throws Exception {
    Path garbage = write("garbage.pem", "this is not PEM\n");
    Path badBase64 = write("bad-base64.crt", "-----BEGIN CERTIFICATE-----\nMIIBnotacertificate\n-----END CERTIFICATE-----\n");
    Path unterminated = write("unterminated.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n");
    assertEquals(List.of(
            "listeners.http_tls.cert: not a PEM certificate: no -----BEGIN CERTIFICATE----- block, and the file holds no PEM "
                + "block at all (got '" + garbage + "')",
            "listeners.http_tls.key: not a PEM private key: no -----BEGIN PRIVATE KEY----- (or RSA PRIVATE KEY, EC PRIVATE "
                + "KEY) block, and the file holds no PEM block at all (got '" + garbage + "')"),
        problems(tls(garbage, garbage)));
    assertEquals(List.of(
            "listeners.http_tls.cert: not a PEM certificate: no -----BEGIN CERTIFICATE----- block, the file holds PRIVATE KEY "
                + "(got '" + rsa.key() + "')",
            "listeners.http_tls.key: not a PEM private key: no -----BEGIN PRIVATE KEY----- (or RSA PRIVATE KEY, EC PRIVATE "
                + "KEY) block, the file holds CERTIFICATE (got '" + rsa.cert() + "')"),
        problems(tls(rsa.key(), rsa.cert())), "cert and key swapped");
    List<String> base64 = problems(tls(badBase64, rsa.key()));
    assertEquals(1, base64.size(), base64.toString());
    assertTrue(base64.get(0).startsWith("listeners.http_tls.cert: not a PEM certificate: "), base64.toString());
    assertTrue(base64.get(0).endsWith(" (got '" + badBase64 + "')"), base64.toString());
    assertEquals(List.of("listeners.http_tls.cert: not a PEM certificate: -----BEGIN CERTIFICATE----- without its "
        + "-----END CERTIFICATE----- (got '" + unterminated + "')"), problems(tls(unterminated, rsa.key())));
    Path badKey = write("bad.key", "-----BEGIN PRIVATE KEY-----\nMIIBnotakey\n-----END PRIVATE KEY-----\n");
    List<String> key = problems(tls(rsa.cert(), badKey));
    assertEquals(1, key.size(), key.toString());
    assertTrue(key.get(0).startsWith("listeners.http_tls.key: not a usable PEM private key (RSA or EC, unencrypted): "), key.toString());
  }

  @Test
  void anEncryptedKeyOrAnotherCertificatesKeyIsRefused() throws Exception {
    Path encrypted = dir.resolve("encrypted.key");
    TestCertificates.openssl(dir, List.of("openssl", "pkey", "-in", rsa.key().toString(), "-aes256", "-passout", "pass:secret",
        "-out", encrypted.toString()));
    assertEquals(List.of("listeners.http_tls.key: an encrypted private key cannot be used (Cutover asks for no passphrase): "
            + "write it unencrypted, e.g. openssl pkey -in KEY -out KEY.plain, readable only by Cutover's user (got '"
            + encrypted + "')"),
        problems(tls(rsa.cert(), encrypted)));
    TestCertificates.Pair other = TestCertificates.create(dir, "other-rsa", "cutover-config-other", 13, false);
    assertEquals(List.of("listeners.http_tls.key: does not belong to the certificate in listeners.http_tls.cert "
        + "(CN=cutover-config-rsa) (got '" + other.key() + "')"), problems(tls(rsa.cert(), other.key())));
    List<String> kinds = problems(tls(rsa.cert(), ec.key()));
    assertEquals(1, kinds.size(), kinds.toString());
    assertTrue(kinds.get(0).startsWith("listeners.http_tls.key: "), kinds.toString());
  }

  @Test
  void anEnvironmentOverrideIsBlamedOnItsVariable() {
    Path missing = dir.resolve("env-missing.key");
    ConfigLoader.Result r = parse(tls(rsa.cert(), rsa.key()), Map.of("CUTOVER_LISTENERS__HTTP_TLS__KEY", missing.toString()));
    assertEquals(List.of("CUTOVER_LISTENERS__HTTP_TLS__KEY (listeners.http_tls.key): not a readable file: no such file (got '"
        + missing + "')"), r.problems());
  }

  @Test
  void badFilesExitWithTwoAndOneLinePerProblem() throws Exception {
    Path file = write("bad-tls.yaml", ConfigLoaderTest.TARGETS + "listeners: {http_tls: {cert: '" + dir.resolve("none.crt")
        + "'}}\n");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(2, Main.run(new String[] {"--config", file.toString()}, Map.of(), new PrintWriter(out, true),
        new PrintWriter(err, true)));
    assertEquals(List.of("cutover: invalid configuration in " + file + ": listeners.http_tls.cert: needs listeners.http_tls.key too"),
        err.toString().lines().toList());
    Path garbage = write("garbage2.pem", "garbage\n");
    Files.writeString(file, ConfigLoaderTest.TARGETS + "listeners: {http_tls: " + tls(garbage, rsa.key()) + "}\n");
    err.getBuffer().setLength(0);
    assertEquals(2, Main.run(new String[] {"--config", file.toString()}, Map.of(), new PrintWriter(out, true),
        new PrintWriter(err, true)));
    assertEquals(List.of("cutover: invalid configuration in " + file + ": listeners.http_tls.cert: not a PEM certificate: no "
        + "-----BEGIN CERTIFICATE----- block, and the file holds no PEM block at all (got '" + garbage + "')"),
        err.toString().lines().toList());
  }

  @Test
  void checkShowsThePathsAndNoKeyMaterial() throws Exception {
    Path file = write("ok-tls.yaml", ConfigLoaderTest.TARGETS + "listeners: {http_tls: " + tls(rsa.cert(), rsa.key()) + "}\n");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(0, Main.run(new String[] {"--config", file.toString(), "--check"}, Map.of(), new PrintWriter(out, true),
        new PrintWriter(err, true)), err.toString());
    JsonObject tls = new JsonObject(out.toString()).getJsonObject("listeners").getJsonObject("http_tls");
    assertEquals(new JsonObject().put("cert", rsa.cert().toString()).put("key", rsa.key().toString()), tls);
    String keyBody = Files.readString(rsa.key()).lines().filter(l -> !l.startsWith("-----")).findFirst().orElseThrow();
    assertFalse(out.toString().contains(keyBody), "no key material");
    assertFalse(out.toString().contains("PRIVATE KEY"), "no key material");
  }
}
