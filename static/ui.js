// Shared bits of page behaviour that views need without importing the router.
import { h } from "./dom.js";

let router = () => {};
let pendingFlash = null;
const userListeners = new Set();
let me = null;

export function setRouter(fn) {
  router = fn;
}

export function navigate(hash) {
  if (location.hash === hash) router();
  else location.hash = hash;
}

// One live region for short confirmations and errors.
export function announce(text, kind = "info") {
  const region = document.getElementById("toasts");
  if (!region) return;
  const toast = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  region.append(toast);
  setTimeout(() => toast.remove(), kind === "error" ? 8000 : 4000);
}

// Quiet news for screen readers (someone joined the call, a new post in the open topic):
// a polite live region that is never shown, each line dropped once it has had time to be read.
export function say(text) {
  const region = document.getElementById("announcer");
  if (!region || !text) return;
  const line = h("p", {}, text);
  region.append(line);
  while (region.children.length > 5) region.firstElementChild.remove();
  setTimeout(() => line.remove(), 15000);
}

// Focus `el` when the control that had focus went away (focus then falls to <body>), or when
// `force`: after a view replaces what the user was on, their place is the new heading or the
// control that took the old one's place, never the top of the page.
export function keepFocus(el, force = false) {
  if (!el || !el.isConnected) return;
  const active = document.activeElement;
  const lost = !active || active === document.body || !active.isConnected;
  if (!lost && !force) return;
  if (el.tabIndex < 0 && !el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
  el.focus({ preventScroll: false });
}

// A message shown once on the next page ("you were removed from the room").
export function flashNext(text) {
  pendingFlash = text;
}
export function takeFlash() {
  const text = pendingFlash;
  pendingFlash = null;
  return text;
}

export function currentUser() {
  return me;
}
export function setCurrentUser(user) {
  me = user;
  userListeners.forEach((fn) => fn(user));
}
export function onUserChange(fn) {
  userListeners.add(fn);
}

// Disable a form's controls while a request runs, and re-enable after.
export async function busy(form, work) {
  const controls = [...form.querySelectorAll("button, input, select, textarea")];
  const was = controls.map((c) => c.disabled);
  controls.forEach((c) => { c.disabled = true; });
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    controls.forEach((c, i) => { c.disabled = was[i]; });
    form.removeAttribute("aria-busy");
  }
}

// An inline error line under a form, announced to screen readers.
export function formError(form, text) {
  let line = form.querySelector(".form-error");
  if (!line) {
    line = h("p", { class: "form-error", role: "alert" });
    form.append(line);
  }
  line.textContent = text || "";
  line.hidden = !text;
}
