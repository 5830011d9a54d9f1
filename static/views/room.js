// One room: a header, tabs (forum, files, video, people, teacher tools) and the
// live chat beside them. Panels are built once and kept, so a video call or a
// half-written post survives a look at the files.
import { api, paths } from "../api.js";
import { h, icon, replace } from "../dom.js";
import { errorText, currentLanguage, t } from "../i18n.js";
import { RoomSession } from "../roomstate.js";
import { flashNext, keepFocus, navigate, say } from "../ui.js";
import { ChatPanel } from "./chat.js";
import { MuteNotice } from "./mutenotice.js";
import { FilesPanel } from "./files.js";
import { ForumPanel } from "./forum.js";
import { PeoplePanel } from "./people.js";
import { TeachPanel } from "./teach.js";
import { VideoPanel } from "./video.js";

const TABS = [
  { name: "forum", icon: "forum", Panel: ForumPanel },
  { name: "files", icon: "folder", Panel: FilesPanel },
  { name: "video", icon: "video", Panel: VideoPanel },
  { name: "people", icon: "people", Panel: PeoplePanel },
  { name: "teach", icon: "teach", Panel: TeachPanel, teachers: true },
];

export class RoomView {
  constructor(main, roomId, me) {
    this.main = main;
    this.roomId = roomId;
    this.me = me;
    this.session = new RoomSession(roomId, me);
    this.panels = new Map();
    this.ready = null;
    this.lastRest = [];
    this.lang = currentLanguage();
    this.fresh = true; // the room was just opened: its heading takes focus once it is drawn
    this.onChange = (e) => this.changed(e.detail);
    this.session.addEventListener("change", this.onChange);
  }

  show(rest) {
    this.lastRest = rest;
    if (!this.ready) {
      replace(this.main, h("p", { class: "loading", role: "status" }, t("app.loading")));
      this.ready = this.session.open().then(() => this.renderShell(), (err) => this.failed(err));
    }
    this.ready.then(() => {
      if (this.session.closed || !this.shell) return;
      if (this.lang !== currentLanguage()) this.rebuild();
      if (!this.main.contains(this.shell)) replace(this.main, this.shell);
      this.activate(this.lastRest);
      keepFocus(this.title, this.fresh);
      this.fresh = false;
    });
  }

  failed(err) {
    this.session.close();
    replace(this.main, h("div", { class: "card notice-page" },
      h("h1", {}, t("room.unavailable")),
      h("p", {}, err && err.code === "not_found" ? t("room.not_found") : errorText(err)),
      h("a", { href: "#/rooms", class: "btn btn-secondary" }, t("room.back"))));
  }

  rebuild() {
    this.lang = currentLanguage();
    for (const panel of this.panels.values()) panel.destroy();
    this.panels.clear();
    if (this.chat) this.chat.destroy();
    this.renderShell();
  }

  renderShell() {
    const s = this.session;
    this.title = h("h1", { class: "room-title" }, s.room.name);
    this.desc = h("p", { class: "room-desc" }, s.room.description || "");
    this.status = h("span", { class: "conn", role: "status" });
    this.online = h("a", { class: "online-count", href: this.href("people") });
    this.tabs = h("nav", { class: "room-tabs", "aria-label": t("room.sections") });
    // "Live now" on the Video tab while a session runs, kept current by session events.
    this.liveBadge = h("span", { class: "live-badge live-pill", testid: "video-live", hidden: true }, t("sessions.live"));
    for (const tab of TABS) {
      if (tab.teachers && !s.isTeacher) continue;
      this.tabs.append(h("a", { href: this.href(tab.name), dataset: { tab: tab.name }, testid: `tab-${tab.name}` },
        icon(tab.icon), h("span", {}, t(`room.tab_${tab.name}`)), tab.name === "video" ? this.liveBadge : null));
    }
    this.loadLive();
    // A rebuild (another language) keeps a mute that is on, now in the new words, quietly; the
    // first render tells of the mute the room was loaded with (one set before it was opened).
    const rebuilt = Boolean(this.muteNotice);
    const muted = rebuilt ? this.muteNotice.until : s.room.my_muted_until;
    if (this.muteNotice) this.muteNotice.destroy();
    this.muteNotice = new MuteNotice();
    if (muted) this.muteNotice.update(muted, rebuilt);
    this.panelHost = h("div", { class: "room-panels" });
    const chatHost = h("aside", { class: "chat-panel", "aria-labelledby": "chat-h" });
    this.chat = new ChatPanel(s, chatHost);
    this.shell = h("div", { class: "room-page" },
      h("div", { class: "room-head" },
        h("div", { class: "room-head-text" }, h("p", { class: "crumbs" }, h("a", { href: "#/rooms" }, t("rooms.title")), " / "), this.title, this.desc),
        h("div", { class: "room-head-side" }, this.online, this.status)),
      this.tabs,
      this.muteNotice.el,
      h("div", { class: "room-body" }, h("section", { class: "room-main", "aria-live": "off" }, this.panelHost), chatHost));
    this.updateHead();
    replace(this.main, this.shell);
    // The page's second skip link, past the room's tabs and posts, to the chat box.
    const skip = document.getElementById("skip-chat");
    if (skip) {
      skip.textContent = t("app.skip_chat");
      skip.hidden = false;
      skip.onclick = (e) => {
        e.preventDefault();
        this.chat.focus();
      };
    }
  }

  async loadLive() {
    try {
      const sessions = await api.get(paths.sessions(this.roomId));
      const live = sessions.find((x) => x.status === "live");
      this.setLive(live ? live.id : null);
    } catch {
      // The badge is a hint; the Video tab lists the sessions itself.
    }
  }

  setLive(sessionId) {
    this.liveId = sessionId;
    if (this.liveBadge) this.liveBadge.hidden = !sessionId;
  }

  href(tab, ...rest) {
    return `#/room/${[this.roomId, tab, ...rest].map(encodeURIComponent).join("/")}`;
  }

  activate(rest) {
    let name = rest[0] || "forum";
    const tab = TABS.find((x) => x.name === name && (!x.teachers || this.session.isTeacher));
    if (!tab) {
      name = "forum";
      rest = ["forum"];
    }
    const spec = TABS.find((x) => x.name === name);
    if (!this.panels.has(name)) {
      const host = h("div", { class: `panel panel-${name}`, dataset: { panel: name } });
      this.panelHost.append(host);
      this.panels.set(name, new spec.Panel(this.session, host, { href: (...p) => this.href(...p) }));
    }
    for (const [key, panel] of this.panels) panel.host.hidden = key !== name;
    for (const link of this.tabs.querySelectorAll("a")) {
      if (link.dataset.tab === name) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    this.panels.get(name).show(rest.slice(1));
    document.title = `${this.session.room.name} · Twinrooms`;
  }

  updateHead() {
    const s = this.session;
    this.title.textContent = s.room.name;
    this.desc.textContent = s.room.description || "";
    this.desc.hidden = !s.room.description;
    this.online.textContent = `● ${t("room.online", { count: s.presence.length })}`;
  }

  changed({ kind, data }) {
    if (kind === "removed" || kind === "gone") {
      const name = this.session.room ? this.session.room.name : "";
      flashNext(kind === "removed" ? t("room.removed", { name }) : t("room.deleted", { name }));
      this.destroy();
      navigate("#/rooms");
      return;
    }
    if (!this.shell) return;
    if (kind === "room" || kind === "presence") this.updateHead();
    // Only teachers receive reports; they hear of one wherever they are in the room.
    if (kind === "report:new" && this.session.isTeacher) say(t("teach.new_report"));
    if ((kind === "session:new" || kind === "session:edit") && data) {
      if (data.status === "live") this.setLive(data.id);
      else if (data.id === this.liveId) this.setLive(null);
    }
    if (kind === "reset") this.loadLive();
    if (kind === "member:mute" && data && data.user_id === this.me.id) this.muteNotice.update(data.until);
    if (kind === "connection") {
      this.status.textContent = data.connected ? "" : t("room.reconnecting");
      this.status.classList.toggle("offline", !data.connected);
    }
  }

  destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    this.session.removeEventListener("change", this.onChange);
    for (const panel of this.panels.values()) panel.destroy();
    this.panels.clear();
    if (this.chat) this.chat.destroy();
    if (this.muteNotice) this.muteNotice.destroy();
    this.session.close();
    const skip = document.getElementById("skip-chat");
    if (skip) {
      skip.hidden = true;
      skip.onclick = null;
    }
    document.title = "Twinrooms";
  }
}
