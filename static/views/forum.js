// The forum: threads (pinned first, then the liveliest) and a thread's posts,
// which arrive live. Post bodies are Markdown rendered and cleaned by the server.
import { api, paths } from "../api.js";
import { field, h, icon, replace, serverHtml } from "../dom.js";
import { timeElement } from "../format.js";
import { errorText, t } from "../i18n.js";
import { announce, busy, formError, keepFocus, navigate, say } from "../ui.js";
import { MentionCompleter, markMentions } from "./mention.js";
import { Panel, authorId, byline } from "./panel.js";
import { limit } from "../limits.js";
import { renderSummary, threadTitle } from "./summary.js";

const REACTIONS = ["👍", "❤️", "😂", "😮", "🎉", "👏"];

// Lower case without accents: how search matches words (rooms/search.py), for highlighting.
function fold(text) {
  return text.normalize("NFD").replace(/\p{M}+/gu, "").toLowerCase();
}

// The plain text of a post (its rendered html read as text, never inserted as markup), cut
// around the first word that starts like a searched word, with those words marked.
export function searchExcerpt(html, q, width = 180) {
  const text = serverHtml(html).textContent.replace(/\s+/g, " ").trim();
  const wanted = (fold(q).match(/[\p{L}\p{N}_]+/gu) || []);
  const words = [...text.matchAll(/[\p{L}\p{N}_]+/gu)];
  const hits = words.filter((w) => wanted.some((q0) => fold(w[0]).startsWith(q0)));
  const first = hits.length ? hits[0].index : 0;
  const start = Math.max(0, Math.min(first - 40, text.length - width));
  const end = Math.min(text.length, start + width);
  const cut = (a, b) => text.slice(a, b);
  const parts = [start > 0 ? "…" : ""];
  let at = start;
  for (const w of hits) {
    const a = w.index;
    const b = a + w[0].length;
    if (a < start || b > end) continue;
    parts.push(cut(at, a), h("mark", {}, cut(a, b)));
    at = b;
  }
  parts.push(cut(at, end), end < text.length ? "…" : "");
  return parts.filter((p) => p !== "");
}

// "> Name wrote:" and the post's lines as a Markdown quote; its @mentions escaped so that
// quoting someone does not mention them again.
function quoteOf(post) {
  const name = authorName(post.author).replace(/[\\`*_{}[\]()#+\-.!<>|~@]/g, "\\$&");
  const body = String(post.body || "").replace(/(^|[^\w@\\])@(?=[a-z0-9])/gim, "$1\\@");
  return `> ${t("forum.quote_intro", { name })}\n${body.split("\n").map((l) => `> ${l}`).join("\n")}\n\n`;
}

function authorName(author) {
  return author && typeof author === "object" ? author.display_name : "";
}

// The `data-key` of the control in focus inside `within` ("" for one without a key), or null
// when focus is elsewhere: what a re-rendered post or thread head gives focus back to.
function focusedKey(within) {
  const active = document.activeElement;
  return within && active && within.contains(active) ? active.dataset.key || "" : null;
}

// Escape closes an inline form (a report, an edit) as its Cancel button does.
function closeOnEscape(form, close) {
  form.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || e.isComposing) return;
    e.preventDefault();
    e.stopPropagation();
    close();
  });
}

export class ForumPanel extends Panel {
  constructor(session, host, ctx) {
    super(session, host, ctx);
    this.root = h("div", { class: "forum", testid: "forum" });
    replace(host, this.root);
    this.threadId = null;
    this.postEls = new Map();
  }

  show(rest) {
    const id = rest[0] || null;
    this.linkedPost = rest[1] || null; // #/room/<id>/forum/<thread>/<post>: that post, in focus
    if (id && id === this.threadId && this.root.isConnected && this.postEls.size) {
      this.revealPost();
      return;
    }
    this.threadId = id;
    if (id) this.renderThread(id);
    else this.renderList();
  }

  // --- the list of threads -------------------------------------------------
  sortedThreads() {
    return [...this.session.threads.values()]
      .filter((th) => th.kind !== "chat")
      .sort((a, b) => (b.pinned - a.pinned) || ((b.last_seq || 0) - (a.last_seq || 0)));
  }

  renderList() {
    this.postEls.clear();
    this.list = h("ul", { class: "thread-list", testid: "thread-list" });
    this.fillList();
    const results = h("div", { class: "search-results", "aria-live": "polite" });
    const search = h("form", { class: "search", role: "search", onsubmit: (e) => { e.preventDefault(); this.search(search, results); } },
      h("label", { for: "forum-search", class: "visually-hidden" }, t("forum.search")),
      h("input", { id: "forum-search", type: "search", name: "q", placeholder: t("forum.search_placeholder") }),
      h("button", { type: "submit", class: "btn btn-secondary btn-small" }, t("forum.search")));
    replace(this.root,
      h("div", { class: "panel-head" }, h("h2", {}, t("forum.title")), search),
      results,
      this.list,
      this.session.canWrite ? this.newThreadForm() : null);
    keepFocus(this.root.querySelector("h2"));
  }

  fillList() {
    const threads = this.sortedThreads();
    if (!threads.length) return replace(this.list, h("li", { class: "empty" }, t("forum.no_threads")));
    replace(this.list, threads.map((th) => h("li", { class: "thread-item", dataset: { threadId: th.id } },
      h("a", { href: this.ctx.href("forum", th.id), class: "thread-link", testid: `thread-${th.id}` },
        th.pinned ? h("span", { class: "pin", title: t("forum.pinned") }, icon("pin"), h("span", { class: "visually-hidden" }, t("forum.pinned"))) : null,
        th.locked ? h("span", { class: "lock", title: t("forum.locked") }, icon("lock"), h("span", { class: "visually-hidden" }, t("forum.locked"))) : null,
        h("span", { class: "thread-title" }, threadTitle(th)),
        th.unread ? h("span", { class: "unread-badge", testid: "unread" }, t("forum.unread", { count: th.unread })) : null),
      h("span", { class: "thread-meta" },
        authorName(th.author) ? `${authorName(th.author)} · ` : "",
        timeElement(th.created_at, "date"), " · ",
        t("forum.posts", { count: th.post_count || 0 })))));
    return null;
  }

  async search(form, results) {
    const q = form.elements.q.value.trim();
    if (!q) return replace(results);
    try {
      const found = await api.get(paths.search(this.session.id, q));
      const items = [
        ...found.threads.map((th) => h("li", {}, h("a", { href: this.ctx.href("forum", th.id) }, threadTitle(th)))),
        ...found.posts.map((p) => {
          const th = this.session.threads.get(p.thread_id);
          const title = th ? threadTitle(th) : t("forum.post");
          return h("li", { testid: "search-result" },
            h("a", { href: this.ctx.href("forum", p.thread_id, p.id) }, title, " · ", authorName(p.author)),
            h("p", { class: "result-text" }, searchExcerpt(p.html, q)));
        }),
      ];
      replace(results, h("h3", {}, t("forum.results", { count: items.length })),
        items.length ? h("ul", { class: "result-list" }, items) : null);
    } catch (err) {
      replace(results, h("p", { class: "form-error" }, errorText(err)));
    }
    return null;
  }

  newThreadForm() {
    const form = h("form", { class: "card form new-thread", testid: "new-thread-form" },
      h("h3", {}, t("forum.new_thread")),
      field(t("forum.thread_title"), h("input", { name: "title", required: true, maxlength: limit("thread_title"), testid: "thread-title" })),
      field(t("forum.body"), h("textarea", { name: "body", required: true, rows: 5, maxlength: limit("post_body"), testid: "thread-body" }), t("forum.markdown_hint")),
      h("button", { type: "submit", class: "btn btn-primary", testid: "thread-submit" }, t("forum.start_thread")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      formError(form, "");
      const v = Object.fromEntries(new FormData(form).entries());
      try {
        const th = await busy(form, () => api.post(paths.threads(this.session.id), { title: v.title.trim(), body: v.body }));
        HANDLE_THREAD(this.session, th);
        navigate(this.ctx.href("forum", th.id));
      } catch (err) {
        formError(form, errorText(err));
      }
    });
    return form;
  }

  // --- one thread ------------------------------------------------------------
  async renderThread(id) {
    const th = this.session.threads.get(id);
    if (!th) {
      replace(this.root, h("p", {}, t("forum.thread_missing")), h("a", { href: this.ctx.href("forum") }, t("forum.back")));
      return;
    }
    this.postEls.clear();
    this.postsEl = h("ol", { class: "posts", testid: "posts", "aria-busy": "true" });
    this.threadHead = h("div", { class: "thread-head" });
    this.replyHost = h("div");
    replace(this.root,
      h("p", { class: "back" }, h("a", { href: this.ctx.href("forum") }, "← ", t("forum.back"))),
      this.threadHead, this.postsEl, this.replyHost);
    this.renderThreadHead(th);
    keepFocus(this.threadHead.querySelector("h2"));
    try {
      const posts = await this.session.loadPosts(id);
      if (this.threadId !== id) return;
      this.postsEl.removeAttribute("aria-busy");
      replace(this.postsEl);
      posts.forEach((p) => this.addPost(p));
      this.revealPost();
      this.markRead(this.session.threads.get(id));
    } catch (err) {
      replace(this.postsEl, h("li", { class: "form-error" }, errorText(err)));
    }
  }

  // The thread is on screen: everything in it up to its last post is read.
  async markRead(th) {
    if (!th || !th.last_seq || (th.read_seq || 0) >= th.last_seq) return;
    th.read_seq = th.last_seq;
    th.unread = 0;
    try {
      await api.post(`${paths.thread(th.id)}/read`, { seq: th.last_seq });
    } catch {
      // Unread counts are a convenience: a failed mark costs a badge, nothing more.
    }
  }

  renderThreadHead(th) {
    const s = this.session;
    const key = focusedKey(this.threadHead);
    const mineOrTeacher = s.isTeacher || authorId(th.author) === s.me.id;
    const tools = [];
    if (mineOrTeacher) tools.push(h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { key: "rename" }, onclick: () => this.rename(th) }, t("forum.rename")));
    if (s.isTeacher) {
      tools.push(
        h("button", { type: "button", class: "btn btn-quiet btn-small", "aria-pressed": String(Boolean(th.pinned)), dataset: { key: "pin" }, onclick: () => this.patchThread(th, { pinned: !th.pinned }) }, th.pinned ? t("forum.unpin") : t("forum.pin")),
        h("button", { type: "button", class: "btn btn-quiet btn-small", "aria-pressed": String(Boolean(th.locked)), dataset: { key: "lock" }, onclick: () => this.patchThread(th, { locked: !th.locked }) }, th.locked ? t("forum.unlock") : t("forum.lock")),
        h("button", { type: "button", class: "btn btn-danger btn-small", onclick: () => this.deleteThread(th) }, t("forum.delete_thread")));
    }
    replace(this.threadHead,
      h("h2", { class: "thread-h" }, th.pinned ? icon("pin") : null, th.locked ? icon("lock") : null, threadTitle(th)),
      tools.length ? h("div", { class: "toolbar", role: "group", "aria-label": t("forum.thread_tools") }, tools) : null);
    if (key) keepFocus(this.threadHead.querySelector(`[data-key="${key}"]`), true);
    const canReply = s.canWrite && (!th.locked || s.isTeacher);
    replace(this.replyHost, canReply ? this.replyForm(th) : h("p", { class: "muted" }, th.locked ? t("forum.locked_note") : t("chat.read_only")));
  }

  replyForm(th) {
    this.replyBox = h("textarea", { name: "body", required: true, rows: 4, maxlength: limit("post_body"), testid: "reply-body" });
    const form = h("form", { class: "card form reply", testid: "reply-form" },
      field(t("forum.reply"), this.replyBox, t("forum.markdown_hint")),
      h("button", { type: "submit", class: "btn btn-primary", testid: "reply-submit" }, t("forum.send_reply")));
    this.completer(this.replyBox);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      formError(form, "");
      const body = form.elements.body.value;
      try {
        const post = await busy(form, () => api.post(`${paths.thread(th.id)}/posts`, { body }));
        form.reset();
        this.session.addPost(post);
      } catch (err) {
        formError(form, errorText(err));
      }
    });
    return form;
  }

  completer(box) {
    return new MentionCompleter(box, () => (this.session.room && this.session.room.members) || []);
  }

  // Quote a post in the reply box, after whatever is already typed there.
  quote(post) {
    const box = this.replyBox;
    if (!box || !box.isConnected) return;
    const before = box.value && !box.value.endsWith("\n\n") ? `${box.value.replace(/\n*$/, "")}\n\n` : box.value;
    box.value = before + quoteOf(post);
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
    box.scrollIntoView({ block: "nearest" });
  }

  renderPost(post) {
    const s = this.session;
    const mine = authorId(post.author) === s.me.id;
    const actions = [];
    const th = s.threads.get(post.thread_id);
    if (s.canWrite && !post.hidden && th && (!th.locked || s.isTeacher)) {
      actions.push(h("button", { type: "button", class: "btn btn-quiet btn-small", testid: "quote-post", dataset: { key: "quote" },
        "aria-label": t("forum.quote_named", { name: authorName(post.author) }), onclick: () => this.quote(post) }, t("forum.quote")));
    }
    if (mine) actions.push(h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { key: "edit" }, onclick: () => this.edit(post) }, t("forum.edit")));
    if (mine || s.isTeacher) actions.push(h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { key: "delete" }, onclick: () => this.deletePost(post) }, t("forum.delete")));
    if (s.isTeacher && post.edited_at) {
      actions.push(h("button", { type: "button", class: "btn btn-quiet btn-small", testid: "post-history-toggle", "aria-expanded": "false",
        dataset: { key: "history" }, onclick: (e) => this.toggleHistory(post, e.currentTarget) }, t("forum.history")));
    }
    if (s.isTeacher) {
      actions.push(h("button", { type: "button", class: "btn btn-quiet btn-small", dataset: { key: "hide" }, onclick: () => this.hide(post, !post.hidden) },
        post.hidden ? t("forum.restore") : t("forum.hide")));
    } else if (!mine && s.canWrite) {
      actions.push(h("button", { type: "button", class: "btn btn-quiet btn-small", testid: "report-post", dataset: { key: "report" }, onclick: () => this.report(post) }, t("forum.report")));
    }
    const mentionsMe = (post.mentions || []).includes(s.me.id);
    return h("li", { class: `post${post.hidden ? " hidden-post" : ""}${mentionsMe ? " mentions-me" : ""}`, testid: "post", dataset: { postId: post.id, seq: post.seq }, id: `post-${post.id}` },
      h("article", { tabindex: "-1", "aria-label": t("forum.post_by", { name: authorName(post.author) }) },
        byline(post.author, post.created_at, post.edited_at),
        post.hidden ? h("p", { class: "hidden-note" }, t("forum.hidden_note")) : null,
        h("div", { class: "post-body" }, post.summary ? renderSummary(post.summary) : markMentions(serverHtml(post.html), s.room && s.room.members, s.me)),
        this.reactions(post),
        actions.length ? h("div", { class: "post-actions" }, actions) : null));
  }

  // Reactions in use show with their counts; the others wait behind one "Add a reaction"
  // button, so an unreacted post shows one control instead of six.
  reactions(post) {
    const mine = (emoji) => ((post.reactions || {})[emoji] || []).includes(this.session.me.id);
    const count = (emoji) => ((post.reactions || {})[emoji] || []).length;
    const canReact = this.session.canWrite && !post.hidden;
    const button = (emoji, inPicker) => h("button", {
      type: "button", class: "reaction", dataset: { key: inPicker ? `pick-${REACTIONS.indexOf(emoji)}` : `react-${REACTIONS.indexOf(emoji)}` },
      "aria-pressed": String(mine(emoji)), disabled: !canReact,
      "aria-label": t("forum.react", { emoji, count: count(emoji) }),
      onclick: async () => {
        try {
          const updated = await api.post(`${paths.post(post.id)}/reactions`, { emoji, on: !mine(emoji) });
          this.replacePost(updated, `react-${REACTIONS.indexOf(emoji)}`);
        } catch (err) {
          announce(errorText(err), "error");
        }
      },
    }, emoji, count(emoji) ? h("span", { class: "reaction-count" }, String(count(emoji))) : null);
    const used = REACTIONS.filter((e) => count(e));
    const unused = REACTIONS.filter((e) => !count(e));
    const picker = h("div", { class: "reaction-picker", id: `pick-${post.id}`, testid: "reaction-picker", hidden: true,
      role: "group", "aria-label": t("forum.reaction_choices") }, unused.map((e) => button(e, true)));
    const add = canReact && unused.length
      ? h("button", { type: "button", class: "reaction reaction-add", testid: "add-reaction", dataset: { key: "react-add" },
        "aria-expanded": "false", "aria-controls": picker.id, "aria-label": t("forum.add_reaction"), title: t("forum.add_reaction"),
        onclick: (e) => {
          const open = picker.hidden;
          picker.hidden = !open;
          e.currentTarget.setAttribute("aria-expanded", String(open));
          if (open) picker.querySelector("button").focus();
        } }, h("span", { "aria-hidden": "true" }, "☺+"))
      : null;
    if (!used.length && !add) return null;
    return h("div", { class: "reactions", role: "group", "aria-label": t("forum.reactions") },
      used.map((e) => button(e, false)), add, add ? picker : null);
  }

  async hide(post, hidden) {
    try {
      const updated = await api.post(`${paths.post(post.id)}/hide`, { hidden });
      this.replacePost(updated);
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  // A linked post (from a report, the audit log, a mention or a search) is scrolled to and
  // focused; a post that is gone leaves the thread as it is.
  revealPost() {
    const el = this.linkedPost && this.postEls.get(this.linkedPost);
    if (!el) return;
    for (const other of this.postsEl.querySelectorAll(".linked")) other.classList.remove("linked");
    el.classList.add("linked");
    el.scrollIntoView({ block: "center" });
    el.querySelector("article").focus({ preventScroll: true });
  }

  // Teachers read a post's earlier versions (as text, never as markup) under the post.
  async toggleHistory(post, button) {
    const el = this.postEls.get(post.id);
    const open = el && el.querySelector(".post-history");
    if (open) {
      open.remove();
      button.setAttribute("aria-expanded", "false");
      return;
    }
    try {
      const versions = await api.get(`${paths.post(post.id)}/history`);
      const box = h("section", { class: "post-history", testid: "post-history", "aria-label": t("forum.history_title") },
        h("h3", { class: "visually-hidden" }, t("forum.history_title")),
        versions.length
          ? h("ol", {}, versions.map((v) => h("li", {},
            h("p", { class: "muted" }, t("forum.replaced_at"), " ", timeElement(v.replaced_at)),
            h("p", { class: "history-body" }, v.body))))
          : h("p", { class: "muted" }, t("forum.history_empty")));
      button.closest("article").append(box);
      button.setAttribute("aria-expanded", "true");
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  addPost(post) {
    if (this.postEls.has(post.id)) return;
    const el = this.renderPost(post);
    this.postEls.set(post.id, el);
    const later = [...this.postsEl.children].find((c) => Number(c.dataset.seq) > post.seq);
    this.postsEl.insertBefore(el, later || null);
  }

  // Tell the room's teachers about a post, with an optional reason; only they see reports.
  report(post) {
    const el = this.postEls.get(post.id);
    if (!el || el.querySelector(".report-form")) return;
    const reason = h("input", { type: "text", name: "reason", maxlength: limit("report_reason"), testid: "report-reason" });
    // Closed, the form gives focus back to the post's Report button.
    const close = () => {
      form.remove();
      keepFocus(el.querySelector('[data-key="report"]'), true);
    };
    const form = h("form", { class: "form report-form", testid: "report-form" },
      field(t("forum.report_reason"), reason),
      h("div", { class: "toolbar" },
        h("button", { type: "submit", class: "btn btn-primary btn-small", testid: "report-send" }, t("forum.report_send")),
        h("button", { type: "button", class: "btn btn-quiet btn-small", onclick: close }, t("forum.cancel"))));
    closeOnEscape(form, close);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await busy(form, () => api.post(`${paths.post(post.id)}/report`, { reason: reason.value.trim() }));
        close();
        announce(t("forum.reported"));
      } catch (err) {
        formError(form, errorText(err));
      }
    });
    el.querySelector("article").append(form);
    reason.focus();
  }

  edit(post) {
    const el = this.postEls.get(post.id);
    if (!el) return;
    const area = h("textarea", { name: "body", rows: 4, required: true });
    area.value = post.body;
    const form = h("form", { class: "form edit-form", testid: "edit-form" },
      field(t("forum.edit_label"), area),
      h("div", { class: "toolbar" },
        h("button", { type: "submit", class: "btn btn-primary btn-small" }, t("forum.save")),
        h("button", { type: "button", class: "btn btn-quiet btn-small", onclick: () => this.replacePost(post) }, t("forum.cancel"))));
    closeOnEscape(form, () => this.replacePost(post));
    this.completer(area);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const updated = await busy(form, () => api.patch(paths.post(post.id), { body: area.value }));
        this.replacePost(updated);
      } catch (err) {
        formError(form, errorText(err));
      }
    });
    el.querySelector(".post-body").replaceWith(form);
    const actions = el.querySelector(".post-actions");
    if (actions) actions.hidden = true;
    area.focus();
  }

  // A post is drawn anew (a reaction, an edit, hidden): focus inside it stays on the same
  // control, or after an edit on its Edit button, never falls to <body>.
  replacePost(post, preferred = null) {
    const old = this.postEls.get(post.id);
    if (!old) return;
    const was = focusedKey(old);
    const key = was !== null && preferred ? preferred : was;
    const el = this.renderPost(post);
    old.replaceWith(el);
    this.postEls.set(post.id, el);
    if (key === null) return;
    // A reaction that went away (the last one taken back) hands focus to "Add a reaction".
    const fallback = key.startsWith("react") || key.startsWith("pick") ? el.querySelector('[data-key="react-add"]') : null;
    const target = (key && el.querySelector(`[data-key="${key}"]`)) || fallback || el.querySelector('[data-key="edit"]') || el.querySelector("article");
    keepFocus(target, true);
  }

  async deletePost(post) {
    if (!confirm(t("forum.delete_confirm"))) return;
    try {
      await api.del(paths.post(post.id));
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  async rename(th) {
    const title = prompt(t("forum.rename_prompt"), th.title);
    if (title && title.trim() && title.trim() !== th.title) await this.patchThread(th, { title: title.trim() });
  }

  async patchThread(th, change) {
    try {
      const updated = await api.patch(paths.thread(th.id), change);
      this.session.threads.set(th.id, { ...th, ...updated });
      this.renderThreadHead(this.session.threads.get(th.id));
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  async deleteThread(th) {
    if (!confirm(t("forum.delete_thread_confirm", { title: threadTitle(th) }))) return;
    try {
      await api.del(paths.thread(th.id));
      navigate(this.ctx.href("forum"));
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  changed(kind, data) {
    if (kind === "reset") return this.show(this.threadId ? [this.threadId] : []), undefined;
    if (!this.threadId) {
      // Chat messages bump the chat thread; the topic list does not show it.
      if ((kind === "thread" && data.kind !== "chat") || kind === "thread:delete") this.fillList();
      return undefined;
    }
    if (kind === "thread" && data.id === this.threadId) this.renderThreadHead(data);
    if (kind === "thread:delete" && data.id === this.threadId) {
      announce(t("forum.thread_gone"));
      navigate(this.ctx.href("forum"));
    }
    if (kind === "post:new" && (data.mentions || []).includes(this.session.me.id) && authorId(data.author) !== this.session.me.id) {
      announce(t("forum.mentioned_you", { name: authorName(data.author) }));
    }
    if (!this.postsEl || !data || data.thread_id !== this.threadId) return undefined;
    if (kind === "post:new") {
      const fresh = !this.postEls.has(data.id);
      this.addPost(data);
      this.markRead(this.session.threads.get(this.threadId));
      if (fresh && !this.host.hidden && authorId(data.author) !== this.session.me.id) {
        say(t("forum.new_post", { name: authorName(data.author) }));
      }
    }
    else if (kind === "post:edit") {
      const editing = this.postEls.get(data.id);
      if (editing && !editing.querySelector(".edit-form")) this.replacePost(data);
    } else if (kind === "post:delete" && this.postEls.has(data.id)) {
      // A deleted post in focus hands focus to the next post (or the topic's heading).
      const old = this.postEls.get(data.id);
      const had = focusedKey(old) !== null;
      const near = old.nextElementSibling || old.previousElementSibling;
      old.remove();
      this.postEls.delete(data.id);
      if (had) keepFocus((near && near.querySelector("article")) || this.threadHead.querySelector("h2"), true);
    }
    return undefined;
  }
}

// Our own new thread: add it now; the thread:new event will be a duplicate.
function HANDLE_THREAD(session, th) {
  if (!session.threads.has(th.id)) session.threads.set(th.id, th);
}
