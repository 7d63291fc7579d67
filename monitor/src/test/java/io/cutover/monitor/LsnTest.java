package io.cutover.monitor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LsnTest {

  @Test
  void parsesAndFormatsPostgresLsns() {
    assertEquals(0x3000060L, Lsn.parse("0/3000060"));
    assertEquals((0x16L << 32) | 0xB374D848L, Lsn.parse("16/B374D848"));
    assertEquals("16/B374D848", Lsn.format(Lsn.parse("16/B374D848")));
    assertEquals(-1, Lsn.parse(null));
    assertNull(Lsn.format(-1));
    assertThrows(IllegalArgumentException.class, () -> Lsn.parse("nope"));
    assertThrows(IllegalArgumentException.class, () -> Lsn.parse("1/"));
    assertThrows(IllegalArgumentException.class, () -> Lsn.parse("100000000/0"));
  }
}
