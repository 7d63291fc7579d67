package io.cutover.proxy;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;

import java.util.concurrent.TimeUnit;

/** A small blocking wrapper over vertx-web-client for tests (real HTTP to a running Cutover). */
final class Http implements AutoCloseable {

  private final Vertx vertx = Vertx.vertx();
  private final WebClient client = WebClient.create(vertx);
  private final int port;

  Http(int port) {
    this.port = port;
  }

  HttpResponse<Buffer> send(HttpMethod method, String path, String token, String body) throws Exception {
    var req = client.request(method, port, "127.0.0.1", path);
    if (token != null) {
      req.putHeader("Authorization", "Bearer " + token);
    }
    var f = body == null ? req.send() : req.sendBuffer(Buffer.buffer(body));
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  HttpResponse<Buffer> get(String path) throws Exception {
    return send(HttpMethod.GET, path, null, null);
  }

  HttpResponse<Buffer> post(String path, String body) throws Exception {
    return send(HttpMethod.POST, path, Harness.TOKEN, body);
  }

  static JsonObject json(HttpResponse<Buffer> r) {
    return r.bodyAsJsonObject();
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
