package io.cutover.proxy;

import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.PathItem;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The OpenAPI document Cutover serves at {@code /api/v1/openapi.yaml}, fetched over HTTP and validated with
 * swagger-parser: no parser message (a structural error, an unexpected or missing key), every operation with a
 * unique camelCase {@code operationId} and a declared {@code security} (the bearer scheme for the mutating POSTs,
 * an empty list for the open reads), a license, a 4xx listed on every operation and every error response the JSON
 * error (the health checks' 503 their own body; an answer to HEAD none). That each documented route exists on the router and back is checked by
 * {@code AdminHttpIntegrationTest}. No PostgreSQL needed: the target is a closed port.
 */
class OpenApiDocumentTest {

  private static Harness h;
  private static SwaggerParseResult result;
  private static OpenAPI api;

  @BeforeAll
  static void start() throws Exception {
    h = Harness.start("targets: [{name: pg1, host: 127.0.0.1, port: 1}]\npresence: {enabled: false}\n");
    RawHttp.Response doc = RawHttp.send(h.cutover.httpPort(), "GET", "/api/v1/openapi.yaml");
    assertEquals(200, doc.status());
    ParseOptions options = new ParseOptions();
    options.setResolve(true);
    result = new OpenAPIV3Parser().readContents(doc.body(), null, options);
    api = result.getOpenAPI();
    assertNotNull(api, "parsed: " + result.getMessages());
  }

  @AfterAll
  static void stop() throws Exception {
    h.close();
  }

  private record Op(String method, String path, Operation operation) {
    @Override
    public String toString() {
      return method + " " + path;
    }
  }

  private static List<Op> operations() {
    List<Op> all = new ArrayList<>();
    api.getPaths().forEach((path, item) -> item.readOperationsMap()
        .forEach((method, op) -> all.add(new Op(method.name(), path, op))));
    return all;
  }

  @Test
  void theParserHasNothingToSay() {
    result.getMessages().forEach(m -> System.out.println("openapi.yaml: " + m));
    assertEquals(List.of(), result.getMessages(), "swagger-parser's messages");
  }

  @Test
  void everyOperationHasAUniqueCamelCaseOperationId() {
    Set<String> ids = new HashSet<>();
    List<Op> all = operations();
    for (Op op : all) {
      String id = op.operation().getOperationId();
      assertTrue(id != null && id.matches("[a-z][a-zA-Z0-9]*"), op + ": operationId " + id);
      assertTrue(ids.add(id), op + ": operationId " + id + " twice");
    }
    assertEquals(24, all.size(), "operations: " + all);
  }

  @Test
  void everyOperationDeclaresItsSecurity() {
    SecurityRequirement bearer = new SecurityRequirement().addList("bearer");
    assertNotNull(api.getComponents().getSecuritySchemes().get("bearer"));
    for (Op op : operations()) {
      List<SecurityRequirement> security = op.operation().getSecurity();
      assertNotNull(security, op + " declares no security");
      assertEquals(op.method().equals("POST") ? List.of(bearer) : List.of(), security, op.toString());
    }
  }

  @Test
  void theDocumentHasALicense() {
    assertNotNull(api.getInfo().getLicense(), "info.license");
    assertTrue(api.getInfo().getLicense().getName() != null && !api.getInfo().getLicense().getName().isBlank());
  }

  /** Every operation lists its 4xx (at least the 4XX of a request the server cannot parse), each the JSON error. */
  @Test
  void everyErrorResponseIsTheJsonError() {
    int errors = 0;
    for (Op op : operations()) {
      assertTrue(op.operation().getResponses().keySet().stream().anyMatch(k -> k.startsWith("4")), op + " lists no 4xx");
      for (Map.Entry<String, ApiResponse> e : op.operation().getResponses().entrySet()) {
        String status = e.getKey();
        if (!status.startsWith("4") && !status.startsWith("5")) {
          continue;
        }
        ApiResponse r = resolve(e.getValue());
        if (op.method().equals("HEAD")) {
          assertEquals(null, r.getContent(), op + " " + status + ": HEAD has no body");
          continue;
        }
        String schema = r.getContent().get("application/json").getSchema().get$ref();
        boolean healthDown = op.path().startsWith("/health/") && status.equals("503");
        assertEquals(healthDown ? "#/components/schemas/Health" : "#/components/schemas/Error", schema, op + " " + status);
        errors++;
      }
    }
    assertTrue(errors > 40, errors + " error responses");
  }

  private static ApiResponse resolve(ApiResponse r) {
    if (r.get$ref() == null) {
      return r;
    }
    String name = r.get$ref().substring(r.get$ref().lastIndexOf('/') + 1);
    return api.getComponents().getResponses().get(name);
  }

  /** The health checks document HEAD, which load balancers send (every other GET path serves it too, as info says). */
  @Test
  void healthChecksDocumentGetAndHead() {
    for (Map.Entry<String, PathItem> e : api.getPaths().entrySet()) {
      if (e.getKey().startsWith("/health/")) {
        assertNotNull(e.getValue().getGet(), e.getKey());
        assertNotNull(e.getValue().getHead(), e.getKey());
      }
    }
  }
}
