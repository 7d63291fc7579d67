package io.cutover.proxy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * {@code --pid-file}: this process's PID and a newline, written once Cutover serves, so that {@code scripts/restart}
 * (and an init system's {@code PIDFile=}) know which process to signal. Written atomically (a temporary file renamed
 * over it): a reader never sees half a PID, and a successor's file replaces its predecessor's.
 */
final class PidFile {

  private static final Logger LOG = LoggerFactory.getLogger(PidFile.class);

  private PidFile() {
  }

  /** Writes the PID to {@code file} ({@code null}: nothing); a failure is logged as a warning (Cutover serves on). */
  static void write(Path file) {
    if (file == null) {
      return;
    }
    Path abs = file.toAbsolutePath();
    Path tmp = abs.resolveSibling(abs.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
    try {
      Files.writeString(tmp, ProcessHandle.current().pid() + "\n", StandardCharsets.US_ASCII);
      Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      LOG.info("PID {} written to {}", ProcessHandle.current().pid(), abs);
    } catch (IOException e) {
      LOG.warn("cannot write the PID file {}: {}", abs, e.toString());
    }
  }

  /** Removes {@code file} if it still names this process (a successor may have replaced it); never throws. */
  static void remove(Path file) {
    if (file == null) {
      return;
    }
    try {
      if (Files.readString(file, StandardCharsets.US_ASCII).strip().equals(Long.toString(ProcessHandle.current().pid()))) {
        Files.delete(file);
      }
    } catch (IOException | RuntimeException e) {
      // gone already, or replaced: nothing to do
    }
  }
}
