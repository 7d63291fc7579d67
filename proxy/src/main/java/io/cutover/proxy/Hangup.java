package io.cutover.proxy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SIGHUP reloads the configuration ({@link Reloader#onSignal}), as for most daemons. The handler runs on the JVM's
 * signal-dispatch thread and only hands the reload to Vert.x, so it never blocks; the reload's outcome is logged and
 * audited. Uses {@code sun.misc.Signal} (module {@code jdk.unsupported}, present in every JDK 17).
 */
final class Hangup {

  private static final Logger LOG = LoggerFactory.getLogger(Hangup.class);

  private Hangup() {
  }

  /**
   * Installs the handler (once Cutover runs).
   *
   * @return {@code false} when the JVM does not let Cutover handle SIGHUP (e.g. started with {@code -Xrs}): logged
   *         as a warning; {@code POST /api/v1/reload} still reloads
   */
  @SuppressWarnings("sunapi")
  static boolean reloadOn(Reloader reloader) {
    try {
      sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> reloader.onSignal());
      return true;
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      LOG.warn("SIGHUP cannot be handled here ({}): reload with POST /api/v1/reload", e.getMessage());
      return false;
    }
  }
}
