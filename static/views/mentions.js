// "My mentions": the posts that mention me, in every room I still belong to, newest first,
// each with its room and a link to the post in its thread.
import { api } from "../api.js";
import { h, replace, serverHtml } from "../dom.js";
import { errorText, t } from "../i18n.js";
import { postHref } from "./safety.js";
import { byline } from "./panel.js";

export function renderMentions(main) {
  const list = h("ol", { class: "mention-list", testid: "mention-list", "aria-busy": "true" });
  replace(main, h("section", { class: "mentions-page", "aria-labelledby": "mentions-h" },
    h("p", { class: "back" }, h("a", { href: "#/rooms" }, "← ", t("rooms.title"))),
    h("h1", { id: "mentions-h" }, t("mentions.title")),
    list));
  Promise.all([api.get("/api/me/mentions"), api.get("/api/rooms")]).then(([posts, rooms]) => {
    list.removeAttribute("aria-busy");
    const names = new Map(rooms.map((r) => [r.id, r.name]));
    if (!posts.length) return replace(list, h("li", { class: "empty" }, t("mentions.none")));
    return replace(list, posts.slice().reverse().map((p) => h("li", { class: "card mention", testid: "mention" },
      h("p", { class: "mention-room" }, t("mentions.in_room", { room: names.get(p.room_id) || "" })),
      byline(p.author, p.created_at, p.edited_at),
      h("div", { class: "post-body" }, serverHtml(p.html)),
      h("a", { href: postHref(p.room_id, p.thread_id, p.id), testid: "mention-link" }, t("mentions.open")))));
  }).catch((err) => {
    list.removeAttribute("aria-busy");
    replace(list, h("li", { class: "form-error", role: "alert" }, errorText(err)));
  });
}
