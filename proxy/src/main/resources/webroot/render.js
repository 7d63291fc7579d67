// Draws the state (see app.js) into the page. Data goes in as text only (format.el), never as HTML.
import { bytes, duration, clock, dateTime, stepName, el } from "./format.js";
import { incidentChart } from "./chart.js";

const $ = (id) => document.getElementById(id);

export function header(state) {
  const c = state.cluster || {};
  const inst = c.presence && c.presence.instance;
  $("instance").textContent = inst ? "instance " + inst.id + (inst.host ? " on " + inst.host : "") : "";
  $("mode").textContent = c.mode ? "failover mode " + c.mode : "";
  const m = c.maintenance || {};
  $("maintenance").hidden = !m.enabled;
  $("maintenance").textContent = m.enabled ? "maintenance" + (m.reason ? ": " + m.reason : "") : "";
  $("version").textContent = state.topology ? "topology v" + state.topology.version : "";
}

export function stream(status) {
  const s = $("stream");
  s.dataset.state = status;
  s.textContent = { live: "live", connecting: "connecting…", reconnecting: "reconnecting…" }[status] || status;
}

export function routes(state) {
  const t = state.topology;
  if (!t) return;
  const w = $("route-write-to");
  w.textContent = t.primary || "none";
  w.dataset.none = String(!t.primary);
  $("route-write-reason").textContent = t.primary ? (t.cutover ? "(" + t.cutover + ")" : "") : (t.write_reason || "");
  const r = $("route-read-to");
  const readable = t.readable || [];
  r.textContent = readable.length ? readable.join(", ") : "none";
  r.dataset.none = String(readable.length === 0);
  $("route-read-reason").textContent = t.read_reason || (readable.length ? "round-robin" : "");
}

export function targets(state) {
  const t = state.topology;
  if (!t) return;
  const checks = (state.cluster && state.cluster.checks) || { fall: 3, rise: 2 };
  const sessions = (state.sessions && state.sessions.by_target) || {};
  const box = $("targets");
  box.replaceChildren(...t.targets.map((x) => targetCard(x, t, checks, sessions[x.name])));
}

function targetCard(x, t, checks, sessions) {
  const card = el("div", "target");
  card.dataset.target = x.name;
  card.dataset.state = x.state;
  card.dataset.role = x.role;
  const head = el("div", "head");
  head.append(el("span", "name", x.name), el("span", "role", x.role), el("span", "state", String(x.state).toUpperCase()));
  card.append(head);

  // HAProxy's health counter: 0..rise-1 is DOWN, rise..rise+fall-1 is UP; one segment per step
  const steps = checks.rise + checks.fall - 1;
  const bar = el("div", "health");
  bar.dataset.state = x.state;
  bar.title = x.health === null || x.health === undefined ? "not checked yet"
    : "health " + x.health + "/" + steps + " (fall " + checks.fall + ", rise " + checks.rise + ")";
  for (let i = 1; i <= steps; i++) {
    const seg = el("span", i <= (x.health || 0) ? "on" + (x.state === "up" && x.health < steps ? " low" : "") : "");
    bar.append(seg);
  }
  card.append(bar);

  const flags = el("div", "flags");
  if (t.primary === x.name) flags.append(flag("routed", "write"));
  if ((t.readable || []).includes(x.name)) flags.append(flag("routed", "read"));
  if (x.fenced) flags.append(flag("fenced", "fenced"));
  if (x.drained) flags.append(flag("drained", "drained"));
  if (x.hold) flags.append(flag("held", "held"));
  card.append(flags);

  const dl = el("dl");
  const row = (k, v, cls) => {
    const dd = el("dd", cls, v);
    dd.dataset.field = k;
    dl.append(el("dt", null, k), dd);
  };
  row("address", x.host + ":" + x.port);
  row("replay lag", x.role === "primary" ? "– (primary)" : bytes(x.lag_bytes));
  row("timeline", x.timeline === null || x.timeline === undefined ? "–" : x.timeline);
  row("LSN", x.lsn || "–");
  row("sessions", sessions === undefined ? "–" : sessions);
  if (x.replication) row("replication", x.replication + (x.following === false ? " (not following the primary)" : ""));
  if (x.hold) row("held", x.hold);
  if (x.drain_close_at) row("drain closes", clock(x.drain_close_at));
  if (x.read_reason) row("not read", x.read_reason);
  if (x.last_error) row("last error", x.last_error, "error");
  card.append(dl);
  return card;
}

function flag(cls, text) {
  const f = el("span", "flag " + cls, text);
  f.dataset.flag = text;
  return f;
}

/** The open incident with its RTO bar; {@code now} is the server's time in ms. */
export function incident(state, now) {
  const i = state.openIncident;
  const section = $("incident");
  section.dataset.open = String(!!i);
  $("no-incident").hidden = !!i;
  $("incident-open").hidden = !i;
  if (!i) {
    const last = state.incidents[0];
    $("no-incident").textContent = last
      ? "No open incident. The last one (#" + last.id + ", " + last.kind + " " + dateTime(last.timeline && last.timeline.closed)
        + ") took " + duration(last.duration_ms) + ": RTO " + (last.rto_verdict || "–") + "."
      : "No open incident.";
    return;
  }
  section.dataset.incident = String(i.id);
  $("incident-kind").textContent = i.kind + " #" + i.id;
  const paused = state.topology && state.topology.failover_paused;
  $("incident-paused").hidden = !paused || !!i.new_primary;
  $("incident-paused").textContent = paused ? "No automatic failover: " + paused : "";
  $("incident-what").textContent = (i.old_primary || "?") + " → " + (i.new_primary || (paused ? "–" : "choosing…"))
    + (i.outcome && i.outcome !== "open" ? " (" + i.outcome + ")" : "");
  const tl = i.timeline || {};
  const start = Date.parse(tl.last_healthy);
  const end = tl.first_write_accepted ? Date.parse(tl.first_write_accepted) : now;
  const rto = i.rto_ms || (state.cluster && state.cluster.rto_target_ms) || 0;
  const elapsed = isNaN(start) ? 0 : Math.max(0, end - start);
  const ratio = rto > 0 ? elapsed / rto : 0;
  const fill = $("rto-fill");
  fill.style.width = Math.min(100, ratio * 100).toFixed(1) + "%";
  fill.dataset.level = ratio >= 1 ? "red" : ratio >= 0.75 ? "amber" : "ok";
  $("rto-text").textContent = duration(elapsed) + " of RTO " + duration(rto) + " (" + Math.round(ratio * 100) + " %)"
    + (ratio >= 1 ? " — breached" : "");
  const rpo = i.rpo || {};
  $("incident-rpo").textContent = "RPO exposure: " + (rpo.display || bytes(i.rpo_bytes)) + (rpo.basis ? " — " + rpo.basis : "");
  const steps = Object.entries(tl).filter(([, v]) => v).sort((a, b) => Date.parse(a[1]) - Date.parse(b[1]));
  $("incident-steps").replaceChildren(...steps.map(([k, v]) => {
    const li = el("li", null, stepName(k));
    li.dataset.step = k;
    const rel = isNaN(start) ? "" : " +" + duration(Math.max(0, Date.parse(v) - start));
    li.append(el("span", "at", clock(v, true) + rel));
    return li;
  }));
}

export function history(state) {
  const list = state.incidents.slice(0, 20);
  const box = $("incident-chart");
  box.replaceChildren(incidentChart(list.slice().reverse(), state.cluster && state.cluster.rto_target_ms, box.clientWidth));
  const rows = list.map((i) => {
    const tr = el("tr");
    tr.dataset.incident = String(i.id);
    const verdict = el("td", i.rto_verdict || "", i.rto_verdict || (i.outcome ? i.outcome : "open"));
    verdict.dataset.field = "verdict";
    tr.append(el("td", null, i.id), el("td", null, i.kind), el("td", null, (i.old_primary || "?") + " → " + (i.new_primary || "–")),
      el("td", null, dateTime(i.timeline && i.timeline.closed)), el("td", null, duration(i.duration_ms)),
      el("td", null, duration(i.rto_ms)), verdict, el("td", null, (i.rpo && i.rpo.display) || bytes(i.rpo_bytes)));
    return tr;
  });
  if (rows.length === 0) {
    const tr = el("tr");
    const td = el("td", "muted", "No incident recorded.");
    td.colSpan = 8;
    tr.append(td);
    rows.push(tr);
  }
  document.querySelector("#incidents tbody").replaceChildren(...rows);
}

/** A list's items, or one "none yet" line. */
function items(list, none) {
  return list.length ? list : [el("li", "muted", none)];
}

export function decisions(state) {
  $("decisions").replaceChildren(...items(state.decisions.slice().reverse().slice(0, 30).map((d) => {
    const li = el("li");
    li.dataset.level = d.level;
    li.append(el("span", "at", clock(d.at, true)), el("span", "level", d.level), document.createTextNode(" " + d.reason));
    return li;
  }), "No decision since Cutover started."));
}

export function audit(state) {
  $("audit").replaceChildren(...items(state.audit.slice(0, 30).map((a) => {
    const li = el("li");
    li.dataset.status = String(a.status);
    const args = a.arguments && Object.keys(a.arguments).length ? " " + JSON.stringify(a.arguments) : "";
    li.append(el("span", "at", clock(a.at)), el("strong", null, a.action + args),
      document.createTextNode(" → " + a.status + " " + a.outcome + " (" + a.remote + ")"));
    return li;
  }), "No admin call recorded."));
}

export function cluster(state) {
  const c = state.cluster && state.cluster.cluster;
  $("cluster").hidden = !(c && c.enabled);
  if (!c || !c.enabled) return;
  $("cluster-summary").textContent = c.size + " members, quorum " + c.quorum + "; this instance is "
    + (c.leader ? "the leader" : "a follower") + ", authority " + c.authority + (c.reason ? " (" + c.reason + ")" : "")
    + ", write lease " + c.write_lease;
  const views = c.member_views || (c.members || []).map((m) => ({ member: m.address }));
  document.querySelector("#members tbody").replaceChildren(...views.map((v) => {
    const tr = el("tr");
    tr.dataset.member = v.member;
    const t = v.topology || {};
    tr.append(el("td", null, v.member), el("td", null, v.leader ? "leader" : ""), el("td", null, v.error ? "error: " + v.error : v.authority || "–"),
      el("td", null, t.version === undefined ? "–" : t.version), el("td", null, t.primary || "–"), el("td", null, t.cutover || "–"));
    return tr;
  }));
}
