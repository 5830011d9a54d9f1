// The one Socket.IO connection, authenticated by the session cookie. Views and
// the room session subscribe to server events here; requests wait for their ack.
import { api } from "./api.js";
import { io } from "./vendor/socket.io.esm.min.js";

export const SERVER_EVENTS = [
  "presence", "post:new", "post:edit", "post:delete", "thread:new", "thread:edit",
  "thread:delete", "file:new", "file:delete", "room:edit", "room:delete", "moderation",
  "member:new", "member:edit", "member:remove", "room:chat_mode", "post:hide", "post:restore",
  "session:new", "session:edit", "session:delete", "report:new",
  "file:edit", "folder:new", "folder:delete", "folder:move", "file:purge", "member:mute",
];
// Sent by the server and deliberately left alone: the call follows `media:slots`, which says
// who feeds each m-line, and needs no list of every published track.
// (tests/unit/test_event_names.py compares these lists, the server and docs/api.md.)
export const IGNORED_EVENTS = ["media:tracks"];

class Live extends EventTarget {
  constructor() {
    super();
    this.socket = null;
    this.connectedOnce = false;
  }

  get connected() {
    return Boolean(this.socket && this.socket.connected);
  }

  start() {
    if (this.socket) return this.socket;
    const socket = io({ path: "/socket.io/", transports: ["websocket"], withCredentials: true });
    this.socket = socket;
    socket.onAny((event, data) => this.dispatchEvent(new CustomEvent(event, { detail: data })));
    socket.on("connect", () => {
      const again = this.connectedOnce;
      this.connectedOnce = true;
      this.dispatchEvent(new CustomEvent("status", { detail: { connected: true, again } }));
    });
    socket.on("disconnect", (reason) => {
      this.dispatchEvent(new CustomEvent("status", { detail: { connected: false, reason } }));
      // The server hung up on purpose (e.g. the session ended): try again, the
      // cookie decides. Transport drops reconnect on their own.
      if (reason === "io server disconnect") setTimeout(() => socket.connect(), 2000);
    });
    socket.on("connect_error", (err) => {
      this.dispatchEvent(new CustomEvent("status", { detail: { connected: false, reason: "error" } }));
      // The session ended (logout elsewhere, expiry): asking who we are over HTTP gets the 401
      // that sends the whole app back to the sign-in page.
      if (err && err.data && err.data.code === "not_signed_in") api.get("/api/me").catch(() => {});
    });
    return socket;
  }

  stop() {
    if (!this.socket) return;
    this.socket.removeAllListeners();
    this.socket.disconnect();
    this.socket = null;
    this.connectedOnce = false;
  }

  // Subscribe to a server event; returns the unsubscribe function.
  on(event, fn) {
    const wrapped = (e) => fn(e.detail);
    this.addEventListener(event, wrapped);
    return () => this.removeEventListener(event, wrapped);
  }

  // Emit and resolve with the ack; a {ok:false} ack or a timeout rejects with {code, message}.
  async request(event, payload, timeoutMs = 15000) {
    const socket = this.start();
    let ack;
    try {
      ack = await socket.timeout(timeoutMs).emitWithAck(event, payload);
    } catch {
      throw { code: "timeout", message: "" };
    }
    if (!ack || ack.ok === false) throw (ack && ack.error) || { code: "internal", message: "" };
    return ack;
  }

  // Fire-and-forget emit for signalling that needs no answer.
  send(event, payload) {
    this.start().emit(event, payload);
  }
}

export const live = new Live();
