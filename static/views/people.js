// Who is in the room: online now first, each with role and country flag.
// Teachers change roles and remove members (the owner also manages teachers), and give a pupil
// who forgot their password a new one, on a sheet to print.
import { api, paths } from "../api.js";
import { h, replace } from "../dom.js";
import { countryName, initials } from "../format.js";
import { errorText, t } from "../i18n.js";
import { announce } from "../ui.js";
import { formatTime } from "../format.js";
import { Panel, flagEl } from "./panel.js";
import { confirmAction } from "./confirm.js";
import { credentialsSheet } from "./sheet.js";

const ROLES = ["teacher", "member", "guest"];
const MUTES = [[10, "people.mute_10m"], [60, "people.mute_1h"], [1440, "people.mute_1d"], [10080, "people.mute_1w"]];

export class PeoplePanel extends Panel {
  constructor(session, host, ctx) {
    super(session, host, ctx);
    this.list = h("ul", { class: "people-list", testid: "people-list" });
    this.sheet = h("div", { class: "sheet-host", testid: "people-sheet" });
    replace(host, h("div", { class: "panel-head" }, h("h2", {}, t("people.title"))), this.list, this.sheet);
  }

  show() {
    this.render();
    this.loadMutes();
  }

  // Teachers see who is muted in the forum and chat (and until when), kept current by
  // `member:mute`.
  async loadMutes() {
    if (!this.session.isTeacher) return;
    try {
      const mutes = await api.get(paths.mutes(this.session.id));
      this.mutes = new Map(mutes.map((m) => [m.user_id, m.until]));
      this.render();
    } catch {
      // Without the list the controls still mute; they only cannot say who already is.
    }
  }

  // Teachers silence members and guests, the owner also teachers, nobody the owner.
  canSilence(member) {
    const s = this.session;
    if (member.id === s.me.id || member.role === "owner") return false;
    return s.role === "owner" || (s.role === "teacher" && member.role !== "teacher");
  }

  muteControls(m) {
    const until = this.mutes && this.mutes.get(m.id);
    if (until && new Date(until) > new Date()) {
      return h("span", { class: "mute-controls", testid: "forum-mute" },
        h("span", { class: "badge muted-badge", testid: "muted-until" }, t("people.muted_until", { when: formatTime(until) })),
        h("button", { type: "button", class: "btn btn-quiet btn-small", testid: "unmute-member",
          "aria-label": t("people.unmute_name", { name: m.display_name }), onclick: () => this.setMute(m, 0) }, t("people.unmute")));
    }
    const length = h("select", { "aria-label": t("people.mute_for", { name: m.display_name }), testid: "mute-length" },
      MUTES.map(([minutes, key]) => h("option", { value: minutes }, t(key))));
    return h("span", { class: "mute-controls", testid: "forum-mute" }, length,
      h("button", { type: "button", class: "btn btn-quiet btn-small", testid: "mute-member",
        "aria-label": t("people.mute_name", { name: m.display_name }), onclick: () => this.setMute(m, Number(length.value)) }, t("people.mute")));
  }

  async setMute(m, minutes) {
    try {
      const event = await api.put(paths.mute(this.session.id, m.id), { minutes });
      this.noteMute(event);
      announce(minutes ? t("people.muted", { name: m.display_name }) : t("people.unmuted", { name: m.display_name }));
      const row = this.list.querySelector(`[data-user-id="${CSS.escape(m.id)}"] .mute-controls button`);
      if (row) row.focus();
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  noteMute(event) {
    if (!this.mutes) this.mutes = new Map();
    if (event.until) this.mutes.set(event.user_id, event.until);
    else this.mutes.delete(event.user_id);
    this.render();
  }

  canManage(member) {
    const s = this.session;
    if (member.id === s.me.id || member.role === "owner") return false;
    if (s.role === "owner") return true;
    return s.role === "teacher" && member.role !== "teacher";
  }

  members() {
    const byId = new Map((this.session.room.members || []).map((m) => [m.id, { ...m }]));
    for (const u of this.session.presence) if (!byId.has(u.id)) byId.set(u.id, { ...u });
    const online = new Set(this.session.presence.map((u) => u.id));
    const order = { owner: 0, teacher: 1, member: 2, guest: 3 };
    return [...byId.values()].map((m) => ({ ...m, online: online.has(m.id) }))
      .sort((a, b) => (b.online - a.online) || (order[a.role] - order[b.role]) || a.display_name.localeCompare(b.display_name));
  }

  render() {
    const people = this.members();
    const online = people.filter((p) => p.online).length;
    replace(this.list,
      h("li", { class: "people-summary muted" }, t("people.summary", { online, count: people.length })),
      people.map((m) => this.row(m)));
  }

  row(m) {
    const manage = this.canManage(m);
    const roleSelect = manage
      ? h("select", { "aria-label": t("people.role_of", { name: m.display_name }), onchange: (e) => this.setRole(m, e.target.value) },
        ROLES.filter((r) => r !== "teacher" || this.session.role === "owner")
          .map((r) => h("option", { value: r, selected: r === m.role }, t(`role.${r}`))))
      : h("span", { class: `badge role-${m.role}` }, t(`role.${m.role}`));
    return h("li", { class: `person${m.online ? " online" : ""}`, testid: "person", dataset: { userId: m.id, online: String(m.online) } },
      h("span", { class: "avatar", "aria-hidden": "true" }, initials(m.display_name)),
      h("span", { class: "person-main" },
        h("span", { class: "person-name" }, m.display_name, " ", flagEl(m.country)),
        h("span", { class: "person-meta" },
          h("span", { class: `dot${m.online ? " on" : ""}`, "aria-hidden": "true" }),
          m.online ? t("people.online") : t("people.offline"),
          countryName(m.country) ? ` · ${countryName(m.country)}` : "",
          m.username ? ` · @${m.username}` : "")),
      roleSelect,
      // Only pupils' accounts are reset by a teacher; the server refuses any other account.
      manage && (m.role === "member" || m.role === "guest")
        ? h("button", { type: "button", class: "btn btn-quiet btn-small", testid: "reset-password",
          "aria-label": t("people.reset_password_of", { name: m.display_name }), onclick: () => this.resetPassword(m) }, t("people.reset_password"))
        : null,
      this.canSilence(m) ? this.muteControls(m) : null,
      manage ? h("button", { type: "button", class: "btn btn-quiet btn-small", onclick: () => this.remove(m) }, t("people.remove")) : null);
  }

  async resetPassword(m) {
    const ok = await confirmAction({ title: t("people.reset_password_of", { name: m.display_name }),
      body: t("people.reset_confirm", { name: m.display_name }), confirm: t("people.reset_password") });
    if (!ok) return;
    try {
      const card = await api.post(paths.password(this.session.id, m.id));
      replace(this.sheet, credentialsSheet(this.session.room, [card]));
      document.body.classList.add("has-sheet");
      announce(t("people.reset_done", { name: m.display_name }));
      this.sheet.querySelector("h3").focus();
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  destroy() {
    document.body.classList.remove("has-sheet");
    super.destroy();
  }

  async setRole(m, role) {
    try {
      const updated = await api.patch(paths.member(this.session.id, m.id), { role });
      const list = this.session.room.members || [];
      const i = list.findIndex((x) => x.id === m.id);
      if (i >= 0) list[i] = { ...list[i], ...updated, role: updated.role || role };
      announce(t("people.role_changed", { name: m.display_name, role: t(`role.${role}`) }));
    } catch (err) {
      announce(errorText(err), "error");
    }
    this.render();
  }

  async remove(m) {
    if (!confirm(t("people.remove_confirm", { name: m.display_name }))) return;
    try {
      await api.del(paths.member(this.session.id, m.id));
      this.session.room.members = (this.session.room.members || []).filter((x) => x.id !== m.id);
      announce(t("people.removed", { name: m.display_name }));
      this.render();
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  async refreshMembers() {
    try {
      const room = await api.get(paths.room(this.session.id));
      this.session.room.members = room.members;
      this.render();
    } catch {
      // The presence list still shows who is here.
    }
  }

  changed(kind, data) {
    if (kind === "presence") {
      const known = new Set((this.session.room.members || []).map((m) => m.id));
      if (this.session.presence.some((u) => !known.has(u.id))) this.refreshMembers();
      else this.render();
    } else if (kind === "member:mute") this.noteMute(data);
    else if (kind === "room" || kind === "reset") this.render();
  }
}
