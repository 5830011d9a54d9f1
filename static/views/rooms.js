// "My rooms": the rooms I belong to (each with its description, unread forum posts and
// "live now"), founding a room (teachers), joining with a code.
import { api } from "../api.js";
import { field, h, replace } from "../dom.js";
import { errorText, t } from "../i18n.js";
import { busy, formError, navigate } from "../ui.js";
import { limit } from "../limits.js";

function roleBadge(role) {
  return h("span", { class: `badge role-${role}` }, t(`role.${role}`));
}

function roomCard(room) {
  return h("li", { class: "room-card" },
    h("a", { href: `#/room/${encodeURIComponent(room.id)}`, testid: `room-${room.id}`, class: "room-link" },
      h("span", { class: "room-name" }, room.name),
      room.description ? h("span", { class: "room-desc" }, room.description) : null,
      room.unread || room.live ? h("span", { class: "room-status" },
        room.unread ? h("span", { class: "unread-pill", testid: "room-unread" }, t("rooms.unread", { count: room.unread })) : null,
        room.live ? h("span", { class: "live-badge live-pill", testid: "room-live" }, t("sessions.live")) : null) : null),
    roleBadge(room.my_role));
}

function createForm() {
  const form = h("form", { class: "card form", testid: "create-room-form" },
    h("h2", {}, t("rooms.create_title")),
    field(t("rooms.name"), h("input", { name: "name", required: true, maxlength: limit("room_name"), testid: "room-name" })),
    field(t("rooms.description"), h("textarea", { name: "description", rows: 3, maxlength: limit("room_description"), testid: "room-description" })),
    h("button", { type: "submit", class: "btn btn-primary", testid: "create-room" }, t("rooms.create")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    formError(form, "");
    const v = Object.fromEntries(new FormData(form).entries());
    try {
      const room = await busy(form, () => api.post("/api/rooms", { name: v.name.trim(), description: v.description.trim() }));
      navigate(`#/room/${encodeURIComponent(room.id)}/teach`);
    } catch (err) {
      formError(form, errorText(err));
    }
  });
  return form;
}

function joinForm() {
  const form = h("form", { class: "card form", testid: "join-code-form" },
    h("h2", {}, t("rooms.join_title")),
    field(t("join.code"), h("input", { name: "code", required: true, autocomplete: "off", autocapitalize: "none", spellcheck: "false", testid: "join-code" })),
    h("button", { type: "submit", class: "btn btn-secondary", testid: "join-submit" }, t("join.submit")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    formError(form, "");
    const code = new FormData(form).get("code").trim();
    try {
      const { room } = await busy(form, () => api.post("/api/join", { code }));
      navigate(`#/room/${encodeURIComponent(room.id)}`);
    } catch (err) {
      formError(form, errorText(err));
    }
  });
  return form;
}

export function renderRooms(main, me) {
  const list = h("ul", { class: "room-list", testid: "room-list", "aria-busy": "true" });
  const isTeacher = me && (me.role === "teacher" || me.role === "admin");
  replace(main, h("div", { class: "rooms-page" },
    h("section", { class: "rooms-main", "aria-labelledby": "rooms-h" },
      h("h1", { id: "rooms-h" }, t("rooms.title")),
      h("p", { class: "muted" }, t("rooms.hello", { name: me.display_name }), " ",
        h("a", { href: "#/mentions", testid: "my-mentions" }, t("mentions.title"))),
      list),
    h("div", { class: "rooms-side" }, isTeacher ? createForm() : null, joinForm())));
  api.get("/api/rooms").then((rooms) => {
    list.removeAttribute("aria-busy");
    if (!rooms.length) {
      replace(list, h("li", { class: "empty" }, isTeacher ? t("rooms.empty_teacher") : t("rooms.empty_pupil")));
    } else replace(list, rooms.map(roomCard));
  }).catch((err) => {
    list.removeAttribute("aria-busy");
    replace(list, h("li", { class: "form-error", role: "alert" }, errorText(err)));
  });
}
