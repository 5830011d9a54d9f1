// Times in the reader's own zone and language; sizes; country flags.
import { currentLanguage, formatBytes } from "./i18n.js";

const cache = new Map();
function formatter(kind) {
  const key = `${currentLanguage()}:${kind}`;
  if (!cache.has(key)) {
    const opts = {
      datetime: { dateStyle: "medium", timeStyle: "short" },
      time: { timeStyle: "short" },
      date: { dateStyle: "medium" },
    }[kind];
    cache.set(key, new Intl.DateTimeFormat(currentLanguage(), opts));
  }
  return cache.get(key);
}

export function formatTime(iso, kind = "datetime") {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  // Today's chat messages only need the clock; older ones get the date too.
  if (kind === "smart") {
    const today = new Date().toDateString() === d.toDateString();
    return formatter(today ? "time" : "datetime").format(d);
  }
  return formatter(kind).format(d);
}

export function timeElement(iso, kind = "datetime") {
  const el = document.createElement("time");
  el.dateTime = iso || "";
  el.textContent = formatTime(iso, kind);
  if (iso) el.title = formatTime(iso, "datetime");
  return el;
}

export function formatSize(bytes) {
  return formatBytes(bytes);
}

// "FR" -> the two regional indicator symbols that systems draw as a flag; else "".
export function flag(country) {
  const code = String(country || "").trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(code)) return "";
  return String.fromCodePoint(...[...code].map((c) => 0x1f1a5 + c.charCodeAt(0)));
}

// Some systems (Windows, or no colour emoji font) draw a flag as two letters or two boxes.
// Measuring whether the pair joins into one glyph tells us; if not, we show the code.
let flagsDrawn = null;
export function flagsSupported() {
  if (flagsDrawn === null) {
    try {
      const ctx = document.createElement("canvas").getContext("2d");
      ctx.font = "32px sans-serif";
      const pair = ctx.measureText(flag("FR")).width;
      const one = ctx.measureText(String.fromCodePoint(0x1f1eb)).width;
      flagsDrawn = pair > 0 && pair < one * 1.5;
    } catch {
      flagsDrawn = false;
    }
  }
  return flagsDrawn;
}

export function countryName(country) {
  const code = String(country || "").trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(code)) return "";
  try {
    return new Intl.DisplayNames([currentLanguage()], { type: "region" }).of(code) || code;
  } catch {
    return code;
  }
}

export function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/).slice(0, 2);
  return parts.map((p) => p[0] || "").join("").toUpperCase() || "?";
}
