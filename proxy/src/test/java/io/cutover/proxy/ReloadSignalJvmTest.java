package io.cutover.proxy;

import io.cutover.monitor.Poll;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SIGHUP to a Cutover JVM re-reads its configuration file: applied or rejected, logged and audited. No PostgreSQL. */
class ReloadSignalJvmTest {

  @Test
  void sighupReloadsTheFileAndAnInvalidOneIsRejected(@TempDir Path dir) throws Exception {
    int[] ports = MainJvm.freePorts(4);
    Path config = MainJvm.config(dir, ports);
    String original = Files.readString(config) + "admin: {token: " + Harness.TOKEN + "}\n";
    Files.writeString(config, original);
    try (MainJvm cutover = MainJvm.start(dir, "--config", config.toString()); Http http = new Http(ports[2])) {
      cutover.awaitLine("cutover started");
      cutover.awaitLine("topology v1");

      Files.writeString(config, original + "checks: {fall: 5}\n");
      cutover.signal("HUP");
      cutover.awaitLine("reload (SIGHUP) of " + config + ": applied checks.fall");
      assertEquals(5, Http.json(http.get("/api/v1/cluster")).getJsonObject("checks").getInteger("fall"));
      JsonObject applied = newestReload(http, 200);
      assertEquals("signal", applied.getString("remote"));
      assertEquals("SIGHUP", applied.getJsonObject("arguments").getString("trigger"));
      assertEquals("applied: changed checks.fall", applied.getString("outcome"));
      assertTrue(cutover.stderr().contains("\"action\":\"reload\""), "the audit line is logged");

      Files.writeString(config, original + "checks: {fall: 0}\n");
      cutover.signal("HUP");
      cutover.awaitLine("reload (SIGHUP) rejected: invalid configuration in " + config
          + ": checks.fall: must be between 1 and 1000 (got 0)");
      assertEquals(5, Http.json(http.get("/api/v1/cluster")).getJsonObject("checks").getInteger("fall"),
          "the running configuration stays");
      JsonObject rejected = newestReload(http, 400);
      assertEquals("signal", rejected.getString("remote"));

      cutover.terminate();
      cutover.awaitExit();
    }
  }

  /** The newest audit entry, once it is a reload answered {@code status} (it is recorded right after the log line). */
  private static JsonObject newestReload(Http http, int status) {
    JsonObject[] newest = new JsonObject[1];
    Poll.until(MainJvm.DEADLINE, "a reload audited with status " + status, () -> {
      try {
        JsonArray audit = Http.json(http.get("/api/v1/audit?limit=1")).getJsonArray("audit");
        newest[0] = audit.isEmpty() ? null : audit.getJsonObject(0);
      } catch (Exception e) {
        return false;
      }
      return newest[0] != null && "reload".equals(newest[0].getString("action"))
          && newest[0].getInteger("status") == status;
    });
    return newest[0];
  }
}
