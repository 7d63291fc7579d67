package io.cutover.monitor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link HttpRoles}: every combination of the two paths' answers. */
class HttpRolesTest {

  private static final HttpAnswer OK = HttpAnswer.of(200, "{}");
  private static final HttpAnswer UNAVAILABLE = HttpAnswer.of(503, "{}");
  private static final HttpAnswer NOT_FOUND = HttpAnswer.of(404, null);
  private static final HttpAnswer NO_CONTENT = HttpAnswer.of(204, null);
  private static final HttpAnswer REFUSED = HttpAnswer.failed(FailureKind.REFUSED, "connection refused");
  private static final HttpAnswer TIMEOUT = HttpAnswer.failed(FailureKind.TIMEOUT, "no answer within 1000 ms");
  private static final HttpAnswer BROKEN = HttpAnswer.failed(FailureKind.ERROR, "answer larger than 65536 bytes");

  private static Observation observe(HttpAnswer primary, HttpAnswer replica) {
    return HttpRoles.observe("pg1", 5000, 3, "/primary", primary, "/replica?lag=16MB", replica);
  }

  private static void assertPrimary(Observation o) {
    assertTrue(o.ok(), o.error());
    assertEquals(Role.PRIMARY, o.role());
    assertEquals(-1, o.timeline());
    assertEquals(-1, o.currentLsn());
  }

  private static void assertReplica(Observation o) {
    assertTrue(o.ok(), o.error());
    assertEquals(Role.REPLICA, o.role());
    assertEquals(-1, o.timeline());
    assertEquals(-1, o.receiveLsn());
    assertEquals(-1, o.replayLsn());
    assertEquals(Observation.UNREPORTED, o.receiver());
    assertTrue(o.streaming(), "the replica path vouches for it");
  }

  private static void assertFailed(FailureKind kind, String error, Observation o) {
    assertFalse(o.ok());
    assertEquals(kind, o.failure());
    assertEquals(error, o.error());
    assertEquals(Role.UNKNOWN, o.role());
  }

  @Test
  void twoHundredOnThePrimaryPathIsThePrimaryWhateverTheReplicaPathSays() {
    for (HttpAnswer replica : new HttpAnswer[] {OK, UNAVAILABLE, NOT_FOUND, REFUSED, TIMEOUT, BROKEN}) {
      Observation o = observe(OK, replica);
      assertPrimary(o);
      assertEquals("pg1", o.target());
      assertEquals(5000, o.atMillis());
      assertEquals(3, o.latencyMillis());
    }
  }

  @Test
  void twoHundredOnlyOnTheReplicaPathIsAReplica() {
    for (HttpAnswer primary : new HttpAnswer[] {UNAVAILABLE, NOT_FOUND, NO_CONTENT, REFUSED, TIMEOUT, BROKEN}) {
      assertReplica(observe(primary, OK));
    }
  }

  @Test
  void onlyExactly200CountsAsYes() {
    assertFailed(FailureKind.ERROR, "neither primary nor replica (GET /primary: 204, GET /replica?lag=16MB: 204)",
        observe(NO_CONTENT, NO_CONTENT));
  }

  @Test
  void neitherPathSaying200FailsWithBothStatuses() {
    assertFailed(FailureKind.ERROR, "neither primary nor replica (GET /primary: 503, GET /replica?lag=16MB: 503)",
        observe(UNAVAILABLE, UNAVAILABLE));
    assertFailed(FailureKind.ERROR, "neither primary nor replica (GET /primary: 503, GET /replica?lag=16MB: 404)",
        observe(UNAVAILABLE, NOT_FOUND));
  }

  @Test
  void aPathWithoutAnAnswerFailsTheCheckWithItsKindThePrimaryPathsFirst() {
    assertFailed(FailureKind.REFUSED, "GET /primary: connection refused", observe(REFUSED, REFUSED));
    assertFailed(FailureKind.REFUSED, "GET /primary: connection refused", observe(REFUSED, UNAVAILABLE));
    assertFailed(FailureKind.TIMEOUT, "GET /primary: no answer within 1000 ms", observe(TIMEOUT, REFUSED));
    assertFailed(FailureKind.TIMEOUT, "GET /replica?lag=16MB: no answer within 1000 ms", observe(UNAVAILABLE, TIMEOUT));
    assertFailed(FailureKind.ERROR, "GET /replica?lag=16MB: answer larger than 65536 bytes", observe(NOT_FOUND, BROKEN));
    assertFailed(FailureKind.ERROR, "GET /primary: answer larger than 65536 bytes", observe(BROKEN, TIMEOUT));
  }

  @Test
  void answersDescribeThemselves() {
    assertEquals("503", UNAVAILABLE.describe());
    assertEquals("connection refused", REFUSED.describe());
    assertTrue(OK.answered());
    assertFalse(TIMEOUT.answered());
  }
}
