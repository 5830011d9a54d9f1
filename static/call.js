// A live video call through the server's SFU: one publishing RTCPeerConnection
// (we offer our camera, microphone and screen) and one subscribing connection
// (the SFU offers a fixed set of video "slots" and one audio line per speaker,
// and tells us which user each slot shows). Signalling rides on Socket.IO.
import { live } from "./socket.js";

// The Socket.IO names of the media signalling, in one place.
export const MEDIA = {
  join: "media:join",
  leave: "media:leave",
  publish: "media:publish",
  subscribe: "media:subscribe",
  answer: "media:answer",
  offer: "media:offer", // server -> client: a re-offer on the subscribing connection
  slots: "media:slots", // server -> client: which user feeds each mid
  state: "media:state", // server -> client: who is in the call, hands, mutes
  hand: "media:hand",
  speaking: "media:speaking", // server -> client: who is speaking now
  replaced: "media:replaced", // server -> client: another tab of ours took our seat
  rejoin: "media:rejoin", // server -> client: the call moved to another server: join again
  mute: "media:mute",
  muteAll: "media:mute_all",
  unmute: "media:unmute",
  videoOff: "media:video_off",
  videoOn: "media:video_on",
  admit: "media:lobby_admit",
  deny: "media:lobby_deny",
  remove: "media:session_remove",
  spotlight: "media:spotlight",
  end: "media:end",
  lock: "media:lock",
  unlock: "media:unlock",
};

// No trickle ICE on the SFU side: send SDP only once every candidate is in it.
function gathered(pc, ms = 5000) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, ms);
  });
}

// Camera and/or microphone, optionally from chosen devices. A remembered device that is gone
// (unplugged since) is no reason to fail: unless `strict`, the browser's default is used then.
// (Chromium does not honour `ideal` device ids, hence `exact` and the second try.)
export async function captureMedia({ audio = true, video = true, audioDevice = "", videoDevice = "", strict = false } = {}) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    const err = new Error("no mediaDevices");
    err.name = "NotSupportedError";
    throw err;
  }
  const ask = (mic, cam) => navigator.mediaDevices.getUserMedia({
    audio: audio ? { echoCancellation: true, noiseSuppression: true, ...(mic ? { deviceId: { exact: mic } } : {}) } : false,
    video: video ? { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 }, ...(cam ? { deviceId: { exact: cam } } : {}) } : false,
  });
  try {
    return await ask(audioDevice, videoDevice);
  } catch (err) {
    const gone = err && (err.name === "OverconstrainedError" || err.name === "NotFoundError");
    if (strict || !gone || !(audioDevice || videoDevice)) throw err;
    return ask("", "");
  }
}

export class Call extends EventTarget {
  constructor(roomId, me) {
    super();
    this.roomId = roomId;
    this.me = me;
    this.pub = null;
    this.sub = null;
    this.local = null; // MediaStream of camera and microphone
    this.screen = null; // MediaStream of a screen share
    this.senders = {}; // camera, microphone, screen -> RTCRtpSender
    this.slots = new Map(); // mid -> {kind, user_id, source}
    this.slotsVersion = 0; // of the slots above: announcements can arrive out of order
    this.remote = new Map(); // mid -> MediaStreamTrack
    this.unsubscribe = [];
    this.iceServers = [];
    this.ended = false;
    this.starts = 0; // live-session starts seen in this room since joining
    this.waits = new Set(); // pending waits (session start, lobby), cancelled by leave()
    this.joined = false; // seated once: from then on a lost call is joined again by itself
    this.rejoining = false;
    this.rejoinAgain = false;
  }

  emit(kind, data) {
    this.dispatchEvent(new CustomEvent(kind, { detail: data }));
  }

  request(event, payload = {}) {
    return live.request(event, { room_id: this.roomId, ...payload });
  }

  // Ask for camera and/or microphone; rethrows the browser's error for the view to explain.
  async capture(options = {}) {
    this.local = await captureMedia(options);
    return this.local;
  }

  // Send a stream captured beforehand (the lobby's preview) instead of capturing again.
  useStream(stream) {
    this.local = stream;
  }

  async join() {
    for (const [name, fn] of [
      [MEDIA.offer, (d) => this.onOffer(d)],
      [MEDIA.slots, (d) => this.onSlots(d)],
      [MEDIA.state, (d) => this.emit("state", d)],
      [MEDIA.hand, (d) => this.emit("hand", d)],
      [MEDIA.speaking, (d) => this.emit("speaking", d)],
      [MEDIA.replaced, (d) => this.emit("replaced", d)],
      [MEDIA.rejoin, () => this.rejoin()],
      ["moderation", (d) => this.emit("moderation", d)],
      ["session:new", (d) => this.onSession(d)],
      ["session:edit", (d) => this.onSession(d)],
    ]) {
      this.unsubscribe.push(live.on(name, (d) => { if (!d || !d.room_id || d.room_id === this.roomId) fn(d); }));
    }
    // A reconnected socket may have reached another server: our seat went with the old socket.
    this.unsubscribe.push(live.on("status", (d) => { if (d && d.connected && d.again) this.rejoin(); }));
    const ack = await this.enter();
    this.joined = true;
    return ack;
  }

  // Join the session (waiting for its start or the lobby), publish and subscribe.
  async enter() {
    let seen = this.starts;
    let ack = await this.request(MEDIA.join);
    while (ack.waiting && !ack.session) {
      // No session is live yet: wait for a teacher to start it, then join again by ourselves.
      // A start that crossed our join has already been counted, so it is never missed.
      this.emit("waiting", ack);
      await this.started(seen);
      seen = this.starts;
      ack = await this.request(MEDIA.join);
    }
    if (ack.waiting) {
      // The room has a lobby: wait for a teacher's lobby_admit, then join for real.
      this.emit("waiting", ack);
      await this.admission();
      ack = await this.request(MEDIA.join);
    }
    this.cameraOff = Boolean(ack.camera_off);
    this.iceServers = ack.ice_servers || ack.iceServers || [];
    this.emit("state", ack);
    if (this.local && this.local.getTracks().length) await this.publish();
    await this.subscribe();
    return ack;
  }

  // Close both connections, keeping our camera and microphone (a screen share stops).
  teardown() {
    for (const pc of [this.pub, this.sub]) if (pc) pc.close();
    this.pub = null;
    this.sub = null;
    this.senders = {};
    this.slots = new Map();
    this.slotsVersion = 0;
    this.remote = new Map();
    if (this.screen) {
      this.screen.getTracks().forEach((t) => t.stop());
      this.screen = null;
      this.emit("screen", null);
    }
  }

  // The call's server went (media:rejoin) or our socket reconnected: tear down and join again.
  // While the next server takes the call over, a join may answer `unavailable`: try again.
  async rejoin() {
    if (this.ended || !this.joined) return;
    if (this.rejoining) {
      this.rejoinAgain = true;
      return;
    }
    this.rejoining = true;
    try {
      for (let attempt = 1; !this.ended; attempt += 1) {
        this.rejoinAgain = false;
        this.teardown();
        this.emit("rejoining");
        try {
          const ack = await this.enter();
          if (this.rejoinAgain || this.ended) continue;
          this.emit("rejoined", ack);
          return;
        } catch (err) {
          if (this.ended || (err && err.code === "left")) return;
          const transient = err && ["unavailable", "timeout", "internal"].includes(err.code);
          if (!transient || attempt >= 8) {
            this.emit("lost", err);
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 2000));
        }
      }
    } finally {
      this.rejoining = false;
    }
  }

  admission() {
    return this.waitFor((resolve, reject) => live.on("moderation", (d) => {
      if (!d || d.room_id !== this.roomId || d.user_id !== this.me) return;
      if (d.action === "lobby_admit") resolve();
      if (d.action === "lobby_deny") reject({ code: "lobby_denied", message: "" });
    }));
  }

  onSession(session) {
    if (!session || session.status !== "live") return;
    this.starts += 1;
    this.emit("started", session);
  }

  // Resolves once a session has started in the room after `seen` starts.
  started(seen) {
    if (this.starts > seen) return Promise.resolve();
    return this.waitFor((resolve) => {
      const onStart = () => resolve();
      this.addEventListener("started", onStart);
      return () => this.removeEventListener("started", onStart);
    });
  }

  // A wait that leave() cancels (rejecting with {code: "left"}). `listen(resolve, reject)`
  // starts listening and returns the function that stops it.
  waitFor(listen) {
    let stop = () => {};
    let cancel = () => {};
    const done = new Promise((resolve, reject) => {
      cancel = () => reject({ code: "left", message: "" });
      stop = listen(resolve, reject);
    });
    this.waits.add(cancel);
    const settle = () => { stop(); this.waits.delete(cancel); };
    done.then(settle, settle);
    return done;
  }

  newConnection() {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    pc.addEventListener("connectionstatechange", () => {
      this.emit("connection", { pc, state: pc.connectionState });
    });
    return pc;
  }

  sources() {
    const out = {};
    for (const [source, sender] of Object.entries(this.senders)) {
      if (sender.track) out[sender.track.id] = source;
      const tr = this.pub && this.pub.getTransceivers().find((t) => t.sender === sender);
      if (tr && tr.mid) out[tr.mid] = source;
    }
    return out;
  }

  async publish() {
    if (!this.pub) {
      this.pub = this.newConnection();
      for (const track of this.local.getTracks()) {
        const stream = new MediaStream([track]);
        const tr = this.pub.addTransceiver(track, { direction: "sendonly", streams: [stream] });
        this.senders[track.kind === "audio" ? "microphone" : "camera"] = tr.sender;
      }
    }
    await this.negotiatePublish();
  }

  async negotiatePublish() {
    const offer = await this.pub.createOffer();
    await this.pub.setLocalDescription(offer);
    await gathered(this.pub);
    const ack = await this.request(MEDIA.publish, { sdp: this.pub.localDescription.sdp, sources: this.sources() });
    await this.pub.setRemoteDescription({ type: "answer", sdp: ack.sdp || ack.answer });
  }

  async subscribe() {
    this.sub = this.newConnection();
    this.sub.addEventListener("track", (e) => {
      const mid = e.transceiver && e.transceiver.mid;
      this.remote.set(mid, e.track);
      this.emit("track", { mid, track: e.track, kind: e.track.kind });
    });
    const ack = await this.request(MEDIA.subscribe);
    // At once, not after answering: announcements made meanwhile carry higher versions.
    this.onSlots(ack);
    await this.answerOffer(ack.sdp || ack.offer);
  }

  async answerOffer(sdp) {
    await this.sub.setRemoteDescription({ type: "offer", sdp });
    const answer = await this.sub.createAnswer();
    await this.sub.setLocalDescription(answer);
    await gathered(this.sub);
    await this.request(MEDIA.answer, { sdp: this.sub.localDescription.sdp });
  }

  async onOffer(data) {
    if (!this.sub || this.ended) return;
    try {
      await this.answerOffer(data.sdp);
    } catch (err) {
      this.emit("error", err);
    }
  }

  // Keep the latest announcement: an older one (a media:slots sent before the subscribe ack,
  // or the ack after newer events) would hide tiles that are live.
  onSlots(data) {
    const version = Number(data && data.version) || 0;
    if (version <= this.slotsVersion) return;
    this.slotsVersion = version;
    this.slots = new Map((data.slots || []).map((s) => [s.mid, s]));
    this.emit("slots", this.slots);
  }

  setMicrophone(on) {
    for (const t of this.local ? this.local.getAudioTracks() : []) t.enabled = on;
  }

  setCamera(on) {
    for (const t of this.local ? this.local.getVideoTracks() : []) t.enabled = on;
  }

  async shareScreen() {
    this.screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const [track] = this.screen.getVideoTracks();
    if (!this.pub) this.pub = this.newConnection();
    const tr = this.pub.addTransceiver(track, { direction: "sendonly", streams: [this.screen] });
    this.senders.screen = tr.sender;
    track.addEventListener("ended", () => this.stopScreen());
    await this.negotiatePublish();
    return this.screen;
  }

  async stopScreen() {
    if (!this.screen) return;
    this.screen.getTracks().forEach((t) => t.stop());
    this.screen = null;
    const sender = this.senders.screen;
    delete this.senders.screen;
    if (this.pub && sender && !this.ended) {
      const tr = this.pub.getTransceivers().find((t) => t.sender === sender);
      if (tr) tr.stop();
      try {
        await this.negotiatePublish();
      } catch (err) {
        this.emit("error", err);
      }
    }
    this.emit("screen", null);
  }

  async leave() {
    if (this.ended) return;
    this.ended = true;
    this.unsubscribe.forEach((fn) => fn());
    for (const cancel of [...this.waits]) cancel();
    for (const stream of [this.local, this.screen]) if (stream) stream.getTracks().forEach((t) => t.stop());
    for (const pc of [this.pub, this.sub]) if (pc) pc.close();
    try {
      await this.request(MEDIA.leave);
    } catch {
      // The server also drops us when the connections close.
    }
  }
}
