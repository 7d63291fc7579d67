package io.cutover.proxy;

import io.cutover.proxy.config.ConfigLoader;
import io.cutover.proxy.config.CutoverConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * Command line: {@code java -jar cutover.jar --config FILE}.
 *
 * <p>Exit codes: {@code 0} normal stop, {@code 1} start-up failed at run time (e.g. a listener cannot bind),
 * {@code 2} bad command line or invalid configuration (one line per problem on standard error, naming the file
 * or the environment variable the bad value came from).
 */
@Command(name = "cutover", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    description = "Failover proxy and health monitor for PostgreSQL: a write endpoint (the primary) and "
        + "a read endpoint (healthy replicas).")
public final class Main implements Callable<Integer> {

  /** Exit code for an invalid configuration or command line. */
  public static final int EXIT_CONFIG = 2;

  private static final Logger LOG = LoggerFactory.getLogger(Main.class);

  @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE",
      description = "YAML configuration file (see cluster-config/cutover.yaml)")
  Path config;

  @Option(names = "--check", description = "Validate the configuration, print it as JSON and exit")
  boolean checkOnly;

  @Option(names = "--cluster", description = "Run clustered over Hazelcast (same as cluster.enabled: true)")
  boolean cluster;

  @Option(names = "--takeover", paramLabel = "PID", description = "Take over the ports of the running Cutover with this "
      + "PID (a zero-downtime restart, see scripts/restart): listen beside it once every target is checked, and let it "
      + "decide failovers until it exits; send it SIGUSR1 once this one is ready")
  Long takeover;

  @Option(names = "--pid-file", paramLabel = "FILE", description = "Write this process's PID to FILE once it serves "
      + "(replacing the file atomically), and remove the file at exit if it still names this process")
  Path pidFile;

  private final Map<String, String> env;
  private final PrintWriter out;
  private final PrintWriter err;

  Main(Map<String, String> env, PrintWriter out, PrintWriter err) {
    this.env = env;
    this.out = out;
    this.err = err;
  }

  public static void main(String[] args) {
    int code = run(args, System.getenv(), new PrintWriter(System.out, true), new PrintWriter(System.err, true));
    if (code != 0) {
      System.exit(code);
    }
  }

  /**
   * Runs the command line. Returns the exit code when start-up fails or with {@code --check}; once
   * Cutover runs, the call returns {@code 0} and the JVM keeps running until stopped (SIGTERM stops it
   * gracefully).
   */
  public static int run(String[] args, Map<String, String> env, PrintWriter out, PrintWriter err) {
    CommandLine cl = new CommandLine(new Main(env, out, err));
    cl.setOut(out);
    cl.setErr(err);
    cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      err.println("cutover: " + ex.getMessage());
      return 1;
    });
    return cl.execute(args);
  }

  @Override
  public Integer call() {
    ConfigLoader.Result result = ConfigLoader.load(config, env);
    if (!result.ok()) {
      result.messages().forEach(m -> err.println("cutover: " + m));
      err.flush();
      return EXIT_CONFIG;
    }
    CutoverConfig cfg = cluster ? result.config().withCluster(true) : result.config();
    if (takeover != null) {
      List<String> problems = Takeover.problems(takeover, cfg);
      if (!problems.isEmpty()) {
        problems.forEach(m -> err.println("cutover: " + m));
        err.flush();
        return EXIT_CONFIG;
      }
    }
    if (checkOnly) {
      out.println(cfg.toJson().encodePrettily());
      out.flush();
      return 0;
    }
    LOG.info("configuration {}: {}", config, cfg.toJson().encode());
    CountDownLatch started = new CountDownLatch(1);
    int[] code = {0};
    Cutover.start(cfg, takeover == null ? null : Takeover.of(takeover).orElse(null)).onComplete(ar -> {
      try {
        if (ar.failed()) {
          // one line, and only this one (the log goes to standard error too); Vert.x is closed by now
          err.println("cutover: " + oneLine(ar.cause()));
          err.flush();
          code[0] = 1;
        } else {
          Cutover c = ar.result();
          StopSignals.install(c);
          c.reloader().source(config, env, cluster);
          Hangup.reloadOn(c.reloader());
          Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (!c.shutdown().done().isComplete()) {
              LOG.info("stopping");
              c.closeWithin(Cutover.CLOSE_DEADLINE).join();
            }
            PidFile.remove(pidFile);
          }, "cutover-shutdown"));
          PidFile.write(pidFile);
        }
      } finally {
        started.countDown(); // main never waits forever, whatever the wiring above threw
      }
    });
    try {
      started.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
    return code[0];
  }

  private static String oneLine(Throwable t) {
    String m = t.getMessage();
    return m == null ? t.getClass().getSimpleName() : m.strip().replaceAll("\\s*\\n\\s*", " ");
  }

  /**
   * The project version: from {@code version.properties} (filled in by the Maven build, so it holds on the
   * build's class path and in the jar), else the jar manifest's {@code Implementation-Version}, else
   * {@code unknown}.
   */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"cutover " + version()};
    }

    static String version() {
      try (java.io.InputStream in = Main.class.getResourceAsStream("version.properties")) {
        if (in != null) {
          java.util.Properties p = new java.util.Properties();
          p.load(in);
          String v = p.getProperty("version", "").strip();
          if (!v.isEmpty() && !v.startsWith("${")) {
            return v;
          }
        }
      } catch (java.io.IOException e) {
        // fall through to the manifest
      }
      String v = Main.class.getPackage().getImplementationVersion();
      return v == null ? "unknown" : v;
    }
  }
}
