package io.cutover.proxy.config;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.PemKeyCertOptions;

import javax.net.ssl.KeyManager;
import javax.net.ssl.X509KeyManager;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PEM certificate chain and its private key, read from two files and checked the way the HTTP listener will use
 * them: the chain with the JDK's X.509 parser (what Vert.x uses under its PEM armour), the pair with Vert.x's own PEM
 * support ({@link PemKeyCertOptions}: an unencrypted PKCS#8 {@code PRIVATE KEY}, PKCS#1 {@code RSA PRIVATE KEY} or
 * {@code EC PRIVATE KEY}), and the key against the first certificate (a signature made with the key must verify with
 * the certificate's public key). The bytes checked are the bytes served ({@link #options()} carries them as values),
 * so a file replaced between the check and the use cannot slip through. The key's bytes are never logged or printed
 * ({@link #toString()} names the certificate only).
 */
public final class PemKeyPair {

  /** Which of the two files a problem is about. */
  public enum Part {
    CERT("cert"), KEY("key");

    private final String name;

    Part(String name) {
      this.name = name;
    }

    /** The key's name under {@code listeners.http_tls}: {@code cert} or {@code key}. */
    public String key() {
      return name;
    }
  }

  /**
   * One thing wrong with one of the files.
   *
   * @param part   the file it is about
   * @param reason what is wrong, one line without the path, e.g. {@code not a readable file: no such file}
   */
  public record Problem(Part part, String reason) {
  }

  /** The files cannot be used; {@link #problems()} says why, one line per problem (cert first). */
  public static final class Invalid extends Exception {
    private static final long serialVersionUID = 1L;
    private final transient List<Problem> problems;

    Invalid(Path cert, Path key, List<Problem> problems) {
      super(String.join("; ", problems.stream()
          .map(p -> "listeners.http_tls." + p.part().key() + " " + (p.part() == Part.CERT ? cert : key) + ": " + p.reason())
          .toList()));
      this.problems = List.copyOf(problems);
    }

    /** The problems, at least one, the certificate's before the key's. */
    public List<Problem> problems() {
      return problems;
    }
  }

  private static final Pattern BEGIN = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----");
  private static final Set<String> KEY_LABELS = Set.of("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY");
  private static final Pattern CERT_BLOCK = Pattern.compile("-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----",
      Pattern.DOTALL);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Buffer cert;
  private final Buffer key;
  private final X509Certificate leaf;

  private PemKeyPair(Buffer cert, Buffer key, X509Certificate leaf) {
    this.cert = cert;
    this.key = key;
    this.leaf = leaf;
  }

  /**
   * Reads and checks both files (blocking file I/O: call it off the event loops).
   *
   * @param certFile PEM certificate chain, the server's certificate first
   * @param keyFile  PEM private key of that certificate, unencrypted
   * @return the pair, ready for {@link #options()}
   * @throws Invalid naming every problem found: a file that cannot be read, holds no PEM block of the right kind,
   *                 does not parse, an encrypted key, or a key that does not belong to the certificate
   */
  public static PemKeyPair load(Path certFile, Path keyFile) throws Invalid {
    List<Problem> problems = new ArrayList<>();
    byte[] certBytes = read(certFile, Part.CERT, problems);
    byte[] keyBytes = read(keyFile, Part.KEY, problems);
    X509Certificate leaf = certBytes == null ? null : certificate(certBytes, problems);
    if (keyBytes != null) {
      keyBlock(keyBytes, problems);
    }
    if (!problems.isEmpty()) {
      throw new Invalid(certFile, keyFile, problems);
    }
    PemKeyPair pair = new PemKeyPair(Buffer.buffer(certBytes), Buffer.buffer(keyBytes), leaf);
    PrivateKey key;
    try {
      key = pair.privateKey();
    } catch (Exception e) {
      throw new Invalid(certFile, keyFile, List.of(new Problem(Part.KEY, "not a usable PEM private key (RSA or EC, unencrypted): " + message(e))));
    }
    if (!matches(key, leaf)) {
      throw new Invalid(certFile, keyFile, List.of(new Problem(Part.KEY,
          "does not belong to the certificate in listeners.http_tls.cert (" + leaf.getSubjectX500Principal().getName() + ")")));
    }
    return pair;
  }

  /** Vert.x's key and certificate options holding these bytes as values (no file is read again). */
  public PemKeyCertOptions options() {
    return new PemKeyCertOptions().setCertValue(cert).setKeyValue(key);
  }

  /** The chain's first certificate: the one served. */
  public X509Certificate leaf() {
    return leaf;
  }

  /** The served certificate in one line for the log: subject, serial number (hex) and end of validity. */
  public String describe() {
    return "certificate " + leaf.getSubjectX500Principal().getName() + " (serial " + leaf.getSerialNumber().toString(16)
        + ", valid until " + leaf.getNotAfter().toInstant() + ")";
  }

  @Override
  public String toString() {
    return describe();
  }

  /** The key as Vert.x reads it, through the key manager it builds for the pair. */
  private PrivateKey privateKey() throws Exception {
    // values only: Vert.x reads no file, so it needs no Vert.x instance here
    PemKeyCertOptions options = options();
    KeyStore store = options.loadKeyStore(null);
    KeyManager[] managers = options.getKeyManagerFactory(null).getKeyManagers();
    for (String alias : Collections.list(store.aliases())) {
      for (KeyManager m : managers) {
        if (m instanceof X509KeyManager x && x.getPrivateKey(alias) != null) {
          return x.getPrivateKey(alias);
        }
      }
    }
    throw new GeneralSecurityException("no private key found in the file");
  }

  private static byte[] read(Path file, Part part, List<Problem> problems) {
    try {
      if (Files.isDirectory(file)) {
        problems.add(new Problem(part, "not a readable file: a directory"));
        return null;
      }
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      problems.add(new Problem(part, "not a readable file: no such file"));
    } catch (AccessDeniedException e) {
      problems.add(new Problem(part, "not a readable file: permission denied"));
    } catch (IOException | RuntimeException e) {
      problems.add(new Problem(part, "not a readable file: " + message(e)));
    }
    return null;
  }

  /** The chain's first certificate, or a problem: no CERTIFICATE block, or one that does not parse. */
  private static X509Certificate certificate(byte[] bytes, List<Problem> problems) {
    Set<String> labels = labels(bytes);
    if (!labels.contains("CERTIFICATE")) {
      problems.add(new Problem(Part.CERT, "not a PEM certificate: no -----BEGIN CERTIFICATE----- block" + found(labels)));
      return null;
    }
    // only the CERTIFICATE blocks, as Vert.x takes them (text around them, or a key block in the same file, is skipped)
    StringBuilder blocks = new StringBuilder();
    Matcher m = CERT_BLOCK.matcher(new String(bytes, StandardCharsets.US_ASCII));
    while (m.find()) {
      blocks.append(m.group()).append('\n');
    }
    if (blocks.isEmpty()) {
      problems.add(new Problem(Part.CERT, "not a PEM certificate: -----BEGIN CERTIFICATE----- without its -----END CERTIFICATE-----"));
      return null;
    }
    try {
      var certs = CertificateFactory.getInstance("X.509")
          .generateCertificates(new ByteArrayInputStream(blocks.toString().getBytes(StandardCharsets.US_ASCII)));
      List<X509Certificate> chain = certs.stream().filter(X509Certificate.class::isInstance)
          .map(X509Certificate.class::cast).toList();
      for (int i = 0; i + 1 < chain.size(); i++) { // as the JDK's key store requires of a key's chain
        if (!chain.get(i).getIssuerX500Principal().equals(chain.get(i + 1).getSubjectX500Principal())) {
          problems.add(new Problem(Part.CERT, "not a certificate chain: certificate " + (i + 2) + " ("
              + chain.get(i + 1).getSubjectX500Principal().getName() + ") is not the issuer of certificate " + (i + 1)
              + " (" + chain.get(i).getIssuerX500Principal().getName() + "); the server's certificate comes first, "
              + "then each one's issuer"));
          return null;
        }
      }
      if (!chain.isEmpty()) {
        return chain.get(0);
      }
      problems.add(new Problem(Part.CERT, "not a PEM certificate: no X.509 certificate in the file"));
    } catch (GeneralSecurityException | RuntimeException e) {
      problems.add(new Problem(Part.CERT, "not a PEM certificate: " + message(e)));
    }
    return null;
  }

  /** A problem unless the file has a key block Vert.x reads (an encrypted key has its own message). */
  private static void keyBlock(byte[] bytes, List<Problem> problems) {
    Set<String> labels = labels(bytes);
    if (labels.stream().anyMatch(KEY_LABELS::contains)) {
      return;
    }
    if (labels.contains("ENCRYPTED PRIVATE KEY") || new String(bytes, StandardCharsets.US_ASCII).contains("Proc-Type: 4,ENCRYPTED")) {
      problems.add(new Problem(Part.KEY, "an encrypted private key cannot be used (Cutover asks for no passphrase): "
          + "write it unencrypted, e.g. openssl pkey -in KEY -out KEY.plain, readable only by Cutover's user"));
    } else {
      problems.add(new Problem(Part.KEY, "not a PEM private key: no -----BEGIN PRIVATE KEY----- (or RSA PRIVATE KEY, "
          + "EC PRIVATE KEY) block" + found(labels)));
    }
  }

  /** Whether a signature made with {@code key} verifies with the certificate's public key. */
  private static boolean matches(PrivateKey key, X509Certificate cert) {
    String algorithm = switch (key.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      default -> null;
    };
    if (algorithm == null) {
      return true; // Vert.x reads RSA and EC keys only: never here
    }
    if (!key.getAlgorithm().equals(cert.getPublicKey().getAlgorithm())) {
      return false;
    }
    try {
      byte[] nonce = new byte[32];
      RANDOM.nextBytes(nonce);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(nonce);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(cert.getPublicKey());
      verifier.update(nonce);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /** The labels of the PEM blocks in the file ({@code CERTIFICATE}, {@code PRIVATE KEY}, ...), in order. */
  private static Set<String> labels(byte[] bytes) {
    Set<String> labels = new LinkedHashSet<>();
    Matcher m = BEGIN.matcher(new String(bytes, StandardCharsets.US_ASCII));
    while (m.find()) {
      labels.add(m.group(1));
    }
    return labels;
  }

  private static String found(Set<String> labels) {
    return labels.isEmpty() ? ", and the file holds no PEM block at all" : ", the file holds " + String.join(", ", labels);
  }

  private static String message(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        return t.getMessage().strip().replaceAll("\\s*\\n\\s*", " ");
      }
    }
    return e.getClass().getSimpleName();
  }
}
