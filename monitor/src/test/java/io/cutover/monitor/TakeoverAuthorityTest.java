package io.cutover.monitor;

import io.vertx.core.Future;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The authority of a process taking over from a running predecessor: one authority at a time, re-derived per input. */
class TakeoverAuthorityTest {

  private final AtomicBoolean runs = new AtomicBoolean(true);
  private final TakeoverAuthority authority = new TakeoverAuthority(AuthoritySource.SINGLE, "PID 42", runs::get);

  @Test
  void followsWhileThePredecessorRunsThenDecidesAlone() {
    assertEquals(Authority.FOLLOW, authority.standing().authority());
    assertTrue(authority.standing().reason().contains("PID 42"), authority.standing().reason());
    assertFalse(authority.leader(), "no promotion, re-pointing, switchover or hook while the predecessor decides");
    Future<Long> refused = authority.decide("failover", "pg1", "pg2", 7);
    assertTrue(refused.failed());
    assertTrue(refused.cause().getMessage().contains("PID 42"), refused.cause().getMessage());

    assertEquals(Authority.FOLLOW, authority.standing().authority(), "asked again: still following");
    runs.set(false);
    assertEquals(Authority.PROMOTE, authority.standing().authority(), "the first input after it exited");
    assertEquals("single instance", authority.standing().reason());
    assertTrue(authority.leader());
    assertEquals(7L, authority.decide("failover", "pg1", "pg2", 7).result());
  }

  @Test
  void thePredecessorsStandingIsReDerivedNotLatched() {
    runs.set(false);
    assertTrue(authority.leader());
    runs.set(true); // e.g. a wrong reading before: the next input asks again
    assertFalse(authority.leader());
    assertEquals(Authority.FOLLOW, authority.standing().authority());
  }

  @Test
  void aClusteredBaseKeepsItsOwnStandingAfterwards() {
    AuthoritySource waiting = new AuthoritySource() {
      @Override public String minority() { return "1 of 3"; }
      @Override public Future<Long> decide(String k, String o, String n, long v) { return Future.succeededFuture(v + 1); }
      @Override public void promoted(String target) { }
      @Override public void unfenceEverywhere(String target) { }
      @Override public long versionSeen() { return 9; }
      @Override public boolean leader() { return false; }
      @Override public Standing standing() { return new Standing(Authority.WAIT, "no quorum"); }
      @Override public void verdict(String primary, boolean down, long version) { }
    };
    TakeoverAuthority t = new TakeoverAuthority(waiting, "PID 42", runs::get);
    assertEquals("1 of 3", t.minority(), "passed through while the predecessor runs");
    assertEquals(9, t.versionSeen());
    runs.set(false);
    assertEquals(new AuthoritySource.Standing(Authority.WAIT, "no quorum"), t.standing());
    assertFalse(t.leader());
    assertEquals(4L, t.decide("switchover", "pg1", "pg2", 3).result());
  }
}
