// The operator's page: loads the state from the public API once, then follows GET /api/v1/events (Server-Sent
// Events; the browser resumes with Last-Event-ID after a drop). Only on a "resync" event, or every 10 s while
// clustered (the other members' views are not in the stream), is /api/v1/cluster read again.
import * as render from "./render.js";
import * as actions from "./actions.js";

const KEEP = 50;
const state = {
  cluster: null, topology: null, openIncident: null, incidents: [], audit: [], decisions: [], sessions: null,
  offsetMs: 0, // server time minus browser time, from the events' "at"
};

let dirty = false;
function draw() {
  if (dirty) return;
  dirty = true;
  requestAnimationFrame(() => {
    dirty = false;
    render.header(state);
    render.routes(state);
    render.targets(state);
    render.incident(state, Date.now() + state.offsetMs);
    render.history(state);
    render.decisions(state);
    render.audit(state);
    render.cluster(state);
    actions.render(state);
  });
}

async function getJson(path) {
  const res = await fetch(path, { cache: "no-store", credentials: "omit" });
  if (!res.ok) throw new Error(path + ": HTTP " + res.status);
  return res.json();
}

/** An incident's outcome is "open" until it ends (completed, aborted, recovered, ...). */
function isClosed(i) {
  return !!(i && ((i.outcome && i.outcome !== "open") || (i.timeline && i.timeline.closed)));
}

function remember(incident) {
  const n = state.incidents.findIndex((i) => i.id === incident.id);
  if (n >= 0) state.incidents[n] = incident; else state.incidents.unshift(incident);
  state.incidents.sort((a, b) => b.id - a.id);
  state.incidents.length = Math.min(state.incidents.length, KEEP);
}

async function load() {
  try {
    const [cluster, incidents, audit] = await Promise.all([
      getJson("api/v1/cluster"), getJson("api/v1/incidents?limit=" + KEEP), getJson("api/v1/audit?limit=" + KEEP)]);
    state.cluster = cluster;
    state.topology = cluster.topology;
    state.sessions = cluster.sessions;
    state.decisions = cluster.decisions || [];
    state.openIncident = cluster.open_incident && !isClosed(cluster.open_incident) ? cluster.open_incident : null;
    state.incidents = incidents.incidents || [];
    state.audit = audit.audit || [];
    document.getElementById("load-error").hidden = true;
  } catch (e) {
    const p = document.getElementById("load-error");
    p.hidden = false;
    p.textContent = "Cutover's API did not answer (" + e.message + "); retrying with the event stream.";
  }
  draw();
}

async function refreshCluster() {
  try {
    const cluster = await getJson("api/v1/cluster");
    state.cluster = cluster;
    draw();
  } catch (e) {
    // the stream's state shows the connection; the next refresh tries again
  }
}

function onEvent(ev) {
  const at = Date.parse(ev.at);
  if (!isNaN(at)) state.offsetMs = at - Date.now();
  switch (ev.type) {
    case "topology":
      state.topology = ev.topology;
      if (state.cluster) state.cluster.topology = ev.topology;
      break;
    case "incident":
      if (ev.step === "closed" || isClosed(ev.incident)) {
        if (state.openIncident && state.openIncident.id === ev.incident.id) state.openIncident = null;
        remember(ev.incident);
      } else {
        state.openIncident = ev.incident;
      }
      break;
    case "decision":
      state.decisions.push({ at: ev.at, level: ev.level, reason: ev.reason });
      if (state.decisions.length > KEEP) state.decisions.shift();
      break;
    case "audit":
      state.audit.unshift(ev.entry);
      state.audit.length = Math.min(state.audit.length, KEEP);
      // maintenance and mode live in /api/v1/cluster: an accepted command may have changed them
      if (ev.entry && ev.entry.status === 200) refreshCluster();
      break;
    case "sessions":
      state.sessions = { write: ev.write, read: ev.read, by_target: ev.by_target };
      break;
    case "resync":
      load();
      return;
    default:
      return;
  }
  draw();
}

function follow() {
  render.stream("connecting");
  const source = new EventSource("api/v1/events");
  source.onopen = () => render.stream("live");
  source.onerror = () => {
    render.stream("reconnecting");
    if (source.readyState === EventSource.CLOSED) {
      // the browser gives up after an answer that is not a stream (e.g. 503 at the stream limit): start over
      // later, reading the state afresh since events were missed
      setTimeout(() => load().then(follow), 5000);
    }
  };
  source.onmessage = (m) => {
    let ev;
    try { ev = JSON.parse(m.data); } catch (e) { return; }
    onEvent(ev);
  };
}

actions.wire(() => state);
load().then(follow);
// the open incident's RTO bar moves with the clock, not only with events
setInterval(() => { if (state.openIncident) draw(); }, 250);
setInterval(() => { if (state.cluster && state.cluster.cluster && state.cluster.cluster.enabled) refreshCluster(); }, 10000);
