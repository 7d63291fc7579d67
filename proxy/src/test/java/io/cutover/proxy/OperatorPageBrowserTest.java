package io.cutover.proxy;

import io.cutover.monitor.PgCluster;
import io.cutover.monitor.Poll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.Select;

import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The operator's page in a real headless Chromium (Debian's {@code chromium} and {@code chromium-driver}, see
 * {@link Browser}) against a real Cutover over the real cluster: what it shows, live, through a failover, and the
 * actions an operator takes from it. Screenshots go to {@code proxy/target/screenshots/} for people to look at.
 * Every test ends with no console error (but the browser's own line for an answer the test asked for, such as the
 * deliberate 401) and no request that left 127.0.0.1.
 */
class OperatorPageBrowserTest {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final Path SHOTS = PgCluster.projectRoot().resolve("proxy/target/screenshots");

  private static Browser browser;
  private final List<Harness> started = new ArrayList<>();
  /** Console lines the test itself caused on purpose (e.g. the 401 of a wrong token), allowed at the end. */
  private final List<String> expectedConsole = new ArrayList<>();

  @BeforeAll
  static void startBrowser() throws Exception {
    browser = Browser.start();
  }

  @AfterAll
  static void closeBrowser() {
    browser.close();
  }

  @AfterEach
  void leave() throws Exception {
    try {
      // leave the page before Cutover stops, so that its event stream does not retry into a closed port
      browser.open("about:blank");
      List<String> errors = new ArrayList<>(browser.consoleErrors());
      errors.removeIf(e -> expectedConsole.stream().anyMatch(e::contains));
      assertEquals(List.of(), errors, "console errors");
      assertEquals(List.of(), browser.nonLocalRequests(), "requests that left 127.0.0.1");
      assertFalse(browser.requestedUrls().isEmpty(), "the requests are seen at all");
    } finally {
      for (int i = started.size() - 1; i >= 0; i--) {
        started.get(i).close();
      }
    }
  }

  private WebDriver d() {
    return browser.driver();
  }

  private String text(String id) {
    return d().findElement(By.id(id)).getText();
  }

  private String attr(String id, String name) {
    return d().findElement(By.id(id)).getDomAttribute(name);
  }

  /** Runs {@code script} in the page: one atomic read, as the cards are redrawn on every event. */
  private Object js(String script, Object... args) {
    return ((JavascriptExecutor) d()).executeScript(script, args);
  }

  /** An attribute of {@code target}'s card, or null without the card. */
  private String card(String target, String attribute) {
    return (String) js("const c = document.querySelector(`.target[data-target='${arguments[0]}']`);"
        + " return c && c.getAttribute(arguments[1]);", target, attribute);
  }

  /** The text of a field on {@code target}'s card, or null. */
  private String field(String target, String field) {
    return (String) js("const f = document.querySelector(`.target[data-target='${arguments[0]}'] dd[data-field='${arguments[1]}']`);"
        + " return f && f.textContent;", target, field);
  }

  private void awaitText(String id, String expected) {
    browser.waitFor("#" + id + " to read '" + expected + "'", WAIT, dr -> text(id).contains(expected));
  }

  private void open(Harness h) {
    browser.open("http://127.0.0.1:" + h.cutover.httpPort() + "/");
    browser.waitFor("the event stream live", WAIT, dr -> "live".equals(attr("stream", "data-state")));
  }

  /** Sets the token field as an operator types it. */
  private void token(String token) {
    WebElement field = d().findElement(By.id("token"));
    field.clear();
    field.sendKeys(token);
  }

  /** Presses {@code button}, confirms in the page's dialog and waits for the API's answer. */
  private String act(String button) {
    String before = attr("action-result", "data-seq");
    d().findElement(By.id(button)).click();
    browser.waitFor("the confirmation dialog", WAIT, dr -> dr.findElement(By.id("confirm-ok")).isDisplayed());
    assertFalse(text("confirm-text").isBlank(), "the dialog says what will happen");
    d().findElement(By.id("confirm-ok")).click();
    browser.waitFor("the answer to " + button, WAIT, dr -> {
      String seq = attr("action-result", "data-seq");
      return seq != null && !seq.equals(before);
    });
    return text("action-status");
  }

  /**
   * The text of every cell of the rows {@code selector} finds, read in one script: the page redraws on every event,
   * so elements found one by one can be replaced in between.
   */
  @SuppressWarnings("unchecked")
  private List<List<String>> cells(String selector) {
    return (List<List<String>>) js("return [...document.querySelectorAll(arguments[0])]"
        + ".map(tr => [...tr.cells].map(td => td.textContent))", selector);
  }

  /** A screenshot of the whole page (the window made as tall as the page for it), from the top. */
  private void shot(String name) throws Exception {
    WebDriver.Window window = d().manage().window();
    org.openqa.selenium.Dimension before = window.getSize();
    long chrome = (Long) js("return window.outerHeight - window.innerHeight");
    long height = (Long) js("window.scrollTo(0, 0); return document.documentElement.scrollHeight");
    window.setSize(new org.openqa.selenium.Dimension(before.getWidth(), (int) (height + chrome)));
    try {
      browser.waitFor("the window resized", WAIT, dr -> (Long) js("return window.innerHeight") >= height);
      browser.screenshot(SHOTS.resolve(name + ".png"));
    } finally {
      window.setSize(before);
    }
  }

  @Test
  void anOperatorWatchesAFailoverLiveAndActsFromThePage() throws Exception {
    Harness h = Harness.startOnCluster(Harness.ADMIN + "failover: {rto: 4s, failback_delay: 1s}\n");
    started.add(h);
    open(h);

    // the three targets and the routes
    browser.waitFor("three targets UP", WAIT, dr -> dr.findElements(By.cssSelector(".target[data-state='up']")).size() == 3);
    awaitText("route-write-to", "pg1");
    browser.waitFor("reads routed to pg2 and pg3", WAIT, dr -> text("route-read-to").contains("pg2")
        && text("route-read-to").contains("pg3"));
    assertEquals("primary", card("pg1", "data-role"));
    assertEquals("replica", card("pg2", "data-role"));
    assertTrue(field("pg2", "replay lag").endsWith(" B"), field("pg2", "replay lag"));
    assertEquals(4L, js("return document.querySelectorAll(`.target[data-target='pg1'] .health span.on`).length"),
        "health 4 of rise+fall-1 = 4");
    assertFalse(text("instance").isBlank());

    // a session through the write endpoint shows on pg1's card, live
    try (Connection c = h.write()) {
      browser.waitFor("one session on pg1", WAIT, dr -> "1".equals(field("pg1", "sessions")));
      shot("normal");
    }
    browser.waitFor("no session on pg1", WAIT, dr -> "0".equals(field("pg1", "sessions")));
    js("window.notReloaded = 'yes'");

    // maintenance on, through the page
    token(Harness.TOKEN);
    d().findElement(By.id("maintenance-reason")).sendKeys("game day");
    assertTrue(act("maintenance-on").startsWith("maintenance on: HTTP 200"), text("action-status"));
    browser.waitFor("the maintenance badge", WAIT, dr -> dr.findElement(By.id("maintenance")).isDisplayed());
    assertTrue(text("maintenance").contains("game day"));

    // the primary is killed: the incident opens and stays open (maintenance pauses failover), the RTO bar runs
    PgCluster.run("kill", "pg1");
    browser.waitFor("the open incident", WAIT, dr -> "true".equals(attr("incident", "data-open")));
    browser.waitFor("the step down_declared", WAIT, dr -> !dr.findElements(By.cssSelector("#incident-steps li[data-step='down_declared']")).isEmpty());
    assertFalse(d().findElements(By.cssSelector("#incident-steps li[data-step='last_healthy']")).isEmpty());
    assertTrue(text("incident-what").startsWith("pg1 → "), text("incident-what"));
    browser.waitFor("the RTO bar amber (75 % of 4 s)", WAIT, dr -> "amber".equals(attr("rto-fill", "data-level")));
    shot("incident-open");
    browser.waitFor("the RTO bar red (breached)", WAIT, dr -> "red".equals(attr("rto-fill", "data-level")));
    assertTrue(text("rto-text").contains("breached"), text("rto-text"));
    assertTrue(text("incident-rpo").startsWith("RPO exposure: "), text("incident-rpo"));
    browser.waitFor("pg1 DOWN on its card", WAIT, dr -> "down".equals(card("pg1", "data-state")));

    // maintenance off: Cutover fails over at once; the page shows the incident completed with its verdict
    assertTrue(act("maintenance-off").startsWith("maintenance off: HTTP 200"), text("action-status"));
    browser.waitFor("the incident closed", WAIT, dr -> "false".equals(attr("incident", "data-open")));
    browser.waitFor("the incident's row with its verdict", WAIT, dr -> !dr.findElements(
        By.cssSelector("#incidents tbody tr[data-incident] td[data-field='verdict'].breached")).isEmpty());
    String promoted = browser.waitFor("writes routed to a new primary", WAIT, dr -> {
      String to = text("route-write-to");
      return to.equals("pg2") || to.equals("pg3") ? to : null;
    });
    assertTrue(text("no-incident").contains("RTO breached"), text("no-incident"));
    assertFalse(d().findElements(By.cssSelector("#incident-chart rect.bar-breached")).isEmpty(), "the chart's bar");
    assertFalse(d().findElement(By.id("decisions")).findElements(By.tagName("li")).isEmpty(), "decisions with reasons");
    assertEquals("yes", js("return window.notReloaded"), "all of it without a reload");
    shot("incident-closed");

    // a wrong token: the page shows the API's 401
    String other = promoted.equals("pg2") ? "pg3" : "pg2";
    h.await(other + " readable again", t -> t.readable().contains(other));
    token("wrong-token-0123456789");
    new Select(d().findElement(By.id("switchover-candidate"))).selectByValue(other);
    expectedConsole.add("api/v1/switchover - Failed to load resource: the server responded with a status of 401");
    String refused = act("switchover-submit");
    assertTrue(refused.contains("HTTP 401 unauthorized: wrong token"), refused);
    assertEquals("false", attr("action-result", "data-ok"));

    // the right token: a switchover through the page's form
    token(Harness.TOKEN);
    new Select(d().findElement(By.id("switchover-candidate"))).selectByValue(other);
    String accepted = act("switchover-submit");
    assertTrue(accepted.startsWith("switchover " + other + ": HTTP 200"), accepted);
    awaitText("route-write-to", other);
    h.await(other + " primary", t -> other.equals(t.primary()));
    browser.waitFor("the audit of both calls", WAIT, dr -> {
      String audit = text("audit");
      return audit.contains("switchover {\"candidate\":\"" + other + "\"} → 200") && audit.contains("→ 401 refused: wrong token");
    });
    assertEquals(Harness.TOKEN, js(
        "return sessionStorage.getItem('cutover.admin_token')"), "the token is kept in the tab");
    assertTrue(browser.requestedUrls().stream().noneMatch(u -> u.contains(Harness.TOKEN)), "never in a URL");
  }

  @Test
  void withoutATokenThePageWorksAndSaysHowToEnableActions() throws Exception {
    Harness h = Harness.startWithoutBackend("");
    started.add(h);
    open(h);
    browser.waitFor("the target gone DOWN", WAIT, dr -> "down".equals(card("gone", "data-state")));
    awaitText("route-write-to", "none");
    browser.waitFor("the note on actions", WAIT, dr -> dr.findElement(By.id("actions-disabled")).isDisplayed());
    assertTrue(text("actions-disabled").contains("admin.token"), text("actions-disabled"));
    assertTrue(text("actions-disabled").contains("CUTOVER_ADMIN_TOKEN"), text("actions-disabled"));
    assertFalse(d().findElement(By.id("actions-enabled")).isDisplayed(), "no forms that can only fail");
    assertTrue(text("no-incident").startsWith("No open incident"));
    shot("no-token");
  }

  @Test
  void clusteredThePageShowsEveryMemberTheLeaderAndTheirViews() throws Exception {
    PgCluster.ensureCanonical();
    String hazelcast = PgCluster.projectRoot().resolve("cluster-config/hazelcast.yaml").toString();
    String name = "cutover-page-" + UUID.randomUUID();
    for (int i = 0; i < 3; i++) {
      started.add(Harness.start(Harness.clusterTargets() + Harness.FAST_CHECKS + Harness.ADMIN
          + "cluster: {enabled: true, size: 3, name: " + name + ", hazelcast: '" + hazelcast + "'}\n"));
    }
    for (Harness h : started) {
      Poll.until(Duration.ofSeconds(60), "three members", () -> h.cutover.authority().toJson().getJsonArray("members").size() == 3);
      h.await("pg1 primary", t -> "pg1".equals(t.primary()));
    }
    open(started.get(1));
    browser.waitFor("the cluster section", WAIT, dr -> dr.findElement(By.id("cluster")).isDisplayed());
    List<List<String>> rows = browser.waitFor("three members, each routing to pg1", WAIT, dr -> {
      List<List<String>> now = cells("#members tbody tr");
      return now.size() == 3 && now.stream().allMatch(r -> r.get(4).equals("pg1")) ? now : null;
    });
    assertEquals(1, rows.stream().filter(r -> r.get(1).equals("leader")).count(), "exactly one leader: " + rows);
    for (List<String> r : rows) {
      assertTrue(r.get(3).matches("\\d+"), "a topology version: " + r);
    }
    assertTrue(text("cluster-summary").startsWith("3 members, quorum 2; this instance is a follower"), text("cluster-summary"));
    shot("cluster");
  }
}
