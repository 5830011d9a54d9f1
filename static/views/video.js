// The video call: a lobby (a preview of camera and microphone with device choice, or audio
// only), then the tiles in a grid or a speaker view, our controls, the participant list, and
// for teachers the controls on each participant.
import { api, paths } from "../api.js";
import { Call, MEDIA, captureMedia } from "../call.js";
import { field, h, icon, replace } from "../dom.js";
import { errorText, t } from "../i18n.js";
import { announce, keepFocus } from "../ui.js";
import { CallNews } from "./callnews.js";
import { confirmAction } from "./confirm.js";
import { Panel } from "./panel.js";
import { Schedule } from "./schedule.js";

const DEVICE_KEYS = { audioinput: "twinrooms.mic", videoinput: "twinrooms.camera" };

function savedDevice(kind) {
  try {
    return localStorage.getItem(DEVICE_KEYS[kind]) || "";
  } catch {
    return "";
  }
}

function saveDevice(kind, id) {
  try {
    localStorage.setItem(DEVICE_KEYS[kind], id || "");
  } catch {
    // Private browsing may refuse storage: the choice then holds for this visit only.
  }
}

// "Zofia" -> "Z", "Marie Curie" -> "MC", "Noé de la Tour" -> "NT".
export function initials(name) {
  const words = String(name || "").trim().split(/\s+/).filter(Boolean);
  const picked = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return picked.map((w) => Array.from(w)[0] || "").join("").toLocaleUpperCase();
}

function avatar(name) {
  return h("div", { class: "tile-avatar when-cam-off", "aria-hidden": "true" },
    h("span", { class: "initials", testid: "tile-initials" }, initials(name)),
    h("span", { class: "avatar-name" }, name));
}

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
    this.avatars = new Map(); // user id -> tile of someone we receive no camera from
    this.layoutChoice = null; // null: the speaker view while a screen is shared, else the grid
    this.mainKey = null; // the tile shown large in the speaker view
    this.preview = null; // the lobby's MediaStream, handed to the call at joining
    this.grid = h("div", { class: "video-grid", testid: "video-grid", role: "group", "aria-label": t("video.grid") });
    this.audioHost = h("div", { hidden: true });
    this.status = h("p", { class: "call-status", role: "status" });
    this.error = h("p", { class: "form-error", role: "alert", hidden: true });
    this.lobby = this.renderLobby();
    this.stage = this.renderStage();
    this.schedule = new Schedule(session, { start: (s) => this.startPlanned(s) });
    this.onFullscreen = () => this.syncFullscreen();
    document.addEventListener("fullscreenchange", this.onFullscreen);
    replace(host,
      h("div", { class: "panel-head" }, h("h2", {}, t("video.title")), this.status),
      this.error, this.lobby, this.stage, this.schedule.el, this.audioHost);
    this.schedule.load();
  }

  renderLobby() {
    this.audioOnly = h("input", { type: "checkbox", id: "audio-only", testid: "audio-only",
      onchange: () => { if (this.preview) this.startPreview(); } });
    this.joinBtn = h("button", { type: "button", class: "btn btn-primary btn-large", testid: "join-video", onclick: () => this.join() },
      icon("video"), t("video.join"));
    this.previewBtn = h("button", { type: "button", class: "btn btn-secondary", testid: "preview-start", onclick: () => this.startPreview() },
      icon("video"), t("video.preview"));
    this.previewVideo = h("video", { autoplay: true, playsinline: true, class: "mirror", testid: "preview-video", "aria-label": t("video.preview_video") });
    this.previewVideo.muted = true;
    this.micLevel = h("meter", { min: "0", max: "1", value: "0", testid: "mic-level", class: "mic-level" });
    this.cameraSelect = h("select", { testid: "camera-select", onchange: () => this.chooseDevice("videoinput", this.cameraSelect.value) });
    this.micSelect = h("select", { testid: "mic-select", onchange: () => this.chooseDevice("audioinput", this.micSelect.value) });
    this.previewBox = h("div", { class: "preview", hidden: true },
      h("div", { class: "tile preview-tile" }, this.previewVideo,
        h("div", { class: "tile-avatar when-cam-off", "aria-hidden": "true" }, icon("video-off"))),
      h("div", { class: "preview-devices" },
        field(t("video.camera_choice"), this.cameraSelect),
        field(t("video.mic_choice"), this.micSelect),
        field(t("video.mic_level"), this.micLevel)));
    return h("div", { class: "card video-lobby" },
      h("div", { class: "lobby-art", "aria-hidden": "true" }, icon("video")),
      h("div", { class: "lobby-body" },
        h("p", {}, t("video.intro")),
        this.previewBox,
        h("p", { class: "check" }, this.audioOnly, " ", h("label", { for: "audio-only" }, t("video.audio_only"))),
        h("div", { class: "lobby-actions" }, this.joinBtn, this.previewBtn),
        h("p", { class: "hint" }, t("video.privacy"))));
  }

  // Show the camera and the microphone's level before joining, with the devices to choose from.
  async startPreview(choice = {}) {
    this.showError("");
    this.stopPreview();
    const video = !this.audioOnly.checked;
    try {
      this.preview = await captureMedia({
        audio: true, video,
        audioDevice: choice.audioinput || savedDevice("audioinput"),
        videoDevice: choice.videoinput || savedDevice("videoinput"),
        strict: Boolean(choice.audioinput || choice.videoinput),
      });
    } catch (err) {
      this.showError(mediaErrorText(err));
      return;
    }
    this.previewVideo.srcObject = this.preview;
    this.previewBox.querySelector(".preview-tile").classList.toggle("cam-off", !this.preview.getVideoTracks().length);
    this.previewBox.hidden = false;
    this.previewBtn.hidden = true;
    this.meter(this.preview);
    await this.listDevices();
  }

  async listDevices() {
    let devices = [];
    try {
      devices = await navigator.mediaDevices.enumerateDevices();
    } catch {
      devices = [];
    }
    const inUse = (kind) => {
      const tracks = this.preview ? (kind === "audioinput" ? this.preview.getAudioTracks() : this.preview.getVideoTracks()) : [];
      return tracks.length ? tracks[0].getSettings().deviceId || "" : "";
    };
    for (const [kind, select] of [["videoinput", this.cameraSelect], ["audioinput", this.micSelect]]) {
      const list = devices.filter((d) => d.kind === kind && d.deviceId);
      replace(select, list.map((d, i) => h("option", { value: d.deviceId },
        d.label || t(kind === "audioinput" ? "video.mic_n" : "video.camera_n", { n: i + 1 }))));
      select.value = inUse(kind);
      select.disabled = !list.length || (kind === "videoinput" && this.audioOnly.checked);
    }
  }

  async chooseDevice(kind, deviceId) {
    saveDevice(kind, deviceId);
    const other = kind === "audioinput" ? "videoinput" : "audioinput";
    const select = other === "audioinput" ? this.micSelect : this.cameraSelect;
    await this.startPreview({ [kind]: deviceId, [other]: select.value });
  }

  // A level meter for the microphone, from the browser's own analyser (nothing leaves the page).
  meter(stream) {
    if (!stream.getAudioTracks().length || typeof AudioContext === "undefined") return;
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 512;
    ctx.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let peak = 0;
      for (const x of samples) peak = Math.max(peak, Math.abs(x));
      this.micLevel.value = Math.min(1, peak * 2);
    }, 150);
    this.stopMeter = () => {
      clearInterval(timer);
      ctx.close().catch(() => {});
      this.micLevel.value = 0;
    };
  }

  stopPreview(keepTracks = false) {
    if (this.stopMeter) this.stopMeter();
    this.stopMeter = null;
    if (this.preview && !keepTracks) this.preview.getTracks().forEach((tr) => tr.stop());
    this.preview = null;
    this.previewVideo.srcObject = null;
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
    this.layoutBtn = h("button", { type: "button", class: "ctl", testid: "layout-toggle", "aria-pressed": "false", onclick: () => this.toggleLayout() },
      h("span", { class: "ctl-icon" }, icon("layout")), h("span", { class: "ctl-label" }, t("video.speaker_view")));
    this.peopleCount = h("span", { class: "ctl-count" }, "1");
    this.peopleBtn = h("button", { type: "button", class: "ctl", testid: "participants-toggle", "aria-expanded": "false", "aria-controls": "call-people",
      onclick: () => this.togglePeople() },
    h("span", { class: "ctl-icon" }, icon("people")), h("span", { class: "ctl-label" }, t("video.participants")), this.peopleCount);
    // Destructive controls keep a visible label on every screen (see style.css).
    this.endBtn = h("button", { type: "button", class: "ctl ctl-danger", testid: "end-call", hidden: !this.session.isTeacher, onclick: () => this.endForAll() },
      h("span", { class: "ctl-icon" }, icon("x")), h("span", { class: "ctl-label" }, t("video.end")));
    const leave = this.leaveBtn = h("button", { type: "button", class: "ctl ctl-leave ctl-danger", testid: "leave-video", onclick: () => this.leave() },
      h("span", { class: "ctl-icon" }, icon("leave")), h("span", { class: "ctl-label" }, t("video.leave")));
    this.notice = h("p", { class: "notice call-notice", testid: "call-notice", role: "alert", hidden: true });
    this.waitingNote = h("p", { class: "notice call-waiting", testid: "call-waiting", hidden: true });
    this.peopleList = h("ul", { class: "people-list", testid: "participant-list" });
    this.muteAllBtn = h("button", { type: "button", class: "btn btn-small btn-secondary", testid: "mute-all", hidden: !this.session.isTeacher,
      onclick: () => this.muteAll() }, icon("mic-off"), t("video.mute_all"));
    this.people = h("aside", { class: "call-people card", id: "call-people", "aria-labelledby": "call-people-h", hidden: true },
      h("div", { class: "call-people-head" }, h("h3", { id: "call-people-h" }, t("video.participants")), this.muteAllBtn),
      this.peopleList);
    return h("div", { class: "video-stage", hidden: true },
      this.notice,
      this.waitingNote,
      h("div", { class: "call-main" }, this.grid, this.people),
      h("div", { class: "call-controls", role: "toolbar", "aria-label": t("video.controls") },
        this.micBtn, this.camBtn, this.screenBtn, this.handBtn, this.layoutBtn, this.peopleBtn, this.lockBtn, this.endBtn, leave));
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
    const devices = { audioDevice: savedDevice("audioinput"), videoDevice: savedDevice("videoinput") };
    try {
      if (this.preview) {
        // What the preview showed is what the call sends.
        const stream = this.preview;
        this.stopPreview(true);
        if (audioOnly) stream.getVideoTracks().forEach((tr) => { tr.stop(); stream.removeTrack(tr); });
        call.useStream(stream);
      } else await call.capture({ audio: true, video: !audioOnly, ...devices });
    } catch (err) {
      // Try the microphone alone before giving up on sending anything.
      let fallback = null;
      if (!audioOnly) {
        try {
          await call.capture({ audio: true, video: false, audioDevice: devices.audioDevice });
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
    this.previewBox.hidden = true;
    this.previewBtn.hidden = false;
    this.lobby.hidden = true;
    this.stage.hidden = false;
    document.body.classList.add("in-call");
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
      this.seated = true;
      // Others see our initials instead of a black tile, and the SFU forwards nothing.
      if (!this.cam && call.local && call.local.getVideoTracks().length) this.tellCamera(false);
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
    call.addEventListener("rejoining", () => {
      // The call moved to another server: the remote tiles go, ours stays.
      for (const tile of this.tiles.values()) {
        tile.video.srcObject = null;
        tile.el.remove();
      }
      for (const audio of this.audios.values()) {
        audio.srcObject = null;
        audio.remove();
      }
      this.tiles.clear();
      this.audios.clear();
      this.status.textContent = t("video.reconnecting");
      this.renderSlots();
    });
    call.addEventListener("rejoined", () => {
      if (this.call !== call) return;
      if (!this.cam && call.local && call.local.getVideoTracks().length) this.tellCamera(false);
      this.status.textContent = t("video.connected");
    });
    call.addEventListener("lost", (e) => {
      if (this.call !== call) return;
      this.leave(true);
      this.showError(errorText(e.detail));
    });
    call.addEventListener("error", (e) => this.showError(errorText(e.detail)));
  }

  addLocalTile(stream) {
    const hasVideo = stream && stream.getVideoTracks().length;
    const video = h("video", { autoplay: true, playsinline: true, testid: "local-video", class: "mirror" });
    video.muted = true;
    if (stream) video.srcObject = stream;
    const name = `${this.session.me.display_name} (${t("video.you")})`;
    const el = h("figure", { class: `tile local${hasVideo ? "" : " no-video cam-off"}`, dataset: { key: "local" } },
      hasVideo ? video : null,
      avatar(this.session.me.display_name),
      h("figcaption", { title: name }, name),
      h("div", { class: "tile-tools" }, this.fullscreenButton(name)));
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
    const face = h("div", { class: "tile-face" });
    const el = h("figure", { class: "tile remote", dataset: { mid, key: `mid:${mid}` }, hidden: true }, video, face, caption, tools);
    this.tiles.set(mid, { el, video, caption, tools, face });
    this.grid.append(el);
    this.renderSlots();
  }

  fullscreenButton(name) {
    const btn = h("button", { type: "button", class: "tile-btn", testid: "tile-fullscreen", "aria-pressed": "false",
      "aria-label": t("video.fullscreen_name", { name }), title: t("video.fullscreen_name", { name }),
      onclick: () => {
        const tile = btn.closest("figure.tile");
        if (document.fullscreenElement === tile) document.exitFullscreen().catch(() => {});
        else if (tile && tile.requestFullscreen) tile.requestFullscreen().catch((err) => this.showError(errorText(err)));
      } }, icon("expand"));
    return btn;
  }

  syncFullscreen() {
    for (const btn of this.stage.querySelectorAll('[data-testid="tile-fullscreen"]')) {
      btn.setAttribute("aria-pressed", String(document.fullscreenElement === btn.closest("figure.tile")));
    }
  }

  // Tiles for the people we receive no camera from (camera off, audio only, beyond the last-N
  // videos): their initials and name, never a black square.
  renderAvatars(shown) {
    const me = this.session.me.id;
    const want = new Set([...(this.present || [])].filter((id) => id !== me && !shown.has(id)));
    for (const [userId, tile] of this.avatars) {
      if (!want.has(userId)) {
        tile.el.remove();
        this.avatars.delete(userId);
      }
    }
    for (const userId of want) {
      let tile = this.avatars.get(userId);
      if (!tile) {
        const caption = h("figcaption", {});
        const tools = h("div", { class: "tile-tools" });
        const face = h("div", { class: "tile-face" });
        const el = h("figure", { class: "tile remote no-video cam-off", dataset: { userId, key: `user:${userId}` } }, face, caption, tools);
        tile = { el, caption, tools, face };
        this.avatars.set(userId, tile);
        this.grid.append(el);
      }
      this.fillTile(tile, userId, "camera");
    }
  }

  fillTile(tile, userId, source) {
    const name = this.nameOf(userId);
    const hand = this.hands.has(userId) ? h("span", { class: "hand", title: t("video.hand_raised") }, icon("hand"), h("span", { class: "visually-hidden" }, t("video.hand_raised"))) : null;
    const text = source === "screen" ? t("video.screen_of", { name }) : name;
    replace(tile.caption, hand, h("span", { class: "caption-text" }, text));
    tile.caption.title = text;
    if (tile.face.dataset.name !== name) {
      replace(tile.face, avatar(name));
      tile.face.dataset.name = name;
    }
    replace(tile.tools, this.fullscreenButton(text), source === "camera" && this.session.isTeacher ? this.teacherTools(userId) : null);
  }

  renderSlots() {
    if (!this.call) return;
    const shown = new Set(); // users whose camera a tile shows
    for (const [mid, tile] of this.tiles) {
      const slot = this.call.slots.get(mid);
      // A slot can lag behind someone leaving; the call's state says who is really here.
      const here = (id) => !this.present || this.present.has(id);
      const userId = slot && slot.user_id && here(slot.user_id) ? slot.user_id : null;
      tile.el.hidden = !userId;
      if (!userId) {
        tile.video.removeAttribute("data-user-id");
        tile.el.removeAttribute("data-user-id");
        continue;
      }
      const source = slot.source || "camera";
      tile.video.dataset.userId = userId;
      tile.el.dataset.userId = userId;
      tile.el.dataset.source = source;
      if (source === "camera") shown.add(userId);
      // A camera its owner (or a teacher) switched off sends black frames, or none.
      tile.el.classList.toggle("cam-off", source === "camera" && this.videoOffUsers.has(userId));
      this.fillTile(tile, userId, source);
    }
    this.renderAvatars(shown);
    this.renderLayout();
    this.renderPeople();
    this.markSpeakers();
  }

  toggleLayout() {
    this.layoutChoice = !this.speakerView();
    this.renderLayout();
  }

  speakerView() {
    if (this.layoutChoice !== null) return this.layoutChoice;
    return Boolean(this.grid.querySelector('figure.tile[data-source="screen"]:not([hidden])'));
  }

  // The speaker view: one tile large (a shared screen first, then the spotlight, then whoever
  // speaks, then whoever was large already), the others in a strip below it.
  renderLayout() {
    const speaker = this.speakerView();
    this.grid.classList.toggle("layout-speaker", speaker);
    this.layoutBtn.setAttribute("aria-pressed", String(speaker));
    const tiles = [...this.grid.querySelectorAll("figure.tile:not([hidden])")];
    const remote = tiles.filter((el) => !el.classList.contains("local"));
    const pick = tiles.find((el) => el.dataset.source === "screen")
      || (this.spotlit && remote.find((el) => el.dataset.userId === this.spotlit))
      || remote.find((el) => this.speaking.has(el.dataset.userId) && el.dataset.source !== "screen")
      || tiles.find((el) => el.dataset.key === this.mainKey)
      || remote[0] || tiles[0];
    this.mainKey = speaker && pick ? pick.dataset.key : null;
    for (const el of tiles) el.classList.toggle("main", speaker && el === pick);
  }

  togglePeople() {
    this.people.hidden = !this.people.hidden;
    this.peopleBtn.setAttribute("aria-expanded", String(!this.people.hidden));
    this.renderPeople();
  }

  // Everyone in the call, with microphone, camera and hand; teachers act on each from here too.
  renderPeople() {
    const me = this.session.me.id;
    const ids = [...(this.present || [me])];
    this.peopleCount.textContent = String(ids.length);
    if (this.people.hidden) return;
    const byName = (a, b) => (a === me ? -1 : b === me ? 1 : this.nameOf(a).localeCompare(this.nameOf(b)));
    replace(this.peopleList, ids.sort(byName).map((userId) => {
      const name = userId === me ? `${this.nameOf(userId)} (${t("video.you")})` : this.nameOf(userId);
      const flags = [];
      if (this.hands.has(userId)) flags.push(["hand", t("video.hand_raised")]);
      if (this.mutedUsers.has(userId) || (userId === me && !this.mic)) flags.push(["mic-off", t("video.state_muted")]);
      if (this.videoOffUsers.has(userId) || (userId === me && !this.cam)) flags.push(["video-off", t("video.camera_off")]);
      const tools = this.session.isTeacher && userId !== me && this.mayControl(userId) ? this.listTools(userId) : null;
      return h("li", { dataset: { userId } },
        h("span", { class: "person-face", "aria-hidden": "true" }, initials(this.nameOf(userId))),
        h("span", { class: "person-name" }, name),
        h("span", { class: "person-flags" }, flags.map(([ic, label]) => h("span", { class: "person-flag", title: label }, icon(ic), h("span", { class: "visually-hidden" }, label)))),
        tools);
    }));
  }

  listTools(userId) {
    const name = this.nameOf(userId);
    const muted = this.mutedUsers.has(userId);
    return h("span", { class: "person-tools" },
      h("button", { type: "button", class: "btn btn-small btn-secondary", testid: "list-mute", "aria-label": t(muted ? "video.unmute_name" : "video.mute_name", { name }),
        onclick: () => this.moderate(muted ? MEDIA.unmute : MEDIA.mute, userId) }, t(muted ? "video.unmute" : "video.mute")),
      h("button", { type: "button", class: "btn btn-small btn-danger", testid: "list-remove", "aria-label": t("video.remove_name", { name }),
        onclick: () => this.removeFromCall(userId) }, icon("x"), t("video.remove")));
  }

  async muteAll() {
    try {
      await this.call.request(MEDIA.muteAll);
      announce(t("video.muted_all"));
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  async removeFromCall(userId) {
    const name = this.nameOf(userId);
    const sure = await confirmAction({
      title: t("video.remove_confirm_title", { name }),
      body: t("video.remove_confirm_body", { name }),
      confirm: t("video.remove"),
    });
    if (sure && this.call) await this.moderate(MEDIA.remove, userId);
  }

  // A planned session's "Start": start it, then join it.
  async startPlanned(s) {
    try {
      await api.post(`${paths.session(s.id)}/start`);
    } catch (err) {
      this.showError(errorText(err));
      return;
    }
    await this.join();
  }

  // Outline the tiles of whoever is speaking, without re-rendering them.
  markSpeakers() {
    for (const tile of [...this.tiles.values(), ...this.avatars.values()]) {
      const userId = tile.el.dataset.userId;
      tile.el.classList.toggle("speaking", Boolean(userId) && this.speaking.has(userId));
    }
    if (this.localTile) this.localTile.classList.toggle("speaking", this.speaking.has(this.session.me.id));
    if (this.grid.classList.contains("layout-speaker")) this.renderLayout(); // the speaker goes large
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
      h("button", { type: "button", class: "tile-btn tile-btn-danger", testid: "remove-participant", "aria-label": t("video.remove_name", { name }),
        title: t("video.remove_name", { name }), onclick: () => this.removeFromCall(userId) }, icon("x"), h("span", { class: "tile-btn-label" }, t("video.remove"))),
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
    const sure = await confirmAction({
      title: t("video.end_confirm_title"),
      body: t("video.end_confirm_body"),
      confirm: t("video.end"),
    });
    if (!sure || !this.call) return;
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
    if (data.by === me && data.user_id === me) return; // our own camera switch, already shown
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
    this.screenBtn.hidden = !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
    this.renderPeople();
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
    if (this.seated) this.tellCamera(this.cam);
  }

  // Tell the call our camera is off (others then show our initials) or on again.
  tellCamera(on) {
    this.call.request(on ? MEDIA.videoOn : MEDIA.videoOff, { user_id: this.session.me.id }).catch(() => {
      // Only what others see is at stake; our own camera is already switched.
    });
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
    this.avatars.clear();
    this.seated = false;
    this.mainKey = null;
    this.layoutChoice = null;
    document.body.classList.remove("in-call");
    if (document.fullscreenElement && this.stage.contains(document.fullscreenElement)) document.exitFullscreen().catch(() => {});
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
    document.removeEventListener("fullscreenchange", this.onFullscreen);
    this.stopPreview();
    this.leave(true);
    super.destroy();
  }
}
