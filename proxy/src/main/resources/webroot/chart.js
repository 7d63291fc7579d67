// The recent incidents as an SVG bar chart: one bar per incident (oldest left), its height the time from the last
// healthy check to the first write accepted, coloured by its RTO verdict, and the RTO target as a dashed line.
import { duration } from "./format.js";

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

/** @param incidents oldest first; @param rtoMs the configured RTO target in ms */
export function incidentChart(incidents, rtoMs, width) {
  const W = Math.max(300, Math.round(width || 900)), H = incidents.length ? 170 : 70, left = 56, bottom = 22, top = 10;
  const root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "incident durations against the RTO" });
  const rto = rtoMs || 0;
  const max = Math.max(rto * 1.25, ...incidents.map((i) => i.duration_ms || 0), 1000);
  const y = (ms) => H - bottom - (ms / max) * (H - bottom - top);
  root.append(svg("line", { x1: left, x2: W, y1: H - bottom, y2: H - bottom, stroke: "currentColor", "stroke-opacity": 0.3 }));
  root.append(svg("text", { x: 4, y: y(0) }, "0"));
  if (incidents.length) root.append(svg("text", { x: 4, y: top + 8 }, duration(max)));
  if (rto > 0 && incidents.length) {
    root.append(svg("line", { class: "rto-line", x1: left, x2: W, y1: y(rto), y2: y(rto) }));
    root.append(svg("text", { x: 4, y: y(rto) + 4 }, "RTO " + duration(rto)));
  }
  if (incidents.length === 0) {
    root.append(svg("text", { x: left + 10, y: H / 2 }, "no incident yet: each will be a bar, last healthy check → first write accepted, against the RTO line"));
    return root;
  }
  const slot = Math.min(60, (W - left) / incidents.length);
  incidents.forEach((i, n) => {
    const d = i.duration_ms;
    const x = left + n * slot + slot * 0.15;
    const cls = i.rto_verdict === "met" ? "bar-met" : i.rto_verdict === "breached" ? "bar-breached" : "bar-other";
    const h = d === null || d === undefined ? 2 : Math.max(2, H - bottom - y(d));
    const bar = svg("rect", { class: cls, x, y: H - bottom - h, width: slot * 0.7, height: h, "data-incident": i.id });
    bar.append(svg("title", {}, "#" + i.id + " " + i.kind + " " + (i.old_primary || "?") + " → " + (i.new_primary || "–") + ": "
      + duration(d) + " (" + (i.rto_verdict || i.outcome || "open") + ")"));
    root.append(bar);
    root.append(svg("text", { x: x + slot * 0.35, y: H - 6, "text-anchor": "middle" }, "#" + i.id));
  });
  return root;
}
