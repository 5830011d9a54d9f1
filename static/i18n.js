// Message catalogues in static/i18n/<lang>.json. English is always loaded too,
// so a key missing from a translation falls back to English, never to a blank.

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
let fallback = {};
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
  const res = await fetch(`/static/i18n/${code}.json`, { credentials: "same-origin" });
  if (!res.ok) throw new Error(`catalogue ${code}: ${res.status}`);
  return res.json();
}

export async function setLanguage(code, remember = false) {
  if (!(code in LANGUAGES)) code = "en";
  if (!Object.keys(fallback).length) fallback = await fetchCatalogue("en");
  messages = code === "en" ? fallback : await fetchCatalogue(code).catch(() => fallback);
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
    text = messages[k] ?? fallback[k] ?? messages[`${key}.other`] ?? fallback[`${key}.other`];
  }
  text = text ?? messages[key] ?? fallback[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

// A human line for an ApiError or Socket.IO ack error, in the user's language.
export function errorText(err) {
  if (!err) return t("error.internal");
  const code = err.code || "internal";
  const known = messages[`error.${code}`] ?? fallback[`error.${code}`];
  const wait = err.retryAfter || err.retry_after;
  if (code === "rate_limited" && wait) return t("error.rate_limited_wait", { seconds: Math.ceil(wait) });
  if (code === "invalid" && err.message) return `${t("error.invalid")} ${err.message}`;
  return known || err.message || t("error.internal");
}
