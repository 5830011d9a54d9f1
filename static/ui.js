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
