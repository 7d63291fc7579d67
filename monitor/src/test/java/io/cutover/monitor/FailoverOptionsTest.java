package io.cutover.monitor;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FailoverOptionsTest {

  @Test
  void promoteTimeoutDefaultsToTenSeconds() {
    assertEquals(Duration.ofSeconds(10), FailoverOptions.DEFAULT_PROMOTE_TIMEOUT);
    assertEquals(FailoverOptions.DEFAULT_PROMOTE_TIMEOUT, new FailoverOptions().getPromoteTimeout());
    assertEquals("10s", new FailoverOptions().toJson().getString("promote_timeout"));
  }

  @Test
  void jsonRoundTripKeepsEverySetting() {
    FailoverOptions o = new FailoverOptions().setMode(FailoverOptions.Mode.MANUAL).setRto(Duration.ofSeconds(4))
        .setMaxLagOnFailoverBytes(4096).setFailbackDelay(Duration.ofSeconds(5)).setAutoFailback(true)
        .setPreferred("pg2").setSwitchoverTimeout(Duration.ofSeconds(7)).setPromoteTimeout(Duration.ofMillis(2500))
        .setOnFailover("echo {new_name}").setOnFence("echo f");
    JsonObject json = o.toJson();
    FailoverOptions back = FailoverOptions.fromJson(json);
    assertEquals(json, back.toJson());
    assertEquals(Duration.ofMillis(2500), back.getPromoteTimeout());
    assertEquals(FailoverOptions.DEFAULT_PROMOTE_TIMEOUT, FailoverOptions.fromJson(new JsonObject()).getPromoteTimeout());
  }

  @Test
  void promoteTimeoutBelowTwoSecondsIsRejected() {
    assertThrows(IllegalArgumentException.class, () -> new FailoverOptions().setPromoteTimeout(Duration.ofMillis(1999)));
    assertThrows(IllegalArgumentException.class, () -> new FailoverOptions().setPromoteTimeout(null));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> FailoverOptions.fromJson(new JsonObject().put("promote_timeout", "1s")));
    assertTrue(e.getMessage().contains("failover.promote_timeout: must be at least 2s"), e.getMessage());
  }
}
