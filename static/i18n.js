// Message catalogues in static/i18n/<lang>.json. Only the reader's catalogue is loaded: every
// catalogue holds every key (tests/e2e/test_catalogues.py), and English is fetched only when
// the reader's own cannot be.

export const LANGUAGES = {
  en: "English",
  fr: "Français",
  de: "Deutsch",
  es: "Español",
  it: "Italiano",
  pl: "Polski",
};

const STORE_KEY = "twinrooms.lang";
let lang = "en";
let messages = {};
let plurals = new Intl.PluralRules("en");

export function pickLanguage() {
  const saved = localStorage.getItem(STORE_KEY);
  if (saved && saved in LANGUAGES) return saved;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (base in LANGUAGES) return base;
  }
  return "en";
}

async function fetchCatalogue(code) {
  // Relative to this module, so the catalogue comes from the same versioned path.
  const res = await fetch(new URL(`./i18n/${code}.json`, import.meta.url), { credentials: "same-origin" });
  if (!res.ok) throw new Error(`catalogue ${code}: ${res.status}`);
  return res.json();
}

export async function setLanguage(code, remember = false) {
  if (!(code in LANGUAGES)) code = "en";
  try {
    messages = await fetchCatalogue(code);
  } catch {
    code = "en";
    messages = await fetchCatalogue("en");
  }
  lang = code;
  plurals = new Intl.PluralRules(code);
  document.documentElement.lang = code;
  if (remember) localStorage.setItem(STORE_KEY, code);
}

export function currentLanguage() {
  return lang;
}

export function t(key, params = {}) {
  let text;
  if (typeof params.count === "number") {
    const k = `${key}.${plurals.select(params.count)}`;
    text = messages[k] ?? messages[`${key}.other`];
  }
  text = text ?? messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

function has(key) {
  return Object.hasOwn(messages, key);
}

// A time from an error's params, in the reader's zone and words: the clock alone when it is today.
function when(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const today = d.toDateString() === new Date().toDateString();
  const opts = today ? { timeStyle: "short" } : { dateStyle: "medium", timeStyle: "short" };
  return new Intl.DateTimeFormat(lang, opts).format(d);
}

function number(n) {
  return typeof n === "number" ? new Intl.NumberFormat(lang).format(n) : String(n ?? "");
}

// An `invalid` error's {field, rule, min, max, options} as one line in the reader's language.
function invalidText(params) {
  let rule = params.rule;
  if (rule === "range" && params.min === undefined) rule = "at_most";
  else if (rule === "range" && params.max === undefined) rule = "at_least";
  if (!rule || !has(`invalid.${rule}`)) return null;
  const field = params.field ? (has(`field.${params.field}`) ? t(`field.${params.field}`) : params.field) : "";
  const options = Array.isArray(params.options) ? params.options.join(", ") : "";
  return t(`invalid.${rule}`, { field, min: number(params.min), max: number(params.max), options });
}

// A human line for an ApiError or Socket.IO ack error, in the reader's language. The server's
// `reason` and `params` say what went wrong as data; its English `message` is the last resort.
export function errorText(err) {
  if (!err) return t("error.internal");
  const code = err.code || "internal";
  const reason = err.reason || code;
  const params = err.params || {};
  const wait = err.retryAfter || err.retry_after || params.retry_after;
  if (code === "rate_limited" && wait) return t("error.rate_limited_wait", { seconds: Math.ceil(wait) });
  if (code === "invalid") {
    const line = invalidText(params);
    if (line) return `${t("error.invalid")} ${line}`;
    return err.message ? `${t("error.invalid")} ${err.message}` : t("error.invalid");
  }
  if (reason !== code && has(`reason.${reason}`)) {
    const max = reason === "file_too_large" ? formatBytes(params.max) : number(params.max);
    return t(`reason.${reason}`, { until: params.until ? when(params.until) : "", max });
  }
  if (has(`error.${code}`)) return t(`error.${code}`);
  return err.message || t("error.internal");
}

// A size in bytes with the reader's units ("30 MB", "30 Mo" in French), by Intl's unit
// names; format.js shows file sizes through this too.
export function formatBytes(bytes) {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"];
  let v = Number(bytes) || 0;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  const opts = { style: "unit", unit: units[i], unitDisplay: "short", maximumFractionDigits: i ? 1 : 0 };
  return new Intl.NumberFormat(lang, opts).format(v);
}
