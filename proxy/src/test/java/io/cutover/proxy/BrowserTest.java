package io.cutover.proxy;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Browser} itself, against a page served here on 127.0.0.1: an element the page's script renders from a
 * fetch, its console errors and uncaught exception, its requests (its own, local, and two to TEST-NET-3 address
 * 203.0.113.1, which the browser's refusing proxy keeps on this machine), a screenshot, and no process left after
 * {@link Browser#close()}. Fails, not skips, without Chromium.
 */
class BrowserTest {

  private static final String OUTSIDE_IMAGE = "http://203.0.113.1/x.png";
  private static final String OUTSIDE_FETCH = "http://203.0.113.1/x";

  private static final String INDEX = """
      <!doctype html>
      <html lang="en">
      <head><meta charset="utf-8"><title>Browser test</title><link rel="icon" href="data:,"></head>
      <body>
      <h1>Cutover</h1>
      <img alt="" src="%s">
      <script src="/app.js"></script>
      </body>
      </html>
      """.formatted(OUTSIDE_IMAGE);

  private static final String APP = """
      console.log('app.js: started');
      fetch('/status.json').then(r => r.json()).then(s => {
        const p = document.createElement('p');
        p.id = 'status';
        p.textContent = 'primary: ' + s.primary;
        document.body.appendChild(p);
      });
      fetch('%s').catch(() => {});
      console.error('app.js: deliberate console.error');
      setTimeout(() => { throw new Error('app.js: deliberate uncaught exception'); }, 0);
      """.formatted(OUTSIDE_FETCH);

  private static Vertx vertx;
  private static String base;
  private static Browser browser;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    HttpServer server = vertx.createHttpServer().requestHandler(BrowserTest::serve);
    server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    base = "http://127.0.0.1:" + server.actualPort();
    browser = Browser.start();
    browser.open(base + "/");
  }

  private static void serve(HttpServerRequest req) {
    switch (req.path()) {
      case "/" -> req.response().putHeader("content-type", "text/html; charset=utf-8").end(INDEX);
      case "/app.js" -> req.response().putHeader("content-type", "text/javascript; charset=utf-8").end(APP);
      case "/status.json" -> req.response().putHeader("content-type", "application/json").end("{\"primary\":\"pg1\"}");
      default -> req.response().setStatusCode(404).end();
    }
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (browser != null) {
        browser.close();
      }
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void findsTheElementThePageScriptRenders() {
    WebElement status = browser.waitFor("the status line the script renders", Browser.DEADLINE,
        ExpectedConditions.visibilityOfElementLocated(By.id("status")));
    assertEquals("primary: pg1", status.getText());
  }

  @Test
  void reportsConsoleErrorsAndUncaughtExceptionsButNotLogs() {
    List<String> errors = browser.waitFor("the page's console.error and uncaught exception", Browser.DEADLINE,
        () -> {
          List<String> now = browser.consoleErrors();
          return has(now, "\"app.js: deliberate console.error\"")
              && has(now, "Uncaught Error: app.js: deliberate uncaught exception") ? now : null;
        });
    assertTrue(has(browser.console(), "\"app.js: started\""), "console.log is recorded: " + browser.console());
    assertFalse(has(errors, "app.js: started"), "console.log is no error: " + errors);
  }

  @Test
  void reportsRequestsToOtherHostsAndOnlyThose() {
    List<String> outside = browser.waitFor("the page's image and fetch from 203.0.113.1", Browser.DEADLINE,
        () -> {
          List<String> now = browser.nonLocalRequests();
          return now.containsAll(List.of(OUTSIDE_IMAGE, OUTSIDE_FETCH)) ? now : null;
        });
    assertEquals(Set.of(OUTSIDE_IMAGE, OUTSIDE_FETCH), Set.copyOf(outside), "non-local: " + outside);
    List<String> all = browser.waitFor("the page's fetch of /status.json", Browser.DEADLINE,
        () -> browser.requestedUrls().contains(base + "/status.json") ? browser.requestedUrls() : null);
    assertTrue(all.containsAll(List.of(base + "/", base + "/app.js")), "requests: " + all);
    assertTrue(all.containsAll(outside), "requests: " + all);
  }

  @Test
  void classifiesUrlsByHost() {
    assertFalse(Browser.nonLocal("http://127.0.0.1:8080/api/v1/status"));
    assertFalse(Browser.nonLocal("ws://localhost:8080/events"));
    assertFalse(Browser.nonLocal("http://[::1]:8080/"));
    assertFalse(Browser.nonLocal("data:image/png;base64,iVBORw0KGgo="));
    assertFalse(Browser.nonLocal("blob:http://127.0.0.1:8080/0d7c"));
    assertTrue(Browser.nonLocal("https://fonts.googleapis.com/css"));
    assertTrue(Browser.nonLocal("http://127.0.0.1.example.com/"));
    assertTrue(Browser.nonLocal("http://user@203.0.113.1/"));
    assertTrue(Browser.nonLocal("wss://203.0.113.1:443/"));
  }

  @Test
  void screenshotIsAPngOfTheWindow() throws Exception {
    browser.waitFor("the status line", Browser.DEADLINE, ExpectedConditions.presenceOfElementLocated(By.id("status")));
    Path file = Path.of("target", "browser-test", "page.png");
    Files.deleteIfExists(file);
    browser.screenshot(file);
    byte[] png = Files.readAllBytes(file);
    assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, Arrays.copyOf(png, 8));
    BufferedImage image = ImageIO.read(file.toFile());
    assertNotNull(image, "decodable");
    Object viewport = ((JavascriptExecutor) browser.driver()).executeScript(
        "return Math.round(innerWidth * devicePixelRatio) + 'x' + Math.round(innerHeight * devicePixelRatio)");
    assertEquals(viewport, image.getWidth() + "x" + image.getHeight(), "the viewport");
    assertEquals(Browser.WIDTH, image.getWidth(), "the window's width");
  }

  @Test
  void closeLeavesNoProcessAndNoProfile() throws Exception {
    Map<ProcessHandle, String> started = new LinkedHashMap<>();
    Path profile;
    try (Browser second = Browser.start()) {
      profile = second.profile();
      second.open(base + "/");
      second.waitFor("the status line", Browser.DEADLINE, ExpectedConditions.presenceOfElementLocated(By.id("status")));
      second.processes().forEach(p -> started.put(p, p.info().command().orElse("?")));
      assertTrue(Files.isDirectory(second.userDataDir().resolve("Default")), "profile in use: " + second.userDataDir());
    }
    assertTrue(started.values().stream().anyMatch(c -> c.endsWith("/chromedriver")), "chromedriver: " + started);
    assertTrue(started.values().stream().filter(c -> c.endsWith("/chromium")).count() >= 3,
        "the browser, its zygotes and a renderer: " + started);
    assertTrue(started.values().stream().anyMatch(c -> c.endsWith("/chrome_crashpad_handler")),
        "its crash handler, which is no descendant: " + started);
    List<String> left = started.keySet().stream().filter(Browser::running)
        .map(p -> p.pid() + " " + started.get(p)).toList();
    assertEquals(List.of(), left, "still running after close");
    assertFalse(Files.exists(profile), "profile deleted: " + profile);
  }

  private static boolean has(List<String> entries, String text) {
    return entries.stream().anyMatch(e -> e.contains(text));
  }
}
