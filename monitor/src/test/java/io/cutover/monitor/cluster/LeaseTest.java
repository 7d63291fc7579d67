package io.cutover.monitor.cluster;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LeaseTest {

  @Test
  void aLeaseRunsFromTheSendTimeOfTheLastRoundAQuorumAnswered() {
    Lease l = new Lease(4_000, 2);
    long r1 = l.startRound(1_000);
    assertFalse(l.valid(1_000), "no answer yet");
    assertTrue(l.expired(1_000).startsWith("no write lease yet"));
    l.answered(r1, "b");
    assertTrue(l.valid(1_500));
    assertTrue(l.valid(4_999));
    assertFalse(l.valid(5_000), "sent at 1000 + lease 4000");
    assertNotNull(l.expired(5_000));
    long r2 = l.startRound(4_500);
    l.answered(r2, "c");
    assertTrue(l.valid(8_499));
    assertFalse(l.valid(8_500));
  }

  @Test
  void aLateAnswerToAnOldRoundNeverExtendsTheLeaseBeyondThatRoundsSendTime() {
    Lease l = new Lease(4_000, 2);
    long r1 = l.startRound(1_000);
    l.startRound(2_000);
    l.answered(r1, "b");
    assertFalse(l.valid(5_000));
  }

  @Test
  void aQuorumOfThreeOutOfFiveNeedsTwoAnswers() {
    Lease l = new Lease(4_000, 3);
    long r = l.startRound(0);
    l.answered(r, "b");
    assertFalse(l.valid(1));
    l.answered(r, "b");
    assertFalse(l.valid(1), "the same instance twice is one answer");
    l.answered(r, "c");
    assertTrue(l.valid(1));
  }

  @Test
  void aSingleInstanceHoldsTheLeaseAtOnce() {
    Lease l = new Lease(4_000, 1);
    l.startRound(0);
    assertTrue(l.valid(3_999));
    assertNull(l.expired(3_999));
  }

  @Test
  void theLeaderWaitsALeasePlusMarginAfterTheLastAnswerAnyoneGaveAnInstanceThatLeft() {
    Lease leader = new Lease(4_000, 2);
    leader.iAnswered("j", 10_000);
    // k answered j 300 ms before its verdict reached the leader at 10_500 (leader's clock)
    leader.peerAnswered("k", Map.of("j", 300L), 10_500);
    assertEquals(10_200 + 4_000 + 400, leader.promoteNotBefore(Set.of("leader", "k")));
    assertEquals(Set.of("j"), leader.mayStillWrite(Set.of("leader", "k"), 14_599));
    assertEquals(Set.of(), leader.mayStillWrite(Set.of("leader", "k"), 14_600));
    assertEquals(Long.MIN_VALUE, leader.promoteNotBefore(Set.of("leader", "k", "j")), "a member acknowledges fences instead");
    assertEquals(0, leader.waitMillis(Set.of("leader", "k", "j"), 10_000), "nothing to wait for");
    assertEquals(0, new Lease(4_000, 2).waitMillis(Set.of("leader"), 10_000), "nobody ever answered: nothing to wait for");
    assertEquals(4_600, leader.waitMillis(Set.of("leader", "k"), 10_000));
    assertEquals(0, leader.waitMillis(Set.of("leader", "k"), 14_600));
  }

  @Test
  void theLeaseArgumentHoldsForEveryCutMoment() {
    // j renews every 500 ms with a 20 ms round trip answered by k; a cut at any moment: j stops writing no later
    // than the leader may promote
    for (long cut = 0; cut < 3_000; cut += 7) {
      Lease j = new Lease(4_000, 2);
      Lease k = new Lease(4_000, 2);
      for (long t = 0; t < 10_000; t += 500) {
        long id = j.startRound(t);
        if (t + 10 < cut) {
          k.iAnswered("j", t + 10);
          if (t + 20 < cut) {
            j.answered(id, "k");
          }
        }
      }
      long notBefore = k.promoteNotBefore(Set.of("k", "leader"));
      long jStops = 0;
      while (j.valid(jStops)) {
        jStops++;
      }
      assertTrue(jStops == 0 || jStops <= notBefore, "cut " + cut + ": j writes until " + jStops + ", promotion allowed at " + notBefore);
    }
  }
}
