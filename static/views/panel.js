// The common life of a room panel: listen to the room session while alive.
import { h } from "../dom.js";
import { countryName, flag, flagsSupported, timeElement } from "../format.js";
import { t } from "../i18n.js";

export class Panel {
  constructor(session, host, ctx) {
    this.session = session;
    this.host = host;
    this.ctx = ctx;
    this.listener = (e) => this.changed(e.detail.kind, e.detail.data);
    session.addEventListener("change", this.listener);
  }

  show() {}

  changed() {}

  destroy() {
    this.session.removeEventListener("change", this.listener);
  }
}

export function flagEl(country) {
  const name = countryName(country);
  if (!name) return null;
  const code = String(country).trim().toUpperCase();
  return flagsSupported()
    ? h("span", { class: "flag", role: "img", "aria-label": name, title: name }, flag(code))
    : h("span", { class: "flag flag-code", role: "img", "aria-label": name, title: name }, code);
}

// "Ana 🇪🇸 · 10:42" above a post or a chat message.
export function byline(author, createdAt, editedAt, timeKind = "datetime") {
  const a = author || {};
  return h("div", { class: "byline" },
    h("span", { class: "author" }, a.display_name || a.username || t("people.someone")),
    " ", flagEl(a.country),
    h("span", { class: "sep", "aria-hidden": "true" }, " · "),
    timeElement(createdAt, timeKind),
    editedAt ? h("span", { class: "edited" }, ` (${t("forum.edited")})`) : null);
}

export function authorId(author) {
  return author && typeof author === "object" ? author.id : author;
}
