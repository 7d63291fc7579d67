package io.cutover.proxy;

import io.cutover.proxy.http.OperatorPage;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The operator's page as files and HTTP, without a browser (the browser tests are {@code OperatorPageBrowserTest}):
 * everything the page loads is served from the jar with its content type and the security headers; the page can make
 * no request to another host (no absolute URL in any of its files) and has nothing the Content-Security-Policy would
 * block (no inline script, style or event handler); every module it imports exists.
 */
class OperatorPageTest {

  /** The page's files, as the jar holds them under {@code webroot/}. */
  private static final List<String> FILES = List.of("index.html", "app.js", "render.js", "actions.js", "chart.js",
      "format.js", "app.css", "icon.svg");

  private static Harness h;
  private static Http http;

  @BeforeAll
  static void start() throws Exception {
    h = Harness.start("targets: [{name: pg1, host: 127.0.0.1, port: 1}]\npresence: {enabled: false}\n");
    http = new Http(h.cutover.httpPort());
  }

  @AfterAll
  static void stop() throws Exception {
    http.close();
    h.close();
  }

  private static String resource(String name) throws IOException {
    try (InputStream in = OperatorPageTest.class.getResourceAsStream("/webroot/" + name)) {
      assertNotNull(in, "webroot/" + name + " is missing from the build");
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void thePageAndEveryAssetIsServedWithItsTypeAndTheSecurityHeaders() throws Exception {
    HttpResponse<Buffer> page = http.get("/");
    assertEquals(200, page.statusCode());
    assertTrue(page.getHeader("Content-Type").startsWith("text/html"), page.getHeader("Content-Type"));
    assertTrue(page.bodyAsString().contains("<title>Cutover</title>"));
    String[] types = {"text/html", "text/javascript", "text/javascript", "text/javascript", "text/javascript",
        "text/javascript", "text/css", "image/svg+xml"};
    for (int i = 0; i < FILES.size(); i++) {
      HttpResponse<Buffer> r = http.get("/ui/" + FILES.get(i));
      assertEquals(200, r.statusCode(), FILES.get(i));
      assertTrue(r.getHeader("Content-Type").startsWith(types[i]), FILES.get(i) + ": " + r.getHeader("Content-Type"));
      assertEquals(resource(FILES.get(i)), r.bodyAsString(), FILES.get(i) + " is served as built");
    }
    for (String path : List.of("/", "/ui/app.js", "/api/v1/cluster", "/health/live", "/nope")) {
      HttpResponse<Buffer> r = http.get(path);
      assertEquals(OperatorPage.CONTENT_SECURITY_POLICY, r.getHeader("Content-Security-Policy"), path);
      assertEquals("nosniff", r.getHeader("X-Content-Type-Options"), path);
      assertEquals("no-referrer", r.getHeader("Referrer-Policy"), path);
      assertEquals("DENY", r.getHeader("X-Frame-Options"), path);
    }
    HttpResponse<Buffer> missing = http.get("/ui/missing.js");
    assertEquals(404, missing.statusCode());
    assertEquals("not found", Http.json(missing).getString("error"));
  }

  @Test
  void thePolicyAllowsOnlyThisOriginAndNoInlineCode() {
    String csp = OperatorPage.CONTENT_SECURITY_POLICY;
    assertTrue(csp.contains("default-src 'none'"));
    assertTrue(csp.contains("script-src 'self'"));
    assertFalse(csp.contains("unsafe"), "no unsafe-inline or unsafe-eval");
    assertTrue(csp.contains("frame-ancestors 'none'"));
  }

  @Test
  void noFileNamesAnotherHostOrHoldsCodeThePolicyWouldBlock() throws Exception {
    Pattern absolute = Pattern.compile("(?i)(?:https?:|wss?:|ftp:)?//[a-z0-9.-]+\\.[a-z]{2,}");
    for (String f : FILES) {
      String text = resource(f);
      Matcher m = absolute.matcher(text);
      while (m.find()) {
        // the SVG namespace is a name, never fetched
        assertEquals("http://www.w3.org", m.group(), f + " names another host: " + m.group());
      }
      assertFalse(text.contains("eval("), f + " uses eval");
      assertFalse(text.contains("innerHTML"), f + " writes HTML from data (use textContent)");
    }
    String html = resource("index.html");
    Matcher scripts = Pattern.compile("<script([^>]*)>").matcher(html);
    int count = 0;
    while (scripts.find()) {
      count++;
      assertTrue(scripts.group(1).contains("src="), "inline script: " + scripts.group());
    }
    assertEquals(1, count, "one module script");
    assertFalse(Pattern.compile("(?i)\\son[a-z]+\\s*=").matcher(html).find(), "inline event handler");
    assertFalse(Pattern.compile("(?i)\\sstyle\\s*=").matcher(html).find(), "inline style attribute");
    assertFalse(html.contains("<style"), "inline style element");
  }

  @Test
  void everyFileThePageReferencesExistsAndEveryModuleIsPartOfThePage() throws Exception {
    Set<String> referenced = new LinkedHashSet<>();
    Matcher m = Pattern.compile("(?:src|href)=\"ui/([^\"]+)\"").matcher(resource("index.html"));
    while (m.find()) {
      referenced.add(m.group(1));
    }
    List<String> queue = new ArrayList<>(referenced);
    for (int i = 0; i < queue.size(); i++) {
      if (queue.get(i).endsWith(".js")) {
        Matcher imp = Pattern.compile("from \"\\./([^\"]+)\"").matcher(resource(queue.get(i)));
        while (imp.find()) {
          if (referenced.add(imp.group(1))) {
            queue.add(imp.group(1));
          }
        }
      }
    }
    assertEquals(Set.copyOf(FILES.subList(1, FILES.size())), referenced, "the page's files and its references agree");
  }
}
