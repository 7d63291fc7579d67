package io.cutover.monitor;

/**
 * A failed monitor or executor operation whose message already says everything an operator needs: what
 * was attempted, against which target, and why (which deadline in milliseconds, or the server's error).
 * {@link Errors#describe(Throwable)} returns that message as it is.
 */
public final class OperationFailedException extends RuntimeException {

  private final boolean deadlinePassed;

  /**
   * @param message        the complete description, one line
   * @param cause          the underlying error, or {@code null}
   * @param deadlinePassed whether the operation failed because its deadline passed (no answer in time)
   */
  public OperationFailedException(String message, Throwable cause, boolean deadlinePassed) {
    super(message, cause);
    this.deadlinePassed = deadlinePassed;
  }

  /** Whether the operation failed because its deadline passed rather than with an error answer. */
  public boolean deadlinePassed() {
    return deadlinePassed;
  }

  /** Whether {@code err} (or one of its causes) is an operation that failed because its deadline passed. */
  public static boolean isDeadline(Throwable err) {
    for (Throwable t = err; t != null; t = t.getCause()) {
      if (t instanceof OperationFailedException o && o.deadlinePassed) {
        return true;
      }
    }
    return false;
  }
}
