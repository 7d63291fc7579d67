package io.cutover.proxy;

import io.vertx.core.json.JsonObject;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TimeoutException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.FluentWait;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A real headless Chromium driven by Selenium, for tests of the operator's web page: Debian's {@code chromium} and
 * {@code chromium-driver}, given by path (so Selenium Manager never runs and nothing is downloaded), a profile, HOME,
 * cache and TMPDIR of its own in one temporary directory, and the page's console and network requests recorded.
 * Chromium is started as {@code /usr/lib/chromium/chromium}, not through the {@code /usr/bin/chromium} launcher, which
 * sources {@code /etc/chromium.d}: Debian's Google API keys (with them Chromium asks
 * {@code optimizationguide-pa.googleapis.com} for models), {@code --enable-remote-extensions}, {@code --load-extension}.
 *
 * <p>The console and the requests come from ChromeDriver's logs ({@code goog:loggingPrefs} {@code browser} and
 * {@code performance}, read through the {@code /se/log} endpoint ChromeDriver still serves in W3C mode); no CDP
 * module (selenium-devtools-vNNN) is needed. A read drains ChromeDriver's buffer, so this class keeps what it read.
 * Chromium's own requests are not in the page's log: {@link #QUIET} stops most, and the refusing proxy (see
 * {@link #start()}) keeps the rest, and the page's requests to hosts other than the loopback, on this machine.
 */
final class Browser implements AutoCloseable {

  static final Path CHROMIUM = Path.of(System.getProperty("cutover.browser.chromium", "/usr/lib/chromium/chromium"));
  static final Path CHROMEDRIVER = Path.of(System.getProperty("cutover.browser.chromedriver", "/usr/bin/chromedriver"));
  /** A generous deadline for anything a page does; {@link #waitFor} returns as soon as it is done. */
  static final Duration DEADLINE = Duration.ofSeconds(30);
  static final int WIDTH = 1440;
  static final int HEIGHT = 1000;

  /**
   * Chromium's own background traffic, off (some ChromeDriver adds anyway; repeated so the list stands alone).
   * Measured with {@code --log-net-log} on Chromium 156: {@code NetworkTimeServiceQuerying} stops
   * {@code clients2.google.com/time}; none of these stops {@code accounts.google.com/ListAccounts} (identity manager)
   * nor the on-demand "Optimization Guide On DeviceModels Manifest" component at {@code update.googleapis.com}
   * ({@code --disable-component-update} does not cover it): the refusing proxy does. Not here:
   * {@code --disable-crashpad-for-testing}, with which Chromium 156 never finishes loading a page.
   */
  static final List<String> QUIET = List.of(
      "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
      "--disable-extensions", "--disable-component-extensions-with-background-pages",
      "--disable-client-side-phishing-detection", "--safebrowsing-disable-auto-update", "--disable-domain-reliability",
      "--metrics-recording-only", "--no-pings", "--no-first-run", "--no-default-browser-check", "--disable-breakpad",
      "--disable-features=Translate,OptimizationHints,MediaRouter,NetworkTimeServiceQuerying");

  /** ChromeDriver looks for a selenium-devtools-vNNN module at every start and warns that there is none; none is used. */
  private static final Logger CDP_VERSION_FINDER = Logger.getLogger("org.openqa.selenium.devtools.CdpVersionFinder");

  static {
    CDP_VERSION_FINDER.setLevel(Level.SEVERE);
  }

  private static final Set<String> LOCAL_HOSTS = Set.of("127.0.0.1", "localhost", "[::1]");
  private static final Set<String> NOT_REQUESTS = Set.of("data", "blob", "about");
  private static final Pattern HOST = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(\\[[^\\]]*]|[^:/?#]*)");

  private final Path profile;
  private final SocketChannel refusingPort;
  private final ChromeDriverService service;
  private final ProcessHandle chromedriver;
  private final ChromeDriver driver;
  private final Set<ProcessHandle> started = new LinkedHashSet<>();
  private final List<LogEntry> console = new ArrayList<>();
  private final List<String> requests = new ArrayList<>();
  private boolean closed;

  private Browser(Path profile, SocketChannel refusingPort, ChromeDriverService service, ProcessHandle chromedriver,
      ChromeDriver driver) {
    this.profile = profile;
    this.refusingPort = refusingPort;
    this.service = service;
    this.chromedriver = chromedriver;
    this.driver = driver;
    started.add(chromedriver);
    processes();
  }

  /** Whether Chromium and ChromeDriver are installed ({@code .ci/run} installs both). */
  static boolean available() {
    return Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
  }

  /**
   * Starts ChromeDriver (a free port) and through it Chromium, headless; fails (tests are not skipped) when either is
   * missing. {@code --proxy-server} names a loopback port bound and never listened on, held for the browser's life:
   * every request to a host other than the loopback (which Chromium never sends to a proxy) is refused there at
   * once, before any DNS query, instead of leaving the machine or waiting on an unreachable address. The page still
   * makes the request, so the performance log still shows it.
   */
  static Browser start() throws IOException {
    if (!available()) {
      throw new IllegalStateException("no browser to test with: " + CHROMIUM + " and " + CHROMEDRIVER
          + " must be executable (Debian's chromium and chromium-driver; .ci/run installs them)");
    }
    Path profile = Files.createTempDirectory("cutover-browser-");
    SocketChannel refusingPort = null;
    ChromeDriverService service = null;
    ProcessHandle chromedriver = null;
    try {
      refusingPort = SocketChannel.open();
      refusingPort.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      Path home = Files.createDirectories(profile.resolve("home"));
      Path tmp = Files.createDirectories(profile.resolve("tmp"));
      // TMPDIR: where ChromeDriver creates the user-data-dir. Not a --user-data-dir of ours: ChromeDriver writes
      // its preferences only into a profile it creates, and without them Chromium 156 first opens its third-party
      // New Tab Page (80 chrome:// requests in the log). HOME and XDG: what Chromium writes outside the profile
      // (the crash database, ~/.cache, dconf) lands here too.
      service = new ChromeDriverService.Builder()
          .usingDriverExecutable(CHROMEDRIVER.toFile())
          .usingAnyFreePort()
          .withEnvironment(Map.of("HOME", home.toString(), "XDG_CONFIG_HOME", home.resolve(".config").toString(),
              "XDG_CACHE_HOME", home.resolve(".cache").toString(), "TMPDIR", tmp.toString()))
          .build();
      service.start();
      chromedriver = childListeningOn(service.getUrl().getPort());
      ChromeOptions options = new ChromeOptions();
      options.setBinary(CHROMIUM.toFile());
      options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
          "--window-size=" + WIDTH + "," + HEIGHT,
          "--proxy-server=http://127.0.0.1:" + ((InetSocketAddress) refusingPort.getLocalAddress()).getPort());
      options.addArguments(QUIET);
      LoggingPreferences logs = new LoggingPreferences();
      logs.enable(LogType.BROWSER, Level.ALL);
      logs.enable(LogType.PERFORMANCE, Level.ALL);
      options.setCapability("goog:loggingPrefs", logs);
      options.setExperimentalOption("perfLoggingPrefs", Map.of("enableNetwork", true, "enablePage", false));
      options.setPageLoadTimeout(DEADLINE);
      ChromeDriver driver = new ChromeDriver(service, options);
      if (!userDataDir(driver).startsWith(tmp)) {
        driver.quit();
        throw new IllegalStateException("ChromeDriver made its profile outside " + tmp + ": " + userDataDir(driver));
      }
      return new Browser(profile, refusingPort, service, chromedriver, driver);
    } catch (IOException | RuntimeException e) {
      List<ProcessHandle> tree = chromedriver == null ? List.of()
          : Stream.concat(Stream.of(chromedriver), chromedriver.descendants()).toList();
      if (service != null) {
        service.stop();
      }
      tree.forEach(ProcessHandle::destroyForcibly);
      try {
        if (refusingPort != null) {
          refusingPort.close();
        }
        delete(profile);
      } catch (IOException | RuntimeException cleanup) {
        e.addSuppressed(cleanup);
      }
      throw e;
    }
  }

  /** The chromedriver process Selenium started: a child of this JVM, told {@code --port=PORT}. */
  private static ProcessHandle childListeningOn(int port) {
    return ProcessHandle.current().children()
        .filter(p -> p.info().command().orElse("").endsWith("chromedriver"))
        .filter(p -> List.of(p.info().arguments().orElse(new String[0])).contains("--port=" + port))
        .findFirst()
        .orElseThrow(() -> new IllegalStateException("no chromedriver child of this JVM with --port=" + port));
  }

  void open(String url) {
    driver.get(url);
  }

  /** For finding elements and acting on them. */
  WebDriver driver() {
    return driver;
  }

  /**
   * Waits for {@code condition} (an {@code ExpectedConditions} one, or a lambda on the driver) to give something
   * other than null or false, polling every 100 ms, and returns it. Elements not yet there or replaced meanwhile do
   * not end the wait; at the deadline the failure names {@code what}, the page and its console.
   */
  <T> T waitFor(String what, Duration deadline, Function<? super WebDriver, T> condition) {
    WebDriverWait wait = new WebDriverWait(driver, deadline, Duration.ofMillis(100));
    wait.ignoring(StaleElementReferenceException.class);
    try {
      return wait.until(condition);
    } catch (TimeoutException e) {
      throw new AssertionError(timedOut(what, deadline), e);
    }
  }

  /** As {@link #waitFor(String, Duration, Function)}, for a condition that needs no driver (the logs, a server). */
  <T> T waitFor(String what, Duration deadline, Supplier<T> condition) {
    return waitFor(what, deadline, d -> condition.get());
  }

  private String timedOut(String what, Duration deadline) {
    String page;
    try {
      page = driver.getCurrentUrl() + "; console: " + console();
    } catch (RuntimeException e) {
      page = "no page (" + e + ")";
    }
    return "no " + what + " within " + deadline.toMillis() + " ms on " + page;
  }

  /** The console's SEVERE entries: {@code console.error}, uncaught exceptions and rejections, failed loads. */
  synchronized List<String> consoleErrors() {
    drain();
    return console.stream().filter(e -> e.getLevel().equals(Level.SEVERE)).map(LogEntry::getMessage).toList();
  }

  /** Every console entry so far, as {@code LEVEL message}. */
  synchronized List<String> console() {
    drain();
    return console.stream().map(e -> e.getLevel() + " " + e.getMessage()).toList();
  }

  /** The URL of every request the page made so far (documents, scripts, images, fetches, WebSockets), in order. */
  synchronized List<String> requestedUrls() {
    drain();
    return List.copyOf(requests);
  }

  /** The requests to a host other than 127.0.0.1, localhost or [::1] ({@code data:}, {@code blob:}, {@code about:} aside). */
  List<String> nonLocalRequests() {
    return requestedUrls().stream().filter(Browser::nonLocal).toList();
  }

  static boolean nonLocal(String url) {
    int colon = url.indexOf(':');
    if (colon > 0 && NOT_REQUESTS.contains(url.substring(0, colon).toLowerCase(Locale.ROOT))) {
      return false;
    }
    Matcher m = HOST.matcher(url);
    return !m.find() || !LOCAL_HOSTS.contains(m.group(1).toLowerCase(Locale.ROOT));
  }

  /**
   * A PNG of the viewport at {@code file}, its directories created. The viewport is narrower than the
   * {@link #WIDTH} x {@link #HEIGHT} window by the window's frame: 1440 x 857 with Chromium 156.
   */
  Path screenshot(Path file) throws IOException {
    byte[] png = driver.getScreenshotAs(OutputType.BYTES);
    Files.createDirectories(file.toAbsolutePath().getParent());
    return Files.write(file, png);
  }

  /** The temporary directory of the profile, HOME, cache and TMPDIR; gone after {@link #close()}. */
  Path profile() {
    return profile;
  }

  /** Chromium's {@code --user-data-dir}, which ChromeDriver made in {@link #profile()}. */
  Path userDataDir() {
    return userDataDir(driver);
  }

  private static Path userDataDir(ChromeDriver driver) {
    Object chrome = driver.getCapabilities().getCapability("chrome");
    return Path.of(String.valueOf(chrome instanceof Map<?, ?> m ? m.get("userDataDir") : null));
  }

  /**
   * Every process this browser has started that was seen so far (chromedriver, Chromium and its zygotes,
   * renderers, GPU and utility processes, its crash handlers): the tree under chromedriver now, added to what
   * earlier calls saw. Chromium's two {@code chrome_crashpad_handler}s detach (parent PID 1, outside that tree);
   * they are known by their {@code --database}, which lies in this browser's own HOME.
   */
  synchronized List<ProcessHandle> processes() {
    if (!closed) {
      chromedriver.descendants().forEach(started::add);
      String database = "--database=" + profile.resolve("home") + "/";
      ProcessHandle.allProcesses()
          .filter(p -> p.info().command().orElse("").endsWith("/chrome_crashpad_handler"))
          .filter(p -> Stream.of(p.info().arguments().orElse(new String[0])).anyMatch(a -> a.startsWith(database)))
          .forEach(started::add);
    }
    return List.copyOf(started);
  }

  /**
   * Whether {@code p} still runs: not a zombie, which {@link ProcessHandle#isAlive} counts as alive. Chromium's
   * zygotes outlive the browser process by a moment, pass to PID 1 and are zombies until it reaps them.
   */
  static boolean running(ProcessHandle p) {
    try {
      String stat = p.isAlive() ? Files.readString(Path.of("/proc", Long.toString(p.pid()), "stat")) : null;
      return stat != null && stat.charAt(stat.lastIndexOf(')') + 2) != 'Z'; // "pid (comm) STATE ..."
    } catch (IOException e) {
      return false;
    }
  }

  /** Reads ChromeDriver's two logs, which give each entry once, into {@link #console} and {@link #requests}. */
  private synchronized void drain() {
    if (closed) {
      return;
    }
    console.addAll(driver.manage().logs().get(LogType.BROWSER).getAll());
    for (LogEntry entry : driver.manage().logs().get(LogType.PERFORMANCE)) {
      JsonObject message = new JsonObject(entry.getMessage()).getJsonObject("message", new JsonObject());
      JsonObject params = message.getJsonObject("params", new JsonObject());
      String method = message.getString("method", "");
      if (method.equals("Network.requestWillBeSent")) {
        requests.add(params.getJsonObject("request").getString("url"));
      } else if (method.equals("Network.webSocketCreated")) {
        requests.add(params.getString("url"));
      }
    }
  }

  /**
   * Quits the browser and ChromeDriver, waits for every process it started (taken just before quitting, when the
   * tree is whole) to end, kills what is left after 10 s, deletes the temporary directory. The logs stay readable.
   */
  @Override
  public void close() {
    List<ProcessHandle> tree;
    synchronized (this) {
      if (closed) {
        return;
      }
      try {
        drain();
      } catch (RuntimeException e) { // a browser that died has nothing more to say
      }
      tree = processes();
      closed = true;
    }
    RuntimeException quit = null;
    try {
      driver.quit();
    } catch (RuntimeException e) {
      quit = e;
    }
    service.stop();
    if (!ended(tree, Duration.ofSeconds(10))) {
      tree.stream().filter(Browser::running).forEach(ProcessHandle::destroyForcibly);
      if (!ended(tree, Duration.ofSeconds(5))) {
        throw new IllegalStateException("still running after SIGKILL: " + tree.stream().filter(Browser::running)
            .map(p -> p.pid() + " " + p.info().command().orElse("?")).toList(), quit);
      }
    }
    try {
      refusingPort.close();
      delete(profile);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (quit != null) {
      throw quit;
    }
  }

  private static boolean ended(List<ProcessHandle> tree, Duration deadline) {
    try {
      new FluentWait<>(tree).withTimeout(deadline).pollingEvery(Duration.ofMillis(20))
          .until(t -> t.stream().noneMatch(Browser::running));
      return true;
    } catch (TimeoutException e) {
      return false;
    }
  }

  private static void delete(Path dir) throws IOException {
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
