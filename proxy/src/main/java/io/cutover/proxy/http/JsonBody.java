package io.cutover.proxy.http;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Reads a request body that must be a JSON object, with errors an API client can act on: where the JSON
 * breaks (line and column), or what was sent instead of an object — never the parser's class names or its
 * internal description of the input.
 */
final class JsonBody {

  /** The body cannot be used; the message is the {@code detail} of a 400 answer. */
  static final class Invalid extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Invalid(String message) {
      super(message, null, false, false);
    }
  }

  private JsonBody() {
  }

  /**
   * @param text the body as text; {@code null} or blank is an empty object
   * @return the object
   * @throws Invalid {@code malformed JSON body near line 1, column 2}, {@code malformed JSON body: it ends early
   *         (line 1, column 10)}, or {@code the body must be a JSON object, not an array}
   */
  static JsonObject object(String text) {
    if (text == null || text.isBlank()) {
      return new JsonObject();
    }
    Object parsed;
    try {
      parsed = Json.decodeValue(text);
    } catch (DecodeException e) {
      throw new Invalid(malformed(e));
    }
    if (parsed instanceof JsonObject o) {
      return o;
    }
    throw new Invalid("the body must be a JSON object, not " + kind(parsed));
  }

  private static String malformed(DecodeException e) {
    if (!(e.getCause() instanceof JsonProcessingException p) || p.getLocation() == null) {
      return "malformed JSON body";
    }
    JsonLocation at = p.getLocation();
    String where = "line " + at.getLineNr() + ", column " + at.getColumnNr();
    return p instanceof JsonEOFException ? "malformed JSON body: it ends early (" + where + ")"
        : "malformed JSON body near " + where;
  }

  private static String kind(Object value) {
    if (value == null) {
      return "null";
    }
    if (value instanceof JsonArray) {
      return "an array";
    }
    if (value instanceof String) {
      return "a string";
    }
    if (value instanceof Number) {
      return "a number";
    }
    return value instanceof Boolean ? "true or false" : "a " + value.getClass().getSimpleName();
  }
}
