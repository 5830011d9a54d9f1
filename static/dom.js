// Small DOM helpers. Text always goes in as text nodes; the one way to insert
// markup is serverHtml(), for the sanitised `html` the server renders from Markdown.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "testid") el.dataset.testid = value;
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

const DROP = new Set(["SCRIPT", "STYLE", "IFRAME", "OBJECT", "EMBED", "FORM", "INPUT", "BUTTON",
  "TEXTAREA", "SELECT", "LINK", "META", "BASE", "SVG", "MATH"]);

// The server already cleans post html with nh3; this second pass only keeps a
// server bug from turning into script in a pupil's browser.
export function serverHtml(html) {
  const tpl = document.createElement("template");
  tpl.innerHTML = String(html || "");
  const walker = document.createTreeWalker(tpl.content, NodeFilter.SHOW_ELEMENT);
  const doomed = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (DROP.has(node.tagName.toUpperCase())) { doomed.push(node); continue; }
    for (const attr of [...node.attributes]) {
      const name = attr.name.toLowerCase();
      const value = attr.value.trim().toLowerCase();
      if (name.startsWith("on") || name === "style" || name === "srcdoc") node.removeAttribute(attr.name);
      else if ((name === "href" || name === "src") && !/^(https?:|mailto:|#|\/(?!\/))/.test(value)) {
        node.removeAttribute(attr.name);
      }
    }
    if (node.tagName === "A") {
      node.setAttribute("rel", "noopener noreferrer nofollow ugc");
      node.setAttribute("target", "_blank");
    }
  }
  doomed.forEach((n) => n.remove());
  const wrap = document.createElement("div");
  wrap.className = "markdown";
  wrap.append(tpl.content);
  return wrap;
}

let idCounter = 0;
export function uid(prefix = "f") {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

// A labelled form field: label, control, optional hint.
export function field(labelText, control, hint) {
  if (!control.id) control.id = uid("field");
  const hintEl = hint ? h("p", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, labelText), control, hintEl);
}

const SVG = "http://www.w3.org/2000/svg";
// Beside this module, under the same versioned path (see docs/client.md).
const ICONS = new URL("./icons.svg", import.meta.url).pathname;

// A decorative icon from icons.svg (the accessible name is always text beside it).
export function icon(name, extra = "") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", `icon ${extra}`.trim());
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const use = document.createElementNS(SVG, "use");
  use.setAttribute("href", `${ICONS}#${name}`);
  svg.append(use);
  return svg;
}
