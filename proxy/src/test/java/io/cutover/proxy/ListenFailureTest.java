package io.cutover.proxy;

import io.cutover.proxy.config.ListenAddress;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.BindException;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ListenFailureTest {

  private static final ListenAddress ADDRESS = new ListenAddress("127.0.0.1", 6432);

  @Test
  void nativeTransportTextLosesTheCallPrefix() {
    assertEquals("cannot listen on listeners.write 127.0.0.1:6432: address already in use",
        new ListenFailure("listeners.write", ADDRESS,
            new IOException("bind(..) failed with error(-98): Address already in use")).getMessage());
  }

  @Test
  void nioTextAndOtherCauses() {
    assertEquals("cannot listen on listeners.http 127.0.0.1:6432: address already in use",
        new ListenFailure("listeners.http", ADDRESS, new BindException("Address already in use")).getMessage());
    assertEquals("permission denied", ListenFailure.reason(new IOException("bind(..) failed: Permission denied")));
    assertEquals("IPv6 not available", ListenFailure.reason(new IOException("IPv6 not available")));
    assertEquals("cannot assign requested address",
        ListenFailure.reason(new RuntimeException(null, new BindException("Cannot assign requested address"))));
    assertEquals("IllegalStateException", ListenFailure.reason(new IllegalStateException()));
  }
}
