// Upcoming live sessions of a room, under the video lobby: each member sees the
// live and planned sessions in their own time zone; teachers plan and cancel them.
import { api, paths } from "../api.js";
import { field, h, replace } from "../dom.js";
import { timeElement } from "../format.js";
import { errorText, t } from "../i18n.js";
import { announce } from "../ui.js";
import { limit } from "../limits.js";
import { sessionTitle } from "./summary.js";

export class Schedule {
  // `actions.start(session)` starts a planned session (and joins it).
  constructor(session, actions = {}) {
    this.session = session;
    this.actions = actions;
    this.sessions = new Map();
    this.list = h("ul", { class: "session-list", testid: "session-list" });
    this.error = h("p", { class: "form-error", role: "alert", hidden: true });
    this.el = h("section", { class: "card schedule", "aria-labelledby": "schedule-title" },
      h("h3", { id: "schedule-title" }, t("sessions.title")),
      this.list, this.error,
      session.isTeacher ? this.form() : null);
  }

  form() {
    const title = h("input", { type: "text", maxlength: limit("session_title"), testid: "session-title" });
    const when = h("input", { type: "datetime-local", required: true, testid: "session-when" });
    return h("form", { class: "schedule-form", onsubmit: (e) => {
      e.preventDefault();
      // datetime-local is the teacher's own wall clock; the server gets UTC.
      const at = new Date(when.value);
      if (Number.isNaN(at.getTime())) return;
      this.run(async () => {
        await api.post(paths.sessions(this.session.id),
          { title: title.value || null, scheduled_at: at.toISOString() });
        title.value = "";
        when.value = "";
        announce(t("sessions.planned"));
      });
    } },
    field(t("sessions.name"), title),
    field(t("sessions.when"), when),
    h("button", { type: "submit", class: "btn", testid: "session-schedule" }, t("sessions.schedule")));
  }

  async load() {
    await this.run(async () => {
      const all = await api.get(paths.sessions(this.session.id));
      this.sessions = new Map(all.map((s) => [s.id, s]));
      this.render();
    });
  }

  // session:new, session:edit and session:delete from the room's event stream.
  apply(kind, data) {
    if (kind === "session:delete" || data.status === "ended") this.sessions.delete(data.id);
    else this.sessions.set(data.id, data);
    this.render();
  }

  async run(work) {
    this.error.hidden = true;
    try {
      await work();
    } catch (err) {
      this.error.textContent = errorText(err);
      this.error.hidden = false;
    }
  }

  render() {
    const order = (s) => (s.status === "live" ? "" : s.scheduled_at || "~");
    const items = [...this.sessions.values()].sort((a, b) => order(a).localeCompare(order(b)));
    replace(this.list, ...items.map((s) => this.item(s)));
    if (!items.length) this.list.append(h("li", { class: "muted" }, t("sessions.none")));
  }

  item(s) {
    const when = s.status === "live"
      ? h("strong", { class: "live-badge" }, t("sessions.live"))
      : s.scheduled_at ? timeElement(s.scheduled_at) : h("span", {}, t("sessions.unplanned"));
    const start = this.session.isTeacher && s.status === "scheduled" && this.actions.start
      ? h("button", { type: "button", class: "btn btn-small btn-primary", testid: "session-start", "aria-label": t("sessions.start_name", { name: sessionTitle(s) }),
        onclick: () => this.actions.start(s) }, t("sessions.start"))
      : null;
    const cancel = this.session.isTeacher && s.status === "scheduled"
      ? h("button", { type: "button", class: "btn btn-small", "aria-label": t("sessions.cancel_name", { name: sessionTitle(s) }),
        onclick: () => this.run(() => api.del(paths.session(s.id))) }, t("sessions.cancel"))
      : null;
    return h("li", { dataset: { sessionId: s.id } }, h("span", { class: "session-name" }, sessionTitle(s)), when, start, cancel);
  }
}
