// The video call: a lobby (camera + microphone, or audio only), then the grid
// of tiles, our controls, and for teachers the controls on each participant.
import { Call, MEDIA } from "../call.js";
import { h, icon, replace } from "../dom.js";
import { errorText, t } from "../i18n.js";
import { announce, keepFocus } from "../ui.js";
import { CallNews } from "./callnews.js";
import { Panel } from "./panel.js";
import { Schedule } from "./schedule.js";

function mediaErrorText(err) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError") return t("video.err_refused");
  if (name === "NotFoundError" || name === "OverconstrainedError") return t("video.err_missing");
  if (name === "NotReadableError" || name === "AbortError") return t("video.err_busy");
  if (name === "NotSupportedError") return t("video.err_unsupported");
  return errorText(err);
}

function toggle(name, label, onIcon, offIcon, onclick) {
  const btn = h("button", { type: "button", class: "ctl", testid: name, "aria-pressed": "true", onclick },
    h("span", { class: "ctl-icon" }, icon(onIcon)), h("span", { class: "ctl-label" }, label));
  btn.setIcon = (on) => {
    btn.querySelector(".ctl-icon").replaceChildren(icon(on ? onIcon : offIcon));
  };
  return btn;
}

export class VideoPanel extends Panel {
  constructor(session, host, ctx) {
    super(session, host, ctx);
    this.call = null;
    this.tiles = new Map(); // mid -> {el, video}
    this.audios = new Map(); // mid -> <audio>
    this.hands = new Set();
    this.speaking = new Set(); // user ids the SFU hears speaking now
    this.mic = true;
    this.cam = true;
    this.mutedBy = { audio: false, video: false };
    this.mutedUsers = new Set();
    this.videoOffUsers = new Set();
    this.spotlit = null;
    this.locked = false;
    this.grid = h("div", { class: "video-grid", testid: "video-grid", "aria-label": t("video.grid") });
    this.audioHost = h("div", { hidden: true });
    this.status = h("p", { class: "call-status", role: "status" });
    this.error = h("p", { class: "form-error", role: "alert", hidden: true });
    this.lobby = this.renderLobby();
    this.stage = this.renderStage();
    this.schedule = new Schedule(session);
    replace(host,
      h("div", { class: "panel-head" }, h("h2", {}, t("video.title")), this.status),
      this.error, this.lobby, this.stage, this.schedule.el, this.audioHost);
    this.schedule.load();
  }

  renderLobby() {
    this.audioOnly = h("input", { type: "checkbox", id: "audio-only", testid: "audio-only" });
    this.joinBtn = h("button", { type: "button", class: "btn btn-primary btn-large", testid: "join-video", onclick: () => this.join() },
      icon("video"), t("video.join"));
    return h("div", { class: "card video-lobby" },
      h("div", { class: "lobby-art", "aria-hidden": "true" }, icon("video")),
      h("div", {},
        h("p", {}, t("video.intro")),
        h("p", { class: "check" }, this.audioOnly, " ", h("label", { for: "audio-only" }, t("video.audio_only"))),
        this.joinBtn,
        h("p", { class: "hint" }, t("video.privacy"))));
  }

  renderStage() {
    this.micBtn = toggle("mic-toggle", t("video.mic"), "mic", "mic-off", () => this.toggleMic());
    this.camBtn = toggle("camera-toggle", t("video.camera"), "video", "video-off", () => this.toggleCam());
    this.screenBtn = h("button", { type: "button", class: "ctl", testid: "screen-share", "aria-pressed": "false", onclick: () => this.toggleScreen() },
      h("span", { class: "ctl-icon" }, icon("screen")), h("span", { class: "ctl-label" }, t("video.screen")));
    this.handBtn = h("button", { type: "button", class: "ctl", testid: "raise-hand", "aria-pressed": "false", onclick: () => this.toggleHand() },
      h("span", { class: "ctl-icon" }, icon("hand")), h("span", { class: "ctl-label" }, t("video.hand")));
    this.lockBtn = h("button", { type: "button", class: "ctl", testid: "lock-call", "aria-pressed": "false", hidden: true, onclick: () => this.toggleLock() },
      h("span", { class: "ctl-icon" }, icon("lock")), h("span", { class: "ctl-label" }, t("video.lock")));
    this.endBtn = h("button", { type: "button", class: "ctl", testid: "end-call", hidden: !this.session.isTeacher, onclick: () => this.endForAll() },
      h("span", { class: "ctl-icon" }, icon("x")), h("span", { class: "ctl-label" }, t("video.end")));
    const leave = this.leaveBtn = h("button", { type: "button", class: "ctl ctl-leave", testid: "leave-video", onclick: () => this.leave() },
      h("span", { class: "ctl-icon" }, icon("leave")), h("span", { class: "ctl-label" }, t("video.leave")));
    this.notice = h("p", { class: "notice call-notice", testid: "call-notice", role: "alert", hidden: true });
    this.waitingNote = h("p", { class: "notice call-waiting", testid: "call-waiting", hidden: true });
    return h("div", { class: "video-stage", hidden: true },
      this.notice,
      this.waitingNote,
      this.grid,
      h("div", { class: "call-controls", role: "toolbar", "aria-label": t("video.controls") },
        this.micBtn, this.camBtn, this.screenBtn, this.handBtn, this.lockBtn, this.endBtn, leave));
  }

  nameOf(userId) {
    const s = this.session;
    if (userId === s.me.id) return s.me.display_name;
    const all = [...(s.room.members || []), ...s.presence];
    const m = all.find((x) => x.id === userId);
    return m ? m.display_name : t("people.someone");
  }

  showError(text) {
    this.error.textContent = text || "";
    this.error.hidden = !text;
  }

  async join() {
    if (this.call) return;
    this.showError("");
    this.joinBtn.disabled = true;
    this.status.textContent = t("video.connecting");
    const call = new Call(this.session.id, this.session.me.id);
    const audioOnly = this.audioOnly.checked;
    try {
      await call.capture({ audio: true, video: !audioOnly });
    } catch (err) {
      // Try the microphone alone before giving up on sending anything.
      let fallback = null;
      if (!audioOnly) {
        try {
          await call.capture({ audio: true, video: false });
          fallback = t("video.camera_missing_audio_only");
        } catch {
          fallback = null;
        }
      }
      this.showError(fallback ? `${mediaErrorText(err)} ${fallback}` : `${mediaErrorText(err)} ${t("video.listen_only")}`);
    }
    this.call = call;
    this.news = new CallNews(this.session.me.id, (id) => this.nameOf(id), () => this.session.isTeacher);
    this.wire(call);
    const hadFocus = this.host.contains(document.activeElement);
    this.lobby.hidden = true;
    this.stage.hidden = false;
    keepFocus(this.leaveBtn, hadFocus); // Leave took Join's place
    this.addLocalTile(call.local);
    // The room may ask pupils to arrive with the camera off; they can switch it on.
    const settings = this.session.room.settings || {};
    if (settings.pupils_camera_off && !this.session.isTeacher && this.cam) {
      this.cam = false;
      call.setCamera(false);
      this.syncButtons();
    }
    try {
      await call.join();
      if (this.call !== call) return;
      this.waitingNote.hidden = true;
      this.status.textContent = t("video.connected");
    } catch (err) {
      if (this.call !== call) return; // left (or removed) meanwhile: nothing more to say
      this.showError(errorText(err));
      await this.leave(true);
    }
  }

  wire(call) {
    call.addEventListener("track", (e) => this.onTrack(e.detail));
    call.addEventListener("slots", () => this.renderSlots());
    call.addEventListener("state", (e) => this.onState(e.detail));
    call.addEventListener("waiting", (e) => {
      // Before the start we wait for a teacher to start the session; with a lobby, to be let in.
      const text = t(e.detail && e.detail.session ? "video.waiting" : "video.waiting_start");
      this.status.textContent = text;
      this.waitingNote.textContent = text;
      this.waitingNote.hidden = false;
    });
    call.addEventListener("replaced", () => {
      this.leave(true);
      this.showError(t("video.replaced"));
    });
    call.addEventListener("hand", (e) => {
      const d = e.detail;
      if (d.raised) this.hands.add(d.user_id);
      else this.hands.delete(d.user_id);
      if (d.user_id === this.session.me.id) this.handBtn.setAttribute("aria-pressed", String(d.raised));
      this.news.hand(d);
      this.renderSlots();
    });
    call.addEventListener("speaking", (e) => {
      this.speaking = new Set(Array.isArray(e.detail.speaking) ? e.detail.speaking : []);
      this.markSpeakers();
    });
    call.addEventListener("moderation", (e) => this.onModeration(e.detail));
    call.addEventListener("connection", (e) => {
      if (e.detail.state === "failed") this.status.textContent = t("video.connection_failed");
    });
    call.addEventListener("error", (e) => this.showError(errorText(e.detail)));
  }

  addLocalTile(stream) {
    const hasVideo = stream && stream.getVideoTracks().length;
    const video = h("video", { autoplay: true, playsinline: true, testid: "local-video", class: "mirror" });
    video.muted = true;
    if (stream) video.srcObject = stream;
    const el = h("figure", { class: `tile local${hasVideo ? "" : " no-video"}` },
      hasVideo ? video : h("div", { class: "tile-avatar", "aria-hidden": "true" }, icon("mic")),
      hasVideo ? h("div", { class: "tile-avatar when-cam-off", "aria-hidden": "true" }, icon("video-off")) : null,
      h("figcaption", {}, `${this.session.me.display_name} (${t("video.you")})`));
    this.localTile = el;
    this.mic = Boolean(stream && stream.getAudioTracks().length);
    this.cam = Boolean(hasVideo);
    this.syncButtons();
    this.grid.prepend(el);
  }

  onTrack({ mid, track, kind }) {
    if (kind === "audio") {
      const audio = h("audio", { autoplay: true, dataset: { mid } });
      audio.srcObject = new MediaStream([track]);
      this.audios.set(mid, audio);
      this.audioHost.append(audio);
      return;
    }
    const video = h("video", { autoplay: true, playsinline: true });
    video.muted = true; // sound comes through the audio lines
    video.srcObject = new MediaStream([track]);
    const caption = h("figcaption", {});
    const tools = h("div", { class: "tile-tools" });
    const el = h("figure", { class: "tile remote", dataset: { mid }, hidden: true }, video, caption, tools);
    this.tiles.set(mid, { el, video, caption, tools });
    this.grid.append(el);
    this.renderSlots();
  }

  renderSlots() {
    if (!this.call) return;
    for (const [mid, tile] of this.tiles) {
      const slot = this.call.slots.get(mid);
      // A slot can lag behind someone leaving; the call's state says who is really here.
      const here = (id) => !this.present || this.present.has(id);
      const userId = slot && slot.user_id && here(slot.user_id) ? slot.user_id : null;
      tile.el.hidden = !userId;
      if (!userId) {
        tile.video.removeAttribute("data-user-id");
        continue;
      }
      tile.video.dataset.userId = userId;
      tile.el.dataset.source = slot.source || "camera";
      const hand = this.hands.has(userId) ? h("span", { class: "hand", title: t("video.hand_raised") }, icon("hand"), h("span", { class: "visually-hidden" }, t("video.hand_raised"))) : null;
      replace(tile.caption, hand, this.nameOf(userId), slot.source === "screen" ? ` · ${t("video.screen")}` : "");
      replace(tile.tools, this.session.isTeacher ? this.teacherTools(userId) : null);
    }
    this.markSpeakers();
  }

  // Outline the tiles of whoever is speaking, without re-rendering them.
  markSpeakers() {
    for (const tile of this.tiles.values()) {
      const userId = tile.video.dataset.userId;
      tile.el.classList.toggle("speaking", Boolean(userId) && this.speaking.has(userId));
    }
    if (this.localTile) this.localTile.classList.toggle("speaking", this.speaking.has(this.session.me.id));
  }

  teacherTools(userId) {
    const name = this.nameOf(userId);
    const muted = this.mutedUsers.has(userId);
    const videoOff = this.videoOffUsers.has(userId);
    const spotlit = this.spotlit === userId;
    const tool = (testid, label, iconName, onclick, pressed) => h("button", {
      type: "button", class: "tile-btn", testid, "aria-label": label, title: label, onclick,
      ...(pressed === undefined ? {} : { "aria-pressed": String(pressed) }),
    }, icon(iconName));
    const spotlight = tool("spotlight-participant", t(spotlit ? "video.unspotlight" : "video.spotlight_name", { name }), "spark",
      () => this.moderate(MEDIA.spotlight, spotlit ? null : userId), spotlit);
    if (!this.mayControl(userId)) return [spotlight];
    return [
      tool("mute-participant", t(muted ? "video.unmute_name" : "video.mute_name", { name }), muted ? "mic" : "mic-off",
        () => this.moderate(muted ? MEDIA.unmute : MEDIA.mute, userId)),
      tool("video-off-participant", t(videoOff ? "video.video_on_name" : "video.video_off_name", { name }), videoOff ? "video" : "video-off",
        () => this.moderate(videoOff ? MEDIA.videoOn : MEDIA.videoOff, userId)),
      spotlight,
      tool("remove-participant", t("video.remove_name", { name }), "x", () => this.moderate(MEDIA.remove, userId)),
    ];
  }

  // The server's rule, as for forum mutes: teachers control members and guests, the owner also
  // teachers, nobody the owner. Tools that would only be refused are not offered.
  mayControl(userId) {
    const members = this.session.room.members || [];
    const target = members.find((m) => m.id === userId);
    const role = target ? target.role : "member";
    return role !== "owner" && (role !== "teacher" || this.session.role === "owner");
  }

  // Teachers end the session for everyone: connections close and its summary is posted.
  async endForAll() {
    try {
      await this.call.request(MEDIA.end);
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  async toggleLock() {
    try {
      await this.call.request(this.locked ? MEDIA.unlock : MEDIA.lock);
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  async moderate(event, userId) {
    try {
      await this.call.request(event, { user_id: userId });
      if (event === MEDIA.mute || event === MEDIA.videoOff) {
        announce(t(event === MEDIA.mute ? "video.muted_someone" : "video.video_off_someone", { name: this.nameOf(userId) }));
      }
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  onState(state) {
    if (!state) return;
    if (this.news) this.news.state(state);
    if (state.ended) {
      this.leave(true);
      this.status.textContent = t("video.ended");
      return;
    }
    if (Array.isArray(state.hands)) this.hands = new Set(state.hands);
    if (Array.isArray(state.participants)) this.present = new Set(state.participants);
    if (Array.isArray(state.muted)) this.mutedUsers = new Set(state.muted);
    if (Array.isArray(state.video_off)) this.videoOffUsers = new Set(state.video_off);
    this.spotlit = state.spotlight || null;
    this.locked = Boolean(state.locked);
    this.lockBtn.hidden = !this.session.isTeacher;
    this.lockBtn.setAttribute("aria-pressed", String(this.locked));
    this.lockBtn.querySelector(".ctl-label").textContent = t(this.locked ? "video.unlock" : "video.lock");
    if (this.session.isTeacher && Array.isArray(state.waiting)) this.renderLobbyQueue(state.waiting);
    this.renderSlots();
  }

  // Teachers see who waits in the lobby and let them in (or not).
  renderLobbyQueue(waiting) {
    if (!this.queue) {
      this.queue = h("ul", { class: "lobby-queue", testid: "lobby-queue", "aria-label": t("video.lobby") });
      this.stage.prepend(this.queue);
    }
    replace(this.queue, waiting.map((userId) => h("li", {},
      h("span", {}, t("video.waits", { name: this.nameOf(userId) })),
      h("button", { type: "button", class: "btn btn-primary btn-small", onclick: () => this.moderate(MEDIA.admit, userId) }, t("video.admit")),
      h("button", { type: "button", class: "btn btn-quiet btn-small", onclick: () => this.moderate(MEDIA.deny, userId) }, t("video.deny")))));
  }

  onModeration(data) {
    const me = this.session.me.id;
    if (data.user_id && data.user_id !== me) return;
    if (data.action === "mute") {
      this.mutedBy.audio = true;
      this.mic = false;
      this.call.setMicrophone(false);
      this.say(t("video.you_were_muted"));
    } else if (data.action === "unmute") {
      this.mutedBy.audio = false;
      this.say(t("video.you_may_unmute"));
    } else if (data.action === "video_on") {
      this.mutedBy.video = false;
      this.say(t("video.you_may_unmute"));
    } else if (data.action === "session_remove") {
      this.leave(true);
      this.showError(t("video.removed"));
      return;
    } else if (data.action === "video_off") {
      this.mutedBy.video = true;
      this.cam = false;
      this.call.setCamera(false);
      this.say(t("video.your_video_stopped"));
    }
    this.syncButtons();
  }

  say(text) {
    this.notice.textContent = text;
    this.notice.hidden = false;
  }

  syncButtons() {
    const hasMic = Boolean(this.call && this.call.local && this.call.local.getAudioTracks().length);
    const hasCam = Boolean(this.call && this.call.local && this.call.local.getVideoTracks().length);
    this.micBtn.setAttribute("aria-pressed", String(this.mic));
    this.micBtn.dataset.state = this.mutedBy.audio ? "muted-by-teacher" : this.mic ? "on" : "off";
    this.micBtn.disabled = !hasMic || this.mutedBy.audio;
    this.micBtn.setIcon(this.mic);
    this.micBtn.querySelector(".ctl-label").textContent = this.mutedBy.audio ? t("video.muted_by_teacher") : this.mic ? t("video.mic") : t("video.mic_off");
    this.camBtn.setAttribute("aria-pressed", String(this.cam));
    this.camBtn.dataset.state = this.mutedBy.video ? "off-by-teacher" : this.cam ? "on" : "off";
    this.camBtn.disabled = !hasCam || this.mutedBy.video;
    this.camBtn.setIcon(this.cam);
    this.camBtn.querySelector(".ctl-label").textContent = this.cam ? t("video.camera") : t("video.camera_off");
    if (this.localTile) this.localTile.classList.toggle("cam-off", !this.cam);
  }

  toggleMic() {
    this.mic = !this.mic;
    this.call.setMicrophone(this.mic);
    this.syncButtons();
  }

  toggleCam() {
    this.cam = !this.cam;
    this.call.setCamera(this.cam);
    this.syncButtons();
  }

  async toggleScreen() {
    try {
      if (this.call.screen) await this.call.stopScreen();
      else await this.call.shareScreen();
    } catch (err) {
      if (err && err.name !== "NotAllowedError") this.showError(mediaErrorText(err));
    }
    this.screenBtn.setAttribute("aria-pressed", String(Boolean(this.call && this.call.screen)));
  }

  async toggleHand() {
    const raised = this.handBtn.getAttribute("aria-pressed") !== "true";
    try {
      await this.call.request(MEDIA.hand, { raised });
      this.handBtn.setAttribute("aria-pressed", String(raised));
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  async leave(quiet = false) {
    const call = this.call;
    this.call = null;
    const hadFocus = this.host.contains(document.activeElement);
    if (call) await call.leave();
    for (const tile of this.tiles.values()) tile.video.srcObject = null;
    for (const audio of this.audios.values()) audio.srcObject = null;
    this.tiles.clear();
    this.audios.clear();
    replace(this.grid);
    replace(this.audioHost);
    this.localTile = null;
    this.present = null;
    this.mutedBy = { audio: false, video: false };
    this.notice.hidden = true;
    this.waitingNote.hidden = true;
    this.stage.hidden = true;
    this.lobby.hidden = false;
    this.joinBtn.disabled = false;
    keepFocus(this.joinBtn, hadFocus); // Join is back in Leave's place
    this.handBtn.setAttribute("aria-pressed", "false");
    this.screenBtn.setAttribute("aria-pressed", "false");
    if (!quiet) this.status.textContent = t("video.left");
  }

  changed(kind, data) {
    if (kind === "presence" || kind === "room") this.renderSlots();
    if (kind.startsWith("session:")) this.schedule.apply(kind, data);
    if (kind === "reset") this.schedule.load();
  }

  destroy() {
    this.leave(true);
    super.destroy();
  }
}
