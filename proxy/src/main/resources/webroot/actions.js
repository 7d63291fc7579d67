// The actions: each asks for confirmation, sends the admin API call with the bearer token the operator typed (kept
// in this tab's sessionStorage only: never in a URL, a cookie or localStorage) and shows the API's JSON answer.
const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "cutover.admin_token";

/** Asks in the page's own dialog; resolves true on Confirm. */
function confirmAction(text) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  return new Promise((resolve) => {
    const done = (ok) => {
      $("confirm-ok").onclick = null;
      $("confirm-cancel").onclick = null;
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(ok);
    };
    $("confirm-ok").onclick = () => done(true);
    $("confirm-cancel").onclick = () => done(false);
    dialog.onclose = () => done(false);
    dialog.showModal();
  });
}

function showResult(what, status, body) {
  const box = $("action-result");
  box.hidden = false;
  box.dataset.ok = String(status >= 200 && status < 300);
  box.dataset.status = String(status);
  box.dataset.seq = String(Number(box.dataset.seq || 0) + 1); // one more answer shown
  let line = what + ": HTTP " + status;
  if (body && body.error) line += " " + body.error + (body.detail ? ": " + body.detail : "");
  if (status === 401) line += " — check the admin token";
  $("action-status").textContent = line;
  $("action-body").textContent = body === undefined ? "" : JSON.stringify(body, null, 2);
}

async function send(what, path, body) {
  const token = $("token").value.trim();
  if (!token) {
    showResult(what, 401, { error: "unauthorized", detail: "type the admin token first" });
    return;
  }
  try {
    const res = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: JSON.stringify(body || {}),
      cache: "no-store",
      credentials: "omit",
    });
    let json;
    try { json = await res.json(); } catch (e) { json = { error: "not JSON", detail: res.statusText }; }
    showResult(what, res.status, json);
  } catch (e) {
    showResult(what, 0, { error: "unreachable", detail: "Cutover did not answer: " + e.message });
  }
}

async function act(text, what, path, body) {
  if (await confirmAction(text)) {
    await send(what, path, body);
  }
}

/** Wires the forms once; {@code current} returns the page's state. */
export function wire(current) {
  const token = $("token");
  token.value = sessionStorage.getItem(TOKEN_KEY) || "";
  token.addEventListener("input", () => sessionStorage.setItem(TOKEN_KEY, token.value));
  $("token-forget").addEventListener("click", () => { token.value = ""; sessionStorage.removeItem(TOKEN_KEY); });

  $("form-switchover").addEventListener("submit", (e) => {
    e.preventDefault();
    const c = $("switchover-candidate").value;
    const t = current().topology;
    act("Switch over from " + ((t && t.primary) || "the primary") + " to " + c + "? Writes pause while " + c
      + " catches up and is promoted; the old primary becomes a replica.", "switchover " + c, "api/v1/switchover", { candidate: c });
  });
  $("form-failover").addEventListener("submit", (e) => {
    e.preventDefault();
    const c = $("failover-candidate").value;
    act("Fail over now" + (c ? " to " + c : " to the best replica") + "? The current primary is fenced: "
      + "writes it took that no replica received are lost.", "failover", "api/v1/failover", c ? { candidate: c } : {});
  });
  $("form-maintenance").addEventListener("submit", (e) => {
    e.preventDefault();
    const on = e.submitter && e.submitter.value === "on";
    const reason = $("maintenance-reason").value.trim();
    act(on ? "Turn maintenance on? No automatic failover happens until it is turned off."
      : "Turn maintenance off? Automatic failover resumes.", "maintenance " + (on ? "on" : "off"), "api/v1/maintenance",
    reason ? { enabled: on, reason } : { enabled: on });
  });
  $("form-drain").addEventListener("submit", (e) => {
    e.preventDefault();
    const target = $("drain-target").value;
    const enable = e.submitter && e.submitter.value === "enable";
    const after = $("drain-close-after").value.trim();
    if (enable) {
      act("Enable " + target + " again (end its drain and failback hold)?", "enable " + target,
        "api/v1/targets/" + encodeURIComponent(target) + "/enable", {});
    } else {
      act("Drain " + target + "? No new session is routed to it" + (after ? "; its sessions are closed after " + after : "")
        + ".", "drain " + target, "api/v1/targets/" + encodeURIComponent(target) + "/drain", after ? { close_after: after } : {});
    }
  });
}

/** The targets as options, UP ones first, a DOWN one saying so. */
function options(select, targets, keepFirst) {
  const sorted = targets.slice().sort((a, b) => (a.state === "up" ? 0 : 1) - (b.state === "up" ? 0 : 1));
  const labels = sorted.map((t) => t.name + (t.state === "up" ? "" : " (" + String(t.state).toUpperCase() + ")"));
  const fixed = keepFirst ? [select.options[0]] : [];
  const now = [...select.options].slice(fixed.length).map((o) => o.textContent);
  if (now.length === labels.length && now.every((v, i) => v === labels[i])) return; // an open list stays open
  const chosen = select.value;
  const opts = sorted.map((t, i) => { const o = document.createElement("option"); o.value = t.name; o.textContent = labels[i]; return o; });
  select.replaceChildren(...fixed, ...opts);
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

/** Keeps the selects in step with the topology and explains when actions cannot be used. */
export function render(state) {
  const t = state.topology;
  if (t) {
    const replicas = t.targets.filter((x) => x.name !== t.primary);
    options($("switchover-candidate"), replicas, false);
    options($("failover-candidate"), replicas, true);
    options($("drain-target"), t.targets, false);
  }
  const c = state.cluster || {};
  const configured = !c.admin || c.admin.token_configured !== false;
  const note = $("actions-disabled");
  let why = "";
  if (!configured) {
    why = "Actions are disabled: no admin token is configured. Set admin.token in Cutover's configuration or the "
      + "CUTOVER_ADMIN_TOKEN environment variable (at least 16 characters): a reload (SIGHUP, systemctl reload cutover) applies admin.token, the variable needs a restart. Everything else on this page works without it.";
  } else if (c.mode === "follow") {
    why = "Failover mode follow: the cluster manager (e.g. Patroni) promotes; switchover and failover are done there. "
      + "Maintenance and drain/enable work here.";
  }
  note.hidden = !why;
  note.textContent = why;
  $("actions-enabled").hidden = !configured;
  for (const id of ["form-switchover", "form-failover"]) {
    for (const b of $(id).querySelectorAll("button, select")) b.disabled = c.mode === "follow";
  }
}
