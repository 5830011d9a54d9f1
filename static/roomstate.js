// Everything the client holds about the open room, kept current by server events.
// Sequenced events carry `room_seq`; the server sends a room's events in order, so we
// remember the highest one applied: a reconnect resumes with room:join {since}, and an
// event at or below it (live and in `missed`, or in what we loaded) is dropped, so a stale
// post:edit or file:edit never overwrites newer state. Live events that arrive while we
// load or resume wait in a buffer and are applied after what we loaded or missed.
import { api, paths, allPosts, allThreads } from "./api.js";
import { live, SERVER_EVENTS } from "./socket.js";

export class RoomSession extends EventTarget {
  constructor(roomId, me) {
    super();
    this.id = roomId;
    this.me = me;
    this.room = null;
    this.threads = new Map();
    this.posts = new Map(); // thread id -> Map(post id -> post), only threads someone opened
    this.deletedPosts = new Set();
    this.files = new Map();
    this.folders = new Set(); // explicit folders and those holding files, with their parents
    this.presence = [];
    this.maxSeq = 0;
    this.loaded = false;
    this.closed = false;
    this.buffer = null;
    this.resuming = null;
    this.unsubscribe = [];
  }

  get role() {
    return this.room ? this.room.my_role : "guest";
  }
  get isTeacher() {
    return this.role === "owner" || this.role === "teacher";
  }
  get canWrite() {
    return this.role !== "guest";
  }
  // A room's chat can be for teachers only (settings.chat_mode "teachers").
  get canChat() {
    const mode = this.room && this.room.settings && this.room.settings.chat_mode;
    return this.canWrite && (this.isTeacher || mode !== "teachers");
  }
  get chatThread() {
    for (const th of this.threads.values()) if (th.kind === "chat") return th;
    return null;
  }

  emit(kind, data) {
    this.dispatchEvent(new CustomEvent("change", { detail: { kind, data } }));
  }

  // Join over Socket.IO first, then load over HTTP: anything that happens in
  // between arrives as an event and is buffered, so nothing falls in the gap.
  async open() {
    for (const name of SERVER_EVENTS) {
      this.unsubscribe.push(live.on(name, (data) => this.receive(name, data)));
    }
    this.unsubscribe.push(live.on("status", (s) => this.onStatus(s)));
    this.buffer = [];
    const ack = await live.request("room:join", { room_id: this.id });
    this.presence = (ack.presence && ack.presence.users) || [];
    this.maxSeq = Math.max(this.maxSeq, Number(ack.seq) || 0);
    await this.loadAll();
    const pending = this.buffer;
    this.buffer = null;
    pending.forEach(([name, data]) => this.apply(name, data));
    this.loaded = true;
  }

  async loadAll() {
    // The room decides whether we may be here; a missing list only leaves a panel empty.
    const optional = (what, load) => load().catch((err) => {
      console.warn(what, err.code);
      return [];
    });
    const [room, threads, files, folders] = await Promise.all([
      api.get(paths.room(this.id)),
      optional("threads", () => allThreads(this.id)),
      optional("files", () => api.get(paths.files(this.id))),
      optional("folders", () => api.get(paths.folders(this.id))),
    ]);
    this.folders = new Set(folders);
    this.room = room;
    this.threads = new Map(threads.map((th) => [th.id, th]));
    this.files = new Map(files.map((f) => [f.id, f]));
    const opened = [...this.posts.keys()];
    this.posts = new Map();
    await Promise.all(opened.filter((id) => this.threads.has(id)).map((id) => this.loadPosts(id)));
  }

  async loadPosts(threadId) {
    const list = await allPosts(threadId);
    const map = new Map();
    for (const p of list) if (!this.deletedPosts.has(p.id)) map.set(p.id, p);
    // Events that landed while the page was loading are already in the old map.
    const before = this.posts.get(threadId);
    if (before) for (const [id, p] of before) if (!map.has(id)) map.set(id, p);
    this.posts.set(threadId, map);
    return this.postList(threadId);
  }

  postList(threadId) {
    const map = this.posts.get(threadId);
    return map ? [...map.values()].sort((a, b) => a.seq - b.seq) : [];
  }

  onStatus({ connected, again }) {
    this.emit("connection", { connected });
    if (!connected || !again || this.closed || !this.loaded) return Promise.resolve();
    // One resume at a time: a reconnect during a resume waits for it, then asks from there.
    this.resuming = (this.resuming || Promise.resolve()).then(() => this.resume());
    return this.resuming;
  }

  async resume() {
    if (this.closed) return;
    // Live events that arrive while room:join {since} is in flight are newer than what it
    // answers: they wait, and are applied after the missed ones (those already applied drop).
    this.buffer = [];
    let removed = false;
    try {
      // Missed events come in bounded batches: ask again from the last one while more follow
      // (a very long absence can meet room:join's rate limit: wait as told, then go on).
      let ack;
      let from;
      do {
        from = this.maxSeq;
        ack = await joinPatiently(this.id, from);
        for (const { event, data } of ack.missed || []) this.apply(event, data);
      } while (ack.has_more && this.maxSeq > from);
      this.presence = (ack.presence && ack.presence.users) || [];
      this.emit("presence", this.presence);
    } catch (err) {
      removed = Boolean(err && (err.code === "not_found" || err.code === "forbidden"));
      if (removed) this.emit("removed", null);
    } finally {
      const pending = this.buffer || [];
      this.buffer = null;
      if (!removed) pending.forEach(([name, data]) => this.apply(name, data));
    }
  }

  receive(name, data) {
    if (this.closed || !data || (data.room_id && data.room_id !== this.id)) return;
    if (name === "room:delete" && data.id !== this.id) return;
    if (this.buffer) this.buffer.push([name, data]);
    else this.apply(name, data);
  }

  apply(name, data) {
    if (typeof data.room_seq === "number") {
      if (data.room_seq <= this.maxSeq) return; // applied already (or part of what we loaded)
      this.maxSeq = data.room_seq;
    }
    const handler = HANDLERS[name];
    if (handler) handler.call(this, data);
  }

  close() {
    this.closed = true;
    this.unsubscribe.forEach((fn) => fn());
    this.unsubscribe = [];
    if (live.connected) live.send("room:leave", { room_id: this.id });
  }

  // Local updates after our own HTTP writes: the event will follow and be deduplicated.
  addPost(post) {
    HANDLERS["post:new"].call(this, post);
  }
  addFile(file) {
    HANDLERS["file:new"].call(this, file);
  }
}

// room:join {since}, waiting out its rate limit a few times rather than giving up the resume.
async function joinPatiently(roomId, since) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await live.request("room:join", { room_id: roomId, since });
    } catch (err) {
      if (!err || err.code !== "rate_limited" || attempt >= 5) throw err;
      await new Promise((resolve) => setTimeout(resolve, (err.retry_after || 1) * 1000));
    }
  }
}

function addFolder(folders, path) {
  const parts = String(path || "").split("/").filter(Boolean);
  parts.forEach((_, i) => folders.add(parts.slice(0, i + 1).join("/")));
}

function bumpThread(session, post, delta) {
  const th = session.threads.get(post.thread_id);
  if (!th) return;
  th.post_count = Math.max(0, (th.post_count || 0) + delta);
  if (delta > 0 && post.seq > (th.last_seq || 0)) th.last_seq = post.seq;
  const fromOthers = post.author && post.author.id !== session.me.id;
  if (delta > 0 && fromOthers && post.seq > (th.read_seq || 0)) th.unread = (th.unread || 0) + 1;
  session.emit("thread", th);
}

const HANDLERS = {
  presence(data) {
    this.presence = data.users || [];
    this.emit("presence", this.presence);
  },
  "post:new"(post) {
    if (this.deletedPosts.has(post.id)) return;
    const map = this.posts.get(post.thread_id);
    if (map && map.has(post.id)) return;
    if (map) map.set(post.id, post);
    const th = this.threads.get(post.thread_id);
    if (!map && th && post.seq <= (th.last_seq || 0)) return;
    bumpThread(this, post, 1);
    this.emit("post:new", post);
  },
  "post:edit"(post) {
    const map = this.posts.get(post.thread_id);
    const old = map && map.get(post.id);
    if (!old) return;
    if (old.edited_at && post.edited_at && post.edited_at < old.edited_at) return;
    map.set(post.id, post);
    this.emit("post:edit", post);
  },
  "post:delete"(data) {
    if (this.deletedPosts.has(data.id)) return;
    this.deletedPosts.add(data.id);
    const map = this.posts.get(data.thread_id);
    if (map) map.delete(data.id);
    bumpThread(this, data, -1);
    this.emit("post:delete", data);
  },
  "thread:new"(th) {
    if (this.threads.has(th.id)) return;
    this.threads.set(th.id, th);
    this.emit("thread", th);
  },
  "thread:edit"(th) {
    const old = this.threads.get(th.id);
    this.threads.set(th.id, { ...old, ...th });
    this.emit("thread", this.threads.get(th.id));
  },
  "thread:delete"(data) {
    this.threads.delete(data.id);
    this.posts.delete(data.id);
    this.emit("thread:delete", data);
  },
  "file:new"(file) {
    this.files.set(file.id, file);
    addFolder(this.folders, file.folder);
    this.emit("files", file);
  },
  "file:delete"(data) {
    if (!this.files.delete(data.id)) return;
    this.emit("files", data);
  },
  // A new version, or a move: the file's current record replaces the one we hold.
  "file:edit"(file) {
    this.files.set(file.id, file);
    addFolder(this.folders, file.folder);
    this.emit("files", file);
  },
  "folder:new"(data) {
    addFolder(this.folders, data.path);
    this.emit("files", data);
  },
  "folder:delete"(data) {
    this.folders.delete(data.path);
    this.emit("files", data);
  },
  "folder:move"(data) {
    const moved = (p) => (p === data.path || p.startsWith(`${data.path}/`) ? data.new_path + p.slice(data.path.length) : p);
    this.folders = new Set([...this.folders].map(moved));
    addFolder(this.folders, data.new_path);
    this.emit("files", data);
  },
  "room:edit"(room) {
    this.room = { ...this.room, ...room, members: room.members || (this.room && this.room.members) };
    this.emit("room", this.room);
  },
  "room:delete"() {
    this.emit("gone", null);
  },
  "member:new"(member) {
    const members = this.room.members || (this.room.members = []);
    const { room_id: _room, room_seq: _seq, ...clean } = member;
    const i = members.findIndex((m) => m.id === clean.id);
    if (i >= 0) members[i] = { ...members[i], ...clean };
    else members.push(clean);
    this.emit("room", this.room);
  },
  "member:edit"(data) {
    const m = (this.room.members || []).find((x) => x.id === data.id);
    if (m) m.role = data.role;
    if (data.id === this.me.id) this.room.my_role = data.role;
    this.emit("room", this.room);
  },
  "member:remove"(data) {
    this.room.members = (this.room.members || []).filter((m) => m.id !== data.id);
    if (data.id === this.me.id) this.emit("removed", data);
    else this.emit("room", this.room);
  },
  "room:chat_mode"(data) {
    this.room.settings = { ...(this.room.settings || {}), chat_mode: data.chat_mode };
    this.emit("room", this.room);
  },
  // Hidden posts stay visible (marked) to teachers; members no longer see them.
  // The event carries no text: teachers keep the post they hold, marked hidden.
  "post:hide"(post) {
    if (this.isTeacher) {
      const old = this.posts.get(post.thread_id)?.get(post.id);
      if (old) HANDLERS["post:edit"].call(this, { ...old, hidden: true });
    } else {
      const map = this.posts.get(post.thread_id);
      if (map) map.delete(post.id);
      this.emit("post:delete", post);
    }
  },
  "post:restore"(post) {
    const map = this.posts.get(post.thread_id);
    if (map && map.has(post.id)) HANDLERS["post:edit"].call(this, post);
    else if (map) {
      map.set(post.id, post);
      this.emit("post:new", post);
    }
  },
  moderation(data) {
    if (data.action === "remove" && data.user_id === this.me.id) this.emit("removed", data);
    else this.emit("moderation", data);
  },
};

// Events the room keeps no state for: its panels (sessions, teacher tools) take them as they come.
for (const name of ["session:new", "session:edit", "session:delete", "report:new", "member:mute"]) {
  HANDLERS[name] = function passOn(data) {
    this.emit(name, data);
  };
}
