package io.cutover.monitor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link PatroniStatus}: answers of {@code GET /patroni} shaped as Patroni 3.0.x and 4.x write them. */
class PatroniStatusTest {

  /** Patroni 3.0.2 on a primary (Debian 12's Patroni, PostgreSQL 15), with one streaming replica. */
  static final String PRIMARY_302 = """
      {"state": "running", "postmaster_start_time": "2024-05-02 10:11:12.123456+00:00", "role": "master",
       "server_version": 150010, "xlog": {"location": 50331968}, "timeline": 2,
       "replication": [{"usename": "replicator", "application_name": "pg2", "client_addr": "127.0.0.1",
                        "state": "streaming", "sync_state": "async", "sync_priority": 0}],
       "dcs_last_seen": 1714644672, "database_system_identifier": "7364523458634567890",
       "patroni": {"version": "3.0.2", "scope": "cutover-demo"}}""";

  /** Patroni 3.0.2 on a replica: no replication_state. */
  static final String REPLICA_302 = """
      {"state": "running", "postmaster_start_time": "2024-05-02 10:11:14.5+00:00", "role": "replica",
       "server_version": 150010,
       "xlog": {"received_location": 50331968, "replayed_location": 50331800, "replayed_timestamp": null, "paused": false},
       "timeline": 2, "dcs_last_seen": 1714644673, "database_system_identifier": "7364523458634567890",
       "patroni": {"version": "3.0.2", "scope": "cutover-demo"}}""";

  /** A replica's answer exactly as Debian 12's Patroni 3.0.2 (PostgreSQL 15) wrote it, byte for byte. */
  static final String CAPTURED_REPLICA_302 = "{\"state\": \"running\", \"postmaster_start_time\": \"2026-12-03 "
      + "11:43:51.019478+00:00\", \"role\": \"replica\", \"server_version\": 150018, \"xlog\": {\"received_location\": "
      + "67109704, \"replayed_location\": 67109704, \"replayed_timestamp\": null, \"paused\": false}, \"timeline\": 3, "
      + "\"dcs_last_seen\": 1796298256, \"database_system_identifier\": \"7715042137370371573\", \"patroni\": "
      + "{\"version\": \"3.0.2\", \"scope\": \"cutover-demo\"}}";

  static String replica(String version, String replicationState) {
    return """
        {"state": "running", "postmaster_start_time": "2024-05-02 10:11:14.5+00:00", "role": "replica",
         "server_version": 160002,
         "xlog": {"received_location": 83886240, "replayed_location": 83886240, "replayed_timestamp": null, "paused": false},
         "timeline": 5, %s"dcs_last_seen": 1714644673,
         "patroni": {"version": "%s", "scope": "batman", "name": "pg3"}}"""
        .formatted(replicationState == null ? "" : "\"replication_state\": \"" + replicationState + "\", ", version);
  }

  /** A member whose PostgreSQL is not running: Patroni answers 200 with the state and the role it remembers. */
  static String notRunning(String state, String role) {
    return """
        {"state": "%s", "role": "%s", "dcs_last_seen": 1714644680, "database_system_identifier": "7364523458634567890",
         "patroni": {"version": "3.0.2", "scope": "cutover-demo"}}""".formatted(state, role);
  }

  private static Observation observe(int status, String body) {
    return PatroniStatus.observe("pg1", 1000, 7, status, body);
  }

  private static void assertFailed(String error, Observation o) {
    assertFalse(o.ok());
    assertEquals(FailureKind.ERROR, o.failure());
    assertEquals(error, o.error());
    assertEquals(Role.UNKNOWN, o.role());
  }

  @Test
  void aPatroni3PrimaryIsAPrimaryWithItsTimelineAndCurrentWalPosition() {
    Observation o = observe(200, PRIMARY_302);
    assertTrue(o.ok(), o.error());
    assertEquals(Role.PRIMARY, o.role());
    assertEquals(2, o.timeline());
    assertEquals(50331968, o.currentLsn());
    assertEquals(-1, o.receiveLsn());
    assertEquals(-1, o.replayLsn());
    assertEquals(50331968, o.positionLsn());
    assertNull(o.receiver());
    assertEquals("pg1", o.target());
    assertEquals(1000, o.atMillis());
    assertEquals(7, o.latencyMillis());
    assertEquals(new PatroniFlags(false, false), o.patroni());
  }

  @Test
  void aPatroni4PrimarySaysPrimaryAndLeaderIsAcceptedToo() {
    String v4 = PRIMARY_302.replace("\"master\"", "\"primary\"").replace("3.0.2", "4.0.4");
    assertEquals(Role.PRIMARY, observe(200, v4).role());
    assertEquals(Role.PRIMARY, observe(200, PRIMARY_302.replace("\"master\"", "\"leader\"")).role());
  }

  @Test
  void aPatroni302ReplicaHasBothPositionsAndAnUnreportedReceiverThatCountsAsStreaming() {
    Observation o = observe(200, REPLICA_302);
    assertTrue(o.ok(), o.error());
    assertEquals(Role.REPLICA, o.role());
    assertEquals(2, o.timeline());
    assertEquals(50331968, o.receiveLsn());
    assertEquals(50331800, o.replayLsn());
    assertEquals(-1, o.currentLsn());
    assertEquals(Observation.UNREPORTED, o.receiver());
    assertTrue(o.streaming());
  }

  @Test
  void aCapturedPatroni302ReplicaAnswer() {
    Observation o = observe(200, CAPTURED_REPLICA_302);
    assertTrue(o.ok(), o.error());
    assertEquals(Role.REPLICA, o.role());
    assertEquals(3, o.timeline());
    assertEquals(67109704, o.receiveLsn());
    assertEquals(67109704, o.replayLsn());
    assertEquals(Observation.UNREPORTED, o.receiver());
    assertEquals(new PatroniFlags(false, false), o.patroni());
  }

  @Test
  void newerPatroniReportsTheReceiverAndItsAbsenceMeansNoneRuns() {
    Observation streaming = observe(200, replica("3.0.4", "streaming"));
    assertEquals("streaming", streaming.receiver());
    assertTrue(streaming.streaming());
    assertEquals(5, streaming.timeline());
    assertEquals(83886240, streaming.receiveLsn());
    Observation archive = observe(200, replica("3.3.2", "in archive recovery"));
    assertTrue(archive.ok());
    assertEquals("in archive recovery", archive.receiver());
    assertFalse(archive.streaming());
    Observation none = observe(200, replica("4.0.4", null));
    assertTrue(none.ok());
    assertNull(none.receiver(), "3.0.4+ leaves replication_state out when no receiver runs");
    assertFalse(none.streaming());
    assertEquals(Observation.UNREPORTED, observe(200, replica("3.0.3", null)).receiver());
    assertEquals(Observation.UNREPORTED, observe(200, replica("3.0.4", null).replace("160002", "90500")).receiver(),
        "before PostgreSQL 9.6 Patroni cannot see the receiver");
    assertEquals(Observation.UNREPORTED, observe(200, replica("unknown", null)).receiver());
    assertEquals(Observation.UNREPORTED, observe(200, replica("3.0.4", null).replace("\"patroni\"", "\"other\"")).receiver());
  }

  @Test
  void aStandbyLeaderIsAReplica() {
    Observation o = observe(200, replica("3.0.2", null).replace("\"replica\"", "\"standby_leader\""));
    assertTrue(o.ok());
    assertEquals(Role.REPLICA, o.role());
    assertEquals(83886240, o.replayLsn());
  }

  @Test
  void everyStateButRunningFailsTheCheckWithTheStateAsTheReason() {
    for (String state : new String[] {"starting", "stopped", "stopping", "crashed", "restarting", "start failed",
        "running custom bootstrap script", "restarting after failure", "creating replica", "initializing new cluster",
        "unknown", "Running", ""}) {
      Observation o = observe(200, notRunning(state, "replica"));
      assertFailed("Patroni reports state '" + state + "'", o);
      assertEquals(new PatroniFlags(false, false), o.patroni(), state);
    }
    assertFailed("Patroni reports state 'stopped'", observe(200, notRunning("stopped", "master")));
  }

  @Test
  void pauseAndClusterUnlockedAreReadFromEveryAnswer() {
    Observation paused = observe(200, PRIMARY_302.replace("\"dcs_last_seen\"", "\"pause\": true, \"dcs_last_seen\""));
    assertTrue(paused.ok());
    assertEquals(new PatroniFlags(true, false), paused.patroni());
    Observation unlocked = observe(200, REPLICA_302.replace("\"dcs_last_seen\"", "\"cluster_unlocked\": true, \"dcs_last_seen\""));
    assertEquals(new PatroniFlags(false, true), unlocked.patroni());
    Observation stoppedInPause = observe(200, notRunning("stopped", "master")
        .replace("\"dcs_last_seen\"", "\"pause\": true, \"cluster_unlocked\": true, \"dcs_last_seen\""));
    assertFalse(stoppedInPause.ok());
    assertEquals(new PatroniFlags(true, true), stoppedInPause.patroni(), "a failed check still carries the flags");
    assertEquals(new PatroniFlags(false, false),
        observe(200, PRIMARY_302.replace("\"dcs_last_seen\"", "\"pause\": \"yes\", \"dcs_last_seen\"")).patroni(),
        "only a JSON true sets a flag");
  }

  @Test
  void missingOrNullFieldsAreUnknownNotFailures() {
    Observation noXlog = observe(200, "{\"state\": \"running\", \"role\": \"replica\"}");
    assertTrue(noXlog.ok());
    assertEquals(-1, noXlog.timeline());
    assertEquals(-1, noXlog.receiveLsn());
    assertEquals(-1, noXlog.replayLsn());
    assertEquals(Observation.UNREPORTED, noXlog.receiver(), "no Patroni version: cannot tell, vouched for");
    Observation nulls = observe(200, "{\"state\": \"running\", \"role\": \"replica\", \"timeline\": null,"
        + " \"xlog\": {\"received_location\": null, \"replayed_location\": 100}}");
    assertEquals(-1, nulls.timeline());
    assertEquals(-1, nulls.receiveLsn());
    assertEquals(100, nulls.replayLsn());
    Observation oddTypes = observe(200, "{\"state\": \"running\", \"role\": \"master\", \"timeline\": \"2\","
        + " \"xlog\": {\"location\": 1.5}}");
    assertTrue(oddTypes.ok());
    assertEquals(-1, oddTypes.timeline());
    assertEquals(-1, oddTypes.currentLsn());
    assertEquals(-1, observe(200, "{\"state\": \"running\", \"role\": \"master\", \"xlog\": [1]}").currentLsn());
    assertEquals(-1, observe(200, "{\"state\": \"running\", \"role\": \"master\", \"xlog\": {\"location\": -5}}").currentLsn());
    assertEquals(new PatroniFlags(false, false), observe(200, "{\"state\": \"running\", \"role\": \"master\"}").patroni(),
        "absent flags are not set");
  }

  @Test
  void aMissingOrUnknownRoleFailsTheCheck() {
    assertFailed("Patroni reports no role", observe(200, "{\"state\": \"running\"}"));
    assertFailed("Patroni reports role 'uninitialized'", observe(200, "{\"state\": \"running\", \"role\": \"uninitialized\"}"));
    assertFailed("Patroni reports role 'demoted'", observe(200, "{\"state\": \"running\", \"role\": \"demoted\"}"));
    assertFailed("Patroni reports no role", observe(200, "{\"state\": \"running\", \"role\": 1}"));
    assertFailed("Patroni reports no state", observe(200, "{\"role\": \"master\"}"));
    assertFailed("Patroni reports no state", observe(200, "{\"state\": 1, \"role\": \"master\"}"));
  }

  @Test
  void anHttpStatusOtherThan200FailsTheCheckNamingTheStatus() {
    assertFailed("GET /patroni answered HTTP 503 (state 'stopped')", observe(503, notRunning("stopped", "replica")));
    assertFailed("GET /patroni answered HTTP 503", observe(503, PRIMARY_302.replace("running", "")
        .replace("\"state\": \"\",", "")));
    assertFailed("GET /patroni answered HTTP 401", observe(401, "no auth header received"));
    assertFailed("GET /patroni answered HTTP 404", observe(404, null));
    assertFailed("GET /patroni answered HTTP 500 (state 'running')", observe(500, PRIMARY_302));
  }

  @Test
  void garbageIsAnErrorQuotingTheStartOfTheBody() {
    assertFailed("GET /patroni answered with no JSON object: '<html><body>502 Bad Gateway</body></html>'",
        observe(200, "<html><body>502 Bad Gateway</body></html>\n"));
    assertFailed("GET /patroni answered with no JSON object: '[\"state\", \"running\"]'", observe(200, "[\"state\", \"running\"]"));
    assertFailed("GET /patroni answered with no JSON object: '\"running\"'", observe(200, "\"running\""));
    assertFailed("GET /patroni answered with no JSON object: (empty)", observe(200, ""));
    assertFailed("GET /patroni answered with no JSON object: (empty)", observe(200, null));
    assertFailed("GET /patroni answered with no JSON object: (empty)", observe(200, " \n "));
    assertFailed("GET /patroni answered with no JSON object: '{\"state\": \"running\", \"role\": \"mas'",
        observe(200, "{\"state\": \"running\", \"role\": \"mas"));
    Observation long_ = observe(200, "x".repeat(500));
    assertEquals("GET /patroni answered with no JSON object: '" + "x".repeat(57) + "...'", long_.error());
    assertNull(observe(200, "garbage").patroni(), "no flags without a JSON object");
  }

  @Test
  void versionsCompareNumerically() {
    int[] min = PatroniStatus.REPORTS_RECEIVER_FROM;
    assertFalse(PatroniStatus.atLeast("3.0.2", min));
    assertFalse(PatroniStatus.atLeast("3.0.3", min));
    assertFalse(PatroniStatus.atLeast("2.1.9", min));
    assertFalse(PatroniStatus.atLeast("3", min));
    assertTrue(PatroniStatus.atLeast("3.0.4", min));
    assertTrue(PatroniStatus.atLeast("3.0.10", min));
    assertTrue(PatroniStatus.atLeast("3.1", min));
    assertTrue(PatroniStatus.atLeast("4.0.0rc1", min));
    assertTrue(PatroniStatus.atLeast("10.0.0", min));
    assertFalse(PatroniStatus.atLeast("v4", min));
    assertFalse(PatroniStatus.atLeast("", min));
    assertFalse(PatroniStatus.atLeast(null, min));
  }
}
