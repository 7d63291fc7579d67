package io.cutover.proxy;

import io.cutover.proxy.config.ListenAddress;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A listener could not bind. The message is one line for an operator, naming the listener by its
 * configuration key, the address and the cause as the operating system gives it, e.g.
 * {@code cannot listen on listeners.write 127.0.0.1:6432: address already in use} — no exception class
 * names and no Netty call prefixes such as {@code bind(..) failed with error(-98): }.
 */
public final class ListenFailure extends RuntimeException {

  private static final long serialVersionUID = 1L;
  /** Netty's native transport prefixes errno texts with the call and the error number. */
  private static final Pattern NATIVE_PREFIX = Pattern.compile("^\\w+\\(\\.\\.\\) failed(?: with error\\(-?\\d+\\))?: ");

  private final String key;
  private final ListenAddress address;

  /**
   * @param key     the listener's configuration key, e.g. {@code listeners.write}
   * @param address the address it was to bind
   * @param cause   what the bind failed with (kept as the cause; only its text goes into the message)
   */
  public ListenFailure(String key, ListenAddress address, Throwable cause) {
    super("cannot listen on " + key + " " + address + ": " + reason(cause), cause);
    this.key = key;
    this.address = address;
  }

  /** The listener's configuration key, e.g. {@code listeners.http}. */
  public String key() {
    return key;
  }

  /** The address that could not be bound. */
  public ListenAddress address() {
    return address;
  }

  /**
   * The cause as a short phrase: the first message along the cause chain, on one line, without Netty's
   * {@code bind(..) failed with error(-98): } prefix, first letter in lower case
   * ({@code Address already in use} → {@code address already in use}).
   */
  static String reason(Throwable cause) {
    String text = null;
    for (Throwable t = cause; t != null && text == null; t = t.getCause() == t ? null : t.getCause()) {
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        text = t.getMessage();
      }
    }
    if (text == null) {
      return cause == null ? "unknown error" : cause.getClass().getSimpleName();
    }
    text = NATIVE_PREFIX.matcher(text.strip().replaceAll("\\s*\\n\\s*", " ")).replaceFirst("");
    boolean sentence = text.length() > 1 && Character.isUpperCase(text.charAt(0)) && Character.isLowerCase(text.charAt(1));
    return sentence ? text.substring(0, 1).toLowerCase(Locale.ROOT) + text.substring(1) : text;
  }
}
