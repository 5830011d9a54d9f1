// Teacher tools: invite codes (create, list, revoke), bulk pupil accounts with a
// printable credentials sheet (the server shows those passwords once), the
// report queue and the audit log.
import { api, paths } from "../api.js";
import { field, h, replace } from "../dom.js";
import { formatTime } from "../format.js";
import { errorText, t } from "../i18n.js";
import { announce, busy, flashNext, formError, navigate } from "../ui.js";
import { Panel } from "./panel.js";
import { SafetyCards } from "./safety.js";
import { limit } from "../limits.js";
import { credentialsSheet } from "./sheet.js";

const EXPIRIES = [[3600, "teach.exp_hour"], [86400, "teach.exp_day"], [604800, "teach.exp_week"], [2592000, "teach.exp_month"]];

export class TeachPanel extends Panel {
  constructor(session, host, ctx) {
    super(session, host, ctx);
    this.inviteList = h("ul", { class: "invite-list", testid: "invite-list" });
    this.sheet = h("div", { class: "sheet-host" });
    this.safety = new SafetyCards(session);
    replace(host,
      h("div", { class: "panel-head" }, h("h2", {}, t("teach.title"))),
      h("div", { class: "teach-grid" },
        h("section", { class: "card", "aria-labelledby": "inv-h" },
          h("h3", { id: "inv-h" }, t("teach.invites")),
          h("p", { class: "muted" }, t("teach.invites_intro")),
          this.inviteForm(),
          this.inviteList),
        h("section", { class: "card", "aria-labelledby": "pup-h" },
          h("h3", { id: "pup-h" }, t("teach.pupils")),
          h("p", { class: "muted" }, t("teach.pupils_intro")),
          this.pupilForm()),
        ...this.safety.el,
        session.role === "owner" ? this.settingsCard() : null),
      this.sheet);
  }

  // The owner's room settings: name, description, who may chat, camera defaults, deletion.
  settingsCard() {
    const room = this.session.room;
    const settings = room.settings || {};
    const check = (name, label, on) => h("p", { class: "check" },
      h("input", { type: "checkbox", name, id: `set-${name}`, checked: Boolean(on) }), " ",
      h("label", { for: `set-${name}` }, label));
    const form = h("form", { class: "form", testid: "room-settings" },
      field(t("rooms.name"), h("input", { name: "name", required: true, maxlength: limit("room_name"), value: room.name })),
      field(t("rooms.description"), h("textarea", { name: "description", rows: 2, maxlength: limit("room_description") }, room.description || "")),
      field(t("teach.chat_mode"), h("select", { name: "chat_mode" },
        h("option", { value: "everyone", selected: settings.chat_mode !== "teachers" }, t("teach.chat_everyone")),
        h("option", { value: "teachers", selected: settings.chat_mode === "teachers" }, t("teach.chat_teachers")))),
      check("lobby", t("teach.lobby"), settings.lobby),
      check("pupils_camera_off", t("teach.pupils_camera_off"), settings.pupils_camera_off),
      h("button", { type: "submit", class: "btn btn-primary" }, t("forum.save")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      formError(form, "");
      const el = form.elements;
      const body = {
        name: el.name.value.trim(), description: el.description.value.trim(),
        settings: { chat_mode: el.chat_mode.value, lobby: el.lobby.checked, pupils_camera_off: el.pupils_camera_off.checked },
      };
      try {
        const updated = await busy(form, () => api.patch(paths.room(this.session.id), body));
        this.session.apply("room:edit", updated);
        announce(t("teach.saved"));
      } catch (err) {
        formError(form, errorText(err));
      }
    });
    return h("section", { class: "card", "aria-labelledby": "set-h" },
      h("h3", { id: "set-h" }, t("teach.settings")), form,
      h("hr"),
      h("button", { type: "button", class: "btn btn-danger", testid: "delete-room", onclick: () => this.deleteRoom() }, t("teach.delete_room")));
  }

  async deleteRoom() {
    const name = this.session.room.name;
    if (!confirm(t("teach.delete_room_confirm", { name }))) return;
    try {
      await api.del(paths.room(this.session.id));
      flashNext(t("room.deleted", { name }));
      navigate("#/rooms");
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  show() {
    this.loadInvites();
    this.safety.load();
  }

  changed(kind) {
    // A new report, or a post hidden or restored (which resolves reports), refreshes the cards.
    if (kind === "report:new" || kind === "post:edit" || kind === "post:delete" || kind === "reset") this.safety.load();
  }

  inviteForm() {
    const role = h("select", { name: "role", testid: "invite-role" },
      ["member", "teacher", "guest"].map((r) => h("option", { value: r }, t(`teach.role_${r}`))));
    const uses = h("input", { name: "max_uses", type: "number", min: 1, max: 1000, value: 30, testid: "invite-uses" });
    role.addEventListener("change", () => { uses.value = role.value === "teacher" ? 1 : 30; });
    const form = h("form", { class: "form inline-form", testid: "invite-form" },
      field(t("teach.invite_role"), role),
      field(t("teach.max_uses"), uses),
      field(t("teach.expires"), h("select", { name: "expires_in" },
        EXPIRIES.map(([s, key]) => h("option", { value: s, selected: s === 604800 }, t(key))))),
      h("button", { type: "submit", class: "btn btn-primary", testid: "create-invite" }, t("teach.create_invite")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      formError(form, "");
      const v = Object.fromEntries(new FormData(form).entries());
      try {
        const inv = await busy(form, () => api.post(paths.invites(this.session.id),
          { role: v.role, max_uses: Number(v.max_uses), expires_in: Number(v.expires_in) }));
        announce(t("teach.invite_created", { code: inv.code }));
        await this.loadInvites();
      } catch (err) {
        formError(form, errorText(err));
      }
    });
    return form;
  }

  async loadInvites() {
    try {
      const invites = await api.get(paths.invites(this.session.id));
      if (!invites.length) return replace(this.inviteList, h("li", { class: "empty" }, t("teach.no_invites")));
      const order = (inv) => (inviteState(inv) === "active" ? 0 : 1);
      const sorted = invites.slice().reverse().sort((a, b) => order(a) - order(b));
      replace(this.inviteList, sorted.map((inv) => this.inviteRow(inv)));
    } catch (err) {
      replace(this.inviteList, h("li", { class: "form-error" }, errorText(err)));
    }
    return null;
  }

  inviteRow(inv) {
    const link = `${location.origin}/#/join/${encodeURIComponent(inv.code)}`;
    const state = inviteState(inv);
    if (state !== "active") {
      return h("li", { class: "invite invite-off", testid: "invite", dataset: { code: inv.code, role: inv.role, state } },
        h("code", { class: "invite-code" }, inv.code),
        h("span", { class: "invite-meta" }, t(`teach.role_${inv.role}`), " · ", h("strong", {}, t(`teach.state_${state}`))));
    }
    return h("li", { class: "invite", testid: "invite", dataset: { code: inv.code, role: inv.role, state } },
      h("code", { class: "invite-code", testid: "invite-code" }, inv.code),
      h("span", { class: "invite-meta" },
        t(`teach.role_${inv.role}`), " · ",
        t("teach.uses", { uses: inv.uses, max: inv.max_uses }), " · ",
        t("teach.until", { when: formatTime(inv.expires_at) })),
      h("span", { class: "invite-actions" },
        h("button", { type: "button", class: "btn btn-quiet btn-small", onclick: () => copy(link) }, t("teach.copy_link")),
        h("button", { type: "button", class: "btn btn-danger btn-small", testid: "revoke-invite",
          "aria-label": t("teach.revoke_code", { code: inv.code }), onclick: () => this.revoke(inv) }, t("teach.revoke"))));
  }

  async revoke(inv) {
    if (!confirm(t("teach.revoke_confirm", { code: inv.code }))) return;
    try {
      await api.del(paths.invite(this.session.id, inv.code));
      announce(t("teach.revoked", { code: inv.code }));
      await this.loadInvites();
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  pupilForm() {
    const names = h("textarea", { name: "names", rows: 6, required: true, testid: "pupil-names", placeholder: "Ana García\nLukas Meyer\nZofia Nowak" });
    const form = h("form", { class: "form", testid: "pupils-form" },
      field(t("teach.pupil_names"), names, t("teach.pupil_names_hint")),
      h("button", { type: "submit", class: "btn btn-primary", testid: "create-pupils" }, t("teach.create_pupils")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      formError(form, "");
      const pupils = names.value.split("\n").map((n) => n.trim()).filter(Boolean).map((display_name) => ({ display_name }));
      if (!pupils.length) return;
      try {
        const creds = await busy(form, () => api.post(paths.pupils(this.session.id), { pupils }));
        names.value = "";
        this.showSheet(creds);
      } catch (err) {
        formError(form, errorText(err));
      }
    });
    return form;
  }

  showSheet(creds) {
    replace(this.sheet, credentialsSheet(this.session.room, creds));
    document.body.classList.add("has-sheet");
    this.sheet.scrollIntoView({ behavior: "smooth" });
  }

  destroy() {
    document.body.classList.remove("has-sheet");
    super.destroy();
  }
}

function inviteState(inv) {
  if (inv.revoked) return "revoked";
  if (inv.uses >= inv.max_uses) return "used_up";
  if (inv.expires_at && new Date(inv.expires_at) <= new Date()) return "expired";
  return "active";
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    announce(t("teach.copied"));
  } catch {
    prompt(t("teach.copy_manual"), text);
  }
}
