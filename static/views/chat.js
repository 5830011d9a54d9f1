// The room's live chat: the "chat" thread's posts, sent with chat:send.
// The log is one tab stop: arrow keys move between messages, and only the message
// in focus puts its actions (delete) in the tab order, so the box is a Tab or two away.
import { api, paths } from "../api.js";
import { h, icon, replace, serverHtml } from "../dom.js";
import { errorText, t } from "../i18n.js";
import { live } from "../socket.js";
import { announce, keepFocus } from "../ui.js";
import { MentionCompleter, markMentions } from "./mention.js";
import { Panel, authorId, byline } from "./panel.js";
import { limit } from "../limits.js";

export class ChatPanel extends Panel {
  constructor(session, host, ctx) {
    super(session, host, ctx);
    this.items = new Map();
    // A list inside the log region: role="log" on the <ol> itself would unmake its list items.
    this.log = h("ol", { class: "chat-list" });
    this.scroller = h("div", {
      class: "chat-log", role: "log", "aria-live": "polite", "aria-label": t("chat.messages"),
      "aria-describedby": "chat-log-hint", testid: "chat-log", tabindex: "0",
      onkeydown: (e) => this.move(e),
      onfocusin: (e) => this.expose(e.target.closest(".chat-msg"), true),
      onfocusout: (e) => {
        const item = e.target.closest(".chat-msg");
        if (item && !item.contains(e.relatedTarget)) this.expose(item, false);
      },
    }, this.log);
    this.input = h("textarea", {
      id: "chat-input", rows: 2, maxlength: limit("chat_body"), testid: "chat-input",
      placeholder: t("chat.placeholder"), "aria-describedby": "chat-help",
      onkeydown: (e) => this.key(e),
    });
    this.error = h("p", { class: "form-error", role: "alert", hidden: true });
    this.form = h("form", { class: "chat-form", onsubmit: (e) => { e.preventDefault(); this.send(); } },
      h("label", { for: "chat-input", class: "visually-hidden" }, t("chat.label")),
      this.input,
      h("div", { class: "chat-actions" },
        h("span", { id: "chat-help", class: "hint" }, t("chat.help")),
        h("button", { type: "submit", class: "btn btn-primary btn-small", testid: "chat-send" }, t("chat.send"))),
      this.error);
    this.readOnly = h("p", { class: "muted chat-readonly" });
    new MentionCompleter(this.input, () => (this.session.room && this.session.room.members) || []);
    replace(host, h("h2", { id: "chat-h" }, icon("chat"), " ", t("chat.title")),
      h("p", { id: "chat-log-hint", class: "visually-hidden" }, t("chat.log_hint")),
      this.scroller, this.form, this.readOnly);
    this.syncMode();
    this.load();
  }

  syncMode() {
    const s = this.session;
    this.form.hidden = !s.canChat;
    this.readOnly.hidden = s.canChat;
    this.readOnly.textContent = s.canWrite ? t("chat.teachers_only") : t("chat.read_only");
  }

  async load() {
    const th = this.session.chatThread;
    if (!th) return;
    this.threadId = th.id;
    try {
      const posts = await this.session.loadPosts(th.id);
      replace(this.log);
      this.items.clear();
      posts.forEach((p) => this.add(p));
      if (!posts.length) this.log.append(h("li", { class: "empty" }, t("chat.empty")));
      this.scroll(true);
    } catch (err) {
      replace(this.log, h("li", { class: "form-error" }, errorText(err)));
    }
  }

  // Where the room's "skip to the chat" link lands: the box, or the log for readers.
  focus() {
    keepFocus(this.form.hidden ? this.scroller : this.input, true);
  }

  // Up and Down (Home, End) move between messages; from the log itself Up starts at the newest.
  move(e) {
    if (!["ArrowUp", "ArrowDown", "Home", "End"].includes(e.key)) return;
    const item = e.target.closest(".chat-msg");
    if (e.target !== this.scroller && e.target !== item) return; // a key on a message's button
    const items = [...this.log.querySelectorAll(".chat-msg")];
    if (!items.length) return;
    const last = items.length - 1;
    const at = item ? items.indexOf(item) : last + 1;
    let next;
    if (e.key === "Home") next = 0;
    else if (e.key === "End") next = last;
    else if (e.key === "ArrowUp") next = Math.max(0, Math.min(at - 1, last));
    else next = Math.min(at + 1, last);
    e.preventDefault();
    items[next].focus();
  }

  // A message's actions join the tab order only while focus is on that message.
  expose(item, on) {
    if (!item) return;
    for (const btn of item.querySelectorAll(".msg-action")) btn.tabIndex = on ? 0 : -1;
  }

  key(e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.send();
    }
  }

  // The box empties at once and messages go out one after another, in the order typed: a
  // second message typed while the first is on its way is neither lost nor overtaken. A message
  // the server refused comes back into an empty box.
  send() {
    const body = this.input.value.trim();
    if (!body) return;
    this.input.value = "";
    this.error.hidden = true;
    this.outbox = (this.outbox || Promise.resolve()).then(() => this.deliver(body));
  }

  async deliver(body) {
    try {
      const ack = await live.request("chat:send", { room_id: this.session.id, body });
      if (ack.post) this.session.addPost(ack.post);
    } catch (err) {
      this.error.textContent = errorText(err);
      this.error.hidden = false;
      if (!this.input.value) this.input.value = body;
    } finally {
      this.input.focus();
    }
  }

  render(post) {
    const mine = authorId(post.author) === this.session.me.id;
    const canDelete = mine || this.session.isTeacher;
    return h("li", { class: `chat-msg${mine ? " mine" : ""}`, testid: "chat-message", tabindex: "-1", dataset: { postId: post.id, seq: post.seq } },
      byline(post.author, post.created_at, post.edited_at, "smart"),
      markMentions(serverHtml(post.html), this.session.room && this.session.room.members, this.session.me),
      canDelete
        ? h("button", { type: "button", class: "icon-btn chat-del msg-action", tabindex: "-1", "aria-label": t("chat.delete"), title: t("chat.delete"),
          onclick: () => this.remove(post) }, icon("x"))
        : null);
  }

  add(post) {
    if (this.items.has(post.id)) return;
    const empty = this.log.querySelector(".empty");
    if (empty) empty.remove();
    const box = this.scroller;
    const near = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    const el = this.render(post);
    this.items.set(post.id, el);
    // Keep seq order even when a resumed event lands after a newer live one.
    const later = [...this.log.children].find((c) => Number(c.dataset.seq) > post.seq);
    this.log.insertBefore(el, later || null);
    this.scroll(near || authorId(post.author) === this.session.me.id);
  }

  scroll(force) {
    if (force) this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  async remove(post) {
    if (!confirm(t("chat.delete_confirm"))) return;
    try {
      await api.del(paths.post(post.id));
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  changed(kind, data) {
    if (kind === "reset") return this.load();
    if (kind === "room") return this.syncMode();
    if (!this.threadId && kind === "thread" && data.kind === "chat") this.load();
    if (data && data.thread_id !== this.threadId) return;
    if (kind === "post:new") this.add(data);
    else if (kind === "post:edit" && this.items.has(data.id)) {
      const old = this.items.get(data.id);
      const had = old.contains(document.activeElement);
      const el = this.render(data);
      old.replaceWith(el);
      this.items.set(data.id, el);
      if (had) el.focus();
    } else if (kind === "post:delete" && this.items.has(data.id)) {
      // A deleted message in focus hands focus to its neighbour (or the log), not to <body>.
      const old = this.items.get(data.id);
      const had = old.contains(document.activeElement);
      const near = old.nextElementSibling || old.previousElementSibling;
      old.remove();
      this.items.delete(data.id);
      if (had) keepFocus(near && near.matches(".chat-msg") ? near : this.scroller, true);
    }
  }
}
