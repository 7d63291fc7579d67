// Formatting helpers: units the way an operator reads them. No DOM here.

/** Bytes in binary units: 0 B, 512 B, 1.5 KiB, 16 MiB. */
export function bytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = Number(n);
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(v < 10 ? 1 : 0)) + " " + units[i];
}

/** A duration in ms as 850 ms, 1.82 s, 2 min 05 s. */
export function duration(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return Math.round(ms) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
  const s = Math.round(ms / 1000);
  return Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s";
}

/** An ISO instant as local HH:MM:SS(.mmm). */
export function clock(iso, millis = false) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (isNaN(d)) return String(iso);
  const p = (n) => String(n).padStart(2, "0");
  const t = p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds());
  return millis ? t + "." + String(d.getMilliseconds()).padStart(3, "0") : t;
}

/** An ISO instant as local YYYY-MM-DD HH:MM:SS (unambiguous in every locale). */
export function dateTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (isNaN(d)) return String(iso);
  const p = (n) => String(n).padStart(2, "0");
  return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + " " + clock(iso);
}

/** The incident timeline's step names in words. */
export function stepName(key) {
  return String(key).replaceAll("_", " ");
}

/** An element with optional class and text: the only way the page puts data in the DOM (never as HTML). */
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
