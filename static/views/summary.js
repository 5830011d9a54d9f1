// What the server stores in English but the reader should get in their own words: a session
// summary (sent as data beside its English Markdown, `summary` on the thread and its post),
// the default session title (`title_default`) and the room's chat thread (`kind: "chat"`).
// Times are shown in the reader's zone, names and chat lines as their authors typed them.
import { h } from "../dom.js";
import { countryName } from "../format.js";
import { currentLanguage, t } from "../i18n.js";

export function sessionTitle(s) {
  if (!s) return "";
  return s.title_default ? t("sessions.default_title") : s.title;
}

export function threadTitle(th) {
  if (!th) return "";
  if (th.kind === "chat") return t("chat.thread");
  if (th.summary) return t("summary.thread_title", { title: sessionTitle(th.summary), date: format(th.summary.started_at, { dateStyle: "medium" }) });
  return th.title;
}

function date(iso) {
  const d = new Date(iso || 0);
  return Number.isNaN(d.getTime()) ? new Date(0) : d;
}

function format(iso, opts) {
  return new Intl.DateTimeFormat(currentLanguage(), opts).format(date(iso));
}

// A span of time as one <time> element: the clock alone when it starts on `day` (the session's
// first day in the reader's zone) and ends the same day, the dates too otherwise.
function span(from, to, day) {
  const a = date(from);
  const b = date(to);
  const sameDay = a.toDateString() === day && b.toDateString() === day;
  const opts = sameDay ? { timeStyle: "short" } : { dateStyle: "medium", timeStyle: "short" };
  const fmt = new Intl.DateTimeFormat(currentLanguage(), opts);
  const text = typeof fmt.formatRange === "function" ? fmt.formatRange(a, b) : `${fmt.format(a)} – ${fmt.format(b)}`;
  return h("span", { class: "summary-span" }, text);
}

function clock(iso, day) {
  const d = date(iso);
  const opts = d.toDateString() === day ? { timeStyle: "short" } : { dateStyle: "short", timeStyle: "short" };
  return h("time", { datetime: iso }, new Intl.DateTimeFormat(currentLanguage(), opts).format(d));
}

function duration(seconds) {
  const total = Math.max(0, Math.round(Number(seconds) || 0));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  // Past an hour, the minutes are enough; a session shorter than a second still says "0 s".
  const parts = { hours, minutes, seconds: hours ? 0 : total % 60 };
  const units = [["hours", "hour"], ["minutes", "minute"], ["seconds", "second"]].filter(([key]) => parts[key]);
  if (!units.length) units.push(["seconds", "second"]);
  if (typeof Intl.DurationFormat === "function") {
    const shown = Object.fromEntries(units.map(([key]) => [key, parts[key]]));
    const text = new Intl.DurationFormat(currentLanguage(), { style: "short" }).format(shown);
    if (text) return text;
  }
  return units.map(([key, unit]) => new Intl.NumberFormat(currentLanguage(), { style: "unit", unit, unitDisplay: "short" }).format(parts[key])).join(" ");
}

function list(items, empty) {
  return items.length ? h("ul", {}, items) : h("p", { class: "muted" }, empty);
}

// The summary post's body in the reader's language and zone (the English Markdown is its
// fallback, for search and for clients that do not know `summary`).
export function renderSummary(summary) {
  const s = summary.session;
  const day = date(s.started_at).toDateString();
  const seconds = (date(s.ended_at) - date(s.started_at)) / 1000;
  const people = summary.participants.map((p) => {
    const country = countryName(p.country) || p.country;
    return h("li", {}, h("strong", {}, p.display_name), country ? ` (${country})` : "", ": ",
      ...p.visits.flatMap((v, i) => [i ? ", " : "", span(v.joined_at, v.left_at, day)]), ` · ${duration(p.seconds)}`);
  });
  const lines = summary.chat.lines.map((line) => h("li", {}, clock(line.at, day), " ", h("strong", {}, line.author), ": ", line.body));
  const files = summary.files.map((f) => h("li", {}, f.name, f.version > 1 ? ` (${t("summary.version", { n: f.version })})` : ""));
  return h("div", { class: "summary", testid: "summary" },
    h("p", {}, h("strong", {}, sessionTitle(s)), ", ", span(s.started_at, s.ended_at, ""), ` (${duration(seconds)})`),
    h("h3", {}, t("summary.participants", { n: summary.participants.length })),
    list(people, t("summary.nobody")),
    h("h3", {}, t("chat.thread")),
    summary.chat.earlier ? h("p", { class: "muted" }, t("summary.earlier", { n: summary.chat.earlier })) : null,
    list(lines, t("summary.no_messages")),
    h("h3", {}, t("summary.files")),
    list(files, t("summary.no_files")));
}
