package io.cutover.proxy;

import io.cutover.monitor.Observation;
import io.cutover.monitor.Overlay;
import io.cutover.monitor.Poll;
import io.cutover.monitor.Target;
import io.cutover.monitor.TargetState;
import io.cutover.monitor.Topology;
import io.cutover.monitor.TopologyRules;
import io.cutover.proxy.config.ListenAddress;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fencing in the data plane, over real sockets without PostgreSQL: the endpoint listeners route by a
 * {@link TopologyView} the test sets, backends are plain server sockets the test controls, and a fence is
 * what {@code Cutover.onTopology} does — the view first, then {@link SessionRegistry#fenceAll}.
 *
 * <p>A backend connect is kept pending deterministically by a listening socket whose accept queue is full
 * (Linux drops the SYN; the connect only completes at a SYN retransmission once the queue has room).
 */
class FenceDataPlaneTest {

  private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
  private static final Duration DEADLINE = Duration.ofSeconds(20);

  private Vertx vertx;
  private SessionRegistry registry;
  private Traffic traffic;
  private TopologyView view;
  private final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    registry = new SessionRegistry();
    traffic = new Traffic();
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : closeables) {
      try {
        c.close();
      } catch (IOException e) {
        // already closed
      }
    }
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** (a) A write session whose connect is pending when the fence lands is never handed off: 57P03. */
  @Test
  void sessionConnectingWhenTheFenceLandsGets57P03AndIsNeverHandedOff() throws Exception {
    Backlogged old = backlogged();
    Target t1 = new Target("t1", "127.0.0.1", old.server.getLocalPort());
    Topology before = topology(1, Set.of(), Map.of(t1, true));
    int port = listen(Endpoint.WRITE, before);

    Socket client = socket(port);
    client.getOutputStream().write(startupPacket());
    Poll.until(DEADLINE, "the session registered and connecting to t1", () -> registry.pending("t1") == 1);

    fence(topology(2, Set.of("t1"), Map.of(t1, true)), "t1");
    // Room in the accept queue again: a connect the fence missed would complete at its next SYN
    // retransmission (1 s after the first, then 3 s) and be handed off: the client would get no error.
    old.drainQueue();

    String error = readError(client);
    assertTrue(error.contains("C57P03"), error);
    Poll.until(DEADLINE, "no session left under t1", () -> registry.pending("t1") == 0 && registry.sessions("t1") == 0);
    assertEquals(0, registry.sessions(Endpoint.WRITE));
    // and the fenced connect is gone: nothing arrives within two more retransmission intervals
    old.server.setSoTimeout(4000);
    assertThrows(SocketTimeoutException.class, () -> {
      try (Socket late = old.server.accept()) {
        late.setSoTimeout(4000);
        throw new AssertionError("the fenced connect completed; it delivered " + late.getInputStream().read());
      }
    });
  }

  /**
   * A write session held for a primary ({@code proxy.connect_wait} 1 s) far longer than {@code proxy.startup_timeout}
   * (100 ms) is not closed by the startup timeout: that covers reading the client, not Cutover's own wait.
   */
  @Test
  void aHeldSessionIsNotClosedByTheStartupTimeout() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    Target t1 = new Target("t1", "127.0.0.1", closedPort);
    int port = listen(Endpoint.WRITE, topology(1, Set.of(), Map.of(t1, true)), Duration.ofSeconds(1), Duration.ofMillis(100));
    Socket client = socket(port);
    client.getOutputStream().write(startupPacket());
    String error = readError(client);
    assertTrue(error.contains("C57P03") && error.contains("waited 1000 ms (proxy.connect_wait)"), error);
    assertEquals(1, traffic.held(Endpoint.WRITE).sum());
    assertEquals(0, traffic.startupTimeouts(Endpoint.WRITE).sum());
  }

  /** (a) On the read endpoint the same session is routed again, to the next replica. */
  @Test
  void readSessionConnectingWhenTheFenceLandsIsRoutedToAnotherReplica() throws Exception {
    Backlogged old = backlogged();
    ServerSocket other = server(0);
    Target t1 = new Target("t1", "127.0.0.1", old.server.getLocalPort());
    Target t2 = new Target("t2", "127.0.0.1", other.getLocalPort());
    Target p = new Target("p", "127.0.0.1", other.getLocalPort());
    Map<Target, Boolean> targets = new java.util.LinkedHashMap<>();
    targets.put(p, true);
    targets.put(t1, false);
    targets.put(t2, false);
    int port = listen(Endpoint.READ, topology(1, Set.of(), targets));

    Socket client = socket(port);
    byte[] startup = startupPacket();
    client.getOutputStream().write(startup);
    Poll.until(DEADLINE, "the session registered and connecting to t1", () -> registry.pending("t1") == 1);

    fence(topology(2, Set.of("t1"), targets), "t1");
    old.drainQueue(); // a connect the fence missed would now complete and be handed off to t1

    other.setSoTimeout((int) DEADLINE.toMillis());
    try (Socket routed = other.accept()) {
      routed.setSoTimeout((int) DEADLINE.toMillis());
      byte[] got = new DataInputStream(routed.getInputStream()).readNBytes(startup.length);
      assertArrayEquals(startup, got, "the startup packet reached the other replica");
      routed.getOutputStream().write(AUTHENTICATION_OK); // a server's first reply: the session is relayed from here
      Poll.until(DEADLINE, "relayed to t2", () -> registry.sessions("t2") == 1);
    }
    assertEquals(0, registry.pending("t1") + registry.sessions("t1"));
  }

  /**
   * (b) A fence is a hard close: what the client wrote and Cutover still buffers (Netty's outbound buffer,
   * the kernel's send buffer) never reaches the backend, which sees a RST rather than the rest and an EOF.
   */
  @Test
  void fenceResetsTheBackendAndDropsWhatIsStillBuffered() throws Exception {
    ServerSocket backend = new ServerSocket();
    closeables.add(backend);
    backend.setReceiveBufferSize(8192);
    backend.bind(new InetSocketAddress(LOOPBACK, 0));
    Target t1 = new Target("t1", "127.0.0.1", backend.getLocalPort());
    int port = listen(Endpoint.WRITE, topology(1, Set.of(), Map.of(t1, true)));

    Socket client = socket(port);
    client.getOutputStream().write(startupPacket());
    backend.setSoTimeout((int) DEADLINE.toMillis());
    Socket server = backend.accept(); // answers the startup at once, and never reads until the fence
    closeables.add(server);
    server.getOutputStream().write(AUTHENTICATION_OK);
    Poll.until(DEADLINE, "relayed", () -> registry.sessions("t1") == 1);
    AtomicLong written = new AtomicLong();
    Thread writer = new Thread(() -> {
      byte[] chunk = new byte[8192];
      Arrays.fill(chunk, (byte) 'x');
      try {
        OutputStream out = client.getOutputStream();
        while (true) {
          out.write(chunk);
          written.addAndGet(chunk.length);
        }
      } catch (IOException e) {
        // Cutover closed the client: expected once fenced
      }
    }, "fence-test-writer");
    writer.setDaemon(true);
    writer.start();

    // The backend can hold at most its receive buffer; wait until Cutover read well beyond that, so that
    // at least 32 KiB the client wrote sit in Cutover's buffers when the fence lands.
    long mustExceed = server.getReceiveBufferSize() + 32 * 1024;
    Poll.until(DEADLINE, "Cutover read more than " + mustExceed + " bytes from the client",
        () -> traffic.upstream(Endpoint.WRITE).sum() > mustExceed);
    long readFromClient = traffic.upstream(Endpoint.WRITE).sum();

    fence(topology(2, Set.of("t1"), Map.of(t1, true)), "t1");
    assertEquals(0, registry.sessions("t1"), "the fence completed before the session's sockets were closed");

    server.setSoTimeout((int) DEADLINE.toMillis());
    InputStream in = server.getInputStream();
    byte[] buf = new byte[65536];
    long received = 0;
    boolean reset = false;
    try {
      for (int n; (n = in.read(buf)) != -1; ) {
        received += n;
      }
    } catch (SocketException e) {
      reset = true;
    }
    assertTrue(reset, "the backend saw an orderly EOF after " + received + " bytes, not a RST");
    assertTrue(received < readFromClient, "the backend received " + received + " bytes, all " + readFromClient
        + " Cutover had read from the client were flushed");
    writer.join(DEADLINE.toMillis());
  }

  // ---- helpers ----

  /** What {@code Cutover.onTopology} does on a snapshot that fences {@code target}, then waits for the close. */
  private void fence(Topology fenced, String target) throws Exception {
    assertTrue(view.update(fenced));
    registry.fenceAll(target).get(10, TimeUnit.SECONDS);
  }

  /** A snapshot where each target is UP as primary ({@code true}) or replica, with {@code fenced} fenced. */
  private static Topology topology(long version, Set<String> fenced, Map<Target, Boolean> targets) {
    List<TopologyRules.Input> inputs = new ArrayList<>();
    targets.forEach((t, primary) -> {
      Observation o = primary ? Observation.primary(t.name(), 0, 1, 1, 100)
          : Observation.replica(t.name(), 0, 1, 1, 100, 100);
      inputs.add(new TopologyRules.Input(t, TargetState.UP, o, o));
    });
    Overlay overlay = new Overlay(fenced, Map.of(), fenced.isEmpty() ? null : "failover: " + fenced + " fenced", Map.of());
    return new TopologyRules(-1).build(version, System.currentTimeMillis(), inputs, overlay);
  }

  /** PostgreSQL's AuthenticationOk: what a server's first reply to a startup packet may be. */
  private static final byte[] AUTHENTICATION_OK = {'R', 0, 0, 0, 8, 0, 0, 0, 0};

  private int listen(Endpoint endpoint, Topology initial) throws Exception {
    return listen(endpoint, initial, Duration.ofMillis(300), io.cutover.proxy.config.ProxyOptions.DEFAULT_STARTUP_TIMEOUT);
  }

  private int listen(Endpoint endpoint, Topology initial, Duration connectWait, Duration startupTimeout) throws Exception {
    view = new TopologyView(initial, new RoutePolicy(false));
    EndpointVerticle v = new EndpointVerticle(endpoint, new ListenAddress("127.0.0.1", 0), io.cutover.proxy.config.ProxyOptions.defaults()
        .withConnectTimeout(Duration.ofSeconds(15)).withConnectWait(connectWait).withStartupTimeout(startupTimeout),
        view, registry, traffic, new ClientConnections(1000));
    vertx.deployVerticle(v).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    return v.actualPort();
  }

  private ServerSocket server(int backlog) throws IOException {
    ServerSocket s = new ServerSocket(0, backlog, LOOPBACK);
    closeables.add(s);
    return s;
  }

  private Socket socket(int port) throws IOException {
    Socket s = new Socket(LOOPBACK, port);
    s.setSoTimeout((int) DEADLINE.toMillis());
    closeables.add(s);
    return s;
  }

  /** A listening socket whose accept queue is full: a new connect to it stays pending. */
  private Backlogged backlogged() throws IOException {
    ServerSocket s = server(1);
    List<Socket> fillers = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      Socket f = new Socket();
      closeables.add(f);
      try {
        f.connect(s.getLocalSocketAddress(), 500);
        fillers.add(f);
      } catch (SocketTimeoutException full) {
        f.close();
        return new Backlogged(s, fillers.size());
      }
    }
    throw new IllegalStateException("could not fill the accept queue of a listening socket (backlog 1)");
  }

  private record Backlogged(ServerSocket server, int queued) {
    /** Accepts (and closes) the queued filler connections: room for new ones again. */
    void drainQueue() throws IOException {
      for (int i = 0; i < queued; i++) {
        server.accept().close();
      }
    }
  }

  /** A protocol 3.0 StartupMessage for user {@code postgres}. */
  static byte[] startupPacket() {
    byte[] params = "user\0postgres\0\0".getBytes(StandardCharsets.US_ASCII);
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + params.length);
    b.putInt(8 + params.length).putInt(196608).put(params);
    return b.array();
  }

  /** Reads one ErrorResponse and returns its fields as text (each field's code letter, then its value). */
  private static String readError(Socket s) throws IOException {
    DataInputStream in = new DataInputStream(s.getInputStream());
    int type = in.read();
    assertEquals('E', type, "expected an ErrorResponse");
    int len = in.readInt();
    byte[] body = in.readNBytes(len - 4);
    return new String(body, StandardCharsets.UTF_8);
  }
}
