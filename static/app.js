// Boot, the page shell and the hash router (#/rooms, #/room/<id>/...).
import { api, onSignedOut } from "./api.js";
import { h, icon, replace } from "./dom.js";
import { LANGUAGES, currentLanguage, pickLanguage, setLanguage, t } from "./i18n.js";
import { setLimits } from "./limits.js";
import { live } from "./socket.js";
import { renderAuth } from "./views/auth.js";
import { renderRooms } from "./views/rooms.js";
import { renderMentions } from "./views/mentions.js";
import { RoomView } from "./views/room.js";
import { flashNext, navigate, onUserChange, setCurrentUser, setRouter, takeFlash } from "./ui.js";

const app = {
  me: null,
  roomView: null,
  main: null,
  header: null,
};

function setMe(user) {
  app.me = user;
  if (user) live.start();
  else live.stop();
  renderHeader();
}

function renderHeader() {
  const langSelect = h("select", {
    id: "lang-select",
    "aria-label": t("app.language"),
    onchange: async (e) => {
      await setLanguage(e.target.value, true);
      renderHeader();
      route();
    },
  }, Object.entries(LANGUAGES).map(([code, name]) =>
    h("option", { value: code, selected: code === currentLanguage(), lang: code }, name)));

  const user = app.me
    ? h("div", { class: "user-menu" },
      h("span", { class: "user-name" }, app.me.display_name),
      h("button", { type: "button", class: "btn btn-quiet", onclick: signOut, testid: "sign-out" }, t("auth.sign_out")))
    : null;

  replace(app.header,
    h("a", { href: "#/rooms", class: "brand" },
      h("span", { class: "brand-mark" }, icon("logo")), "Twinrooms"),
    h("nav", { class: "top-nav", "aria-label": t("app.main_nav") },
      app.me ? h("a", { href: "#/rooms" }, t("rooms.title")) : null),
    h("div", { class: "header-tools" },
      h("label", { class: "lang" }, icon("globe"), langSelect),
      user));
}

async function signOut() {
  try {
    await api.post("/api/auth/logout");
  } catch {
    // Signing out locally is what matters.
  }
  leaveRoom();
  setCurrentUser(null);
  navigate("#/login");
}

function leaveRoom() {
  if (app.roomView) {
    app.roomView.destroy();
    app.roomView = null;
  }
}

function parse(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  return { name: parts[0] || "", rest: parts.slice(1) };
}

export function route() {
  const { name, rest } = parse(location.hash);
  const publicPages = ["login", "signup", "join"];
  if (!app.me && !publicPages.includes(name)) {
    leaveRoom();
    if (location.hash !== "#/login") history.replaceState(null, "", "#/login");
    return show(() => renderAuth(app.main, "login", []));
  }
  if (name === "room" && rest[0]) {
    if (app.roomView && app.roomView.roomId !== rest[0]) leaveRoom();
    if (!app.roomView) app.roomView = new RoomView(app.main, rest[0], app.me);
    app.roomView.show(rest.slice(1));
    focusMain();
    return null;
  }
  leaveRoom();
  if (publicPages.includes(name)) {
    if (app.me && name !== "join") return navigate("#/rooms");
    return show(() => renderAuth(app.main, name, rest));
  }
  if (name === "mentions") return show(() => renderMentions(app.main, app.me));
  if (name !== "rooms") {
    history.replaceState(null, "", "#/rooms");
  }
  return show(() => renderRooms(app.main, app.me));
}

function show(render) {
  render();
  const flash = takeFlash();
  if (flash) app.main.prepend(h("div", { class: "notice", role: "alert" }, flash));
  focusMain();
}

function focusMain() {
  const heading = app.main.querySelector("h1");
  if (heading && document.activeElement === document.body) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

async function boot() {
  await setLanguage(pickLanguage());
  app.header = document.getElementById("header");
  app.main = document.getElementById("main");
  const skip = document.getElementById("skip-link");
  skip.textContent = t("app.skip");
  // The hash is the router's: move focus without touching it.
  skip.addEventListener("click", (e) => {
    e.preventDefault();
    app.main.focus();
  });
  onUserChange(setMe);
  setRouter(route);
  // Ask what the server allows and whether this browser is signed in before asking who we are:
  // a signed-out visit then makes no request that answers 401.
  let signedIn = true;
  try {
    const config = await api.get("/api/auth/config");
    setLimits(config.limits);
    signedIn = config.signed_in;
  } catch {
    // Without the answer, asking /api/me is the way to know.
  }
  try {
    setCurrentUser(signedIn ? await api.get("/api/me") : null);
  } catch {
    setCurrentUser(null);
  }
  onSignedOut(() => {
    if (!app.me) return;
    leaveRoom();
    setCurrentUser(null);
    flashNext(t("auth.session_ended"));
    navigate("#/login");
  });
  window.addEventListener("hashchange", route);
  route();
  document.body.classList.add("ready");
}

boot();
