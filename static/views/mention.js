// @mentions in posts and chat: highlighted where they are read, completed where they are
// typed. Both work on text nodes and elements built here, never on markup from users.
import { h, uid } from "../dom.js";
import { t } from "../i18n.js";
import { say } from "../ui.js";

// As the server reads a mention (rooms/markdown.py MENTION): not after a word, an @ or a backslash.
const MENTION = /(^|[^\w@\\])@([a-z0-9][a-z0-9._-]{2,31})/gi;
const SKIP = new Set(["A", "CODE", "PRE"]);

function fold(text) {
  return String(text || "").normalize("NFD").replace(/\p{M}+/gu, "").toLowerCase();
}

// Wrap every @username of a member of the room in `root` in a highlighted span (the
// reader's own name more strongly), leaving links and code alone.
export function markMentions(root, members, me) {
  const known = new Map((members || []).filter((m) => m.username).map((m) => [m.username.toLowerCase(), m]));
  if (!known.size) return root;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => {
      for (let el = node.parentElement; el && el !== root; el = el.parentElement) {
        if (SKIP.has(el.tagName)) return NodeFilter.FILTER_REJECT;
      }
      return node.nodeValue.includes("@") ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP;
    },
  });
  const nodes = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) nodes.push(node);
  for (const node of nodes) {
    const text = node.nodeValue;
    const parts = [];
    let at = 0;
    for (const match of text.matchAll(MENTION)) {
      const name = match[2].toLowerCase().replace(/\.+$/, "");
      const member = known.get(name);
      if (!member) continue;
      const start = match.index + match[1].length;
      const end = start + 1 + name.length;
      parts.push(text.slice(at, start));
      const self = me && member.id === me.id;
      parts.push(h("span", { class: `mention${self ? " mention-me" : ""}`, title: member.display_name || null, testid: "mention" }, text.slice(start, end)));
      at = end;
    }
    if (!parts.length) continue;
    parts.push(text.slice(at));
    node.replaceWith(...parts.filter((p) => p !== ""));
  }
  return root;
}

// A list of the room's members under a text box, offered while an @name is being typed:
// Up and Down choose, Enter or Tab take the name, Escape closes the list. The box keeps
// focus; the chosen option is its aria-activedescendant.
export class MentionCompleter {
  constructor(box, members) {
    this.box = box;
    this.members = members; // a function: the room's current members
    this.list = h("ul", { class: "mention-list", role: "listbox", id: uid("mentions"), testid: "mention-list",
      "aria-label": t("mention.suggestions"), hidden: true });
    this.options = [];
    this.active = -1;
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-controls", this.list.id);
    box.after(this.list);
    box.addEventListener("input", () => this.update());
    box.addEventListener("blur", () => this.close());
    // Capturing: the list takes Enter before the box's own handler would send the message.
    box.addEventListener("keydown", (e) => this.key(e), true);
  }

  // The "@abc" just before the caret, if one is being typed.
  typed() {
    const before = this.box.value.slice(0, this.box.selectionStart);
    const m = /(^|[^\w@\\])@([\p{L}\p{N}._-]{0,31})$/u.exec(before);
    return m ? { start: before.length - m[2].length - 1, prefix: m[2] } : null;
  }

  update() {
    const at = this.typed();
    if (!at) return this.close();
    const want = fold(at.prefix);
    this.options = this.members()
      .filter((m) => m.username && (fold(m.username).startsWith(want) || fold(m.display_name).split(/\s+/).some((w) => w.startsWith(want))))
      .slice(0, 6);
    if (!this.options.length) return this.close();
    this.at = at;
    this.active = 0;
    this.render();
    return undefined;
  }

  render() {
    this.list.replaceChildren(...this.options.map((m, i) => h("li", {
      role: "option", id: `${this.list.id}-${i}`, "aria-selected": String(i === this.active), testid: "mention-option",
      onmousedown: (e) => { e.preventDefault(); this.take(i); },
    }, h("span", { class: "mention-name" }, m.display_name || m.username), " ", h("span", { class: "muted" }, `@${m.username}`))));
    this.list.hidden = false;
    this.box.setAttribute("aria-activedescendant", `${this.list.id}-${this.active}`);
    if (!this.spoken) say(t("mention.count", { count: this.options.length }));
    this.spoken = true;
  }

  close() {
    this.list.hidden = true;
    this.options = [];
    this.spoken = false;
    this.box.removeAttribute("aria-activedescendant");
  }

  key(e) {
    if (this.list.hidden || !this.options.length || e.isComposing) return;
    const n = this.options.length;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      this.active = (this.active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      this.render();
    } else if (e.key === "Enter" || e.key === "Tab") {
      this.take(this.active);
    } else if (e.key === "Escape") {
      this.close();
    } else {
      return;
    }
    e.preventDefault();
    e.stopImmediatePropagation();
  }

  take(i) {
    const m = this.options[i];
    if (!m || !this.at) return;
    const v = this.box.value;
    const end = this.at.start + 1 + this.at.prefix.length;
    const insert = `@${m.username} `;
    this.box.value = v.slice(0, this.at.start) + insert + v.slice(end);
    const caret = this.at.start + insert.length;
    this.box.setSelectionRange(caret, caret);
    this.close();
    this.box.focus();
  }
}
