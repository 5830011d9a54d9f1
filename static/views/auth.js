// Sign in, sign up (teachers) and joining a room with a code (new pupils, or
// anyone already signed in).
import { api } from "../api.js";
import { field, h, icon, replace } from "../dom.js";
import { countryName } from "../format.js";
import { errorText, t } from "../i18n.js";
import { busy, currentUser, formError, navigate, setCurrentUser } from "../ui.js";
import { limit } from "../limits.js";

const COUNTRIES = ("AL AD AM AT AZ BA BE BG BY CA CH CY CZ DE DK EE ES FI FO FR GB GE GR HR HU IE IS IT " +
  "LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SK SM TR UA VA XK US MX BR AR CL CO " +
  "MA DZ TN EG ZA NG KE SN CM IN JP KR CN AU NZ IL JO LB").split(" ");

function input(attrs) {
  return h("input", { required: true, ...attrs });
}

function countrySelect() {
  const guess = (navigator.language || "").split("-")[1];
  const options = COUNTRIES.map((code) => ({ code, name: countryName(code) || code }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return h("select", { name: "country", required: true },
    h("option", { value: "" }, t("auth.country_pick")),
    options.map((o) => h("option", { value: o.code, selected: o.code === (guess || "").toUpperCase() }, o.name)));
}

function values(form) {
  return Object.fromEntries(new FormData(form).entries());
}

function submitWith(form, work) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    formError(form, "");
    const v = values(form);
    try {
      await busy(form, () => work(v));
    } catch (err) {
      formError(form, errorText(err));
      const first = form.querySelector("input");
      if (first) first.focus();
    }
  });
}

function loginForm() {
  const form = h("form", { class: "card form", testid: "login-form", novalidate: false },
    h("h1", {}, t("auth.sign_in_title")),
    field(t("auth.username"), input({ name: "username", autocomplete: "username", testid: "login-username", autocapitalize: "none", spellcheck: "false" })),
    field(t("auth.password"), input({ name: "password", type: "password", autocomplete: "current-password", testid: "login-password" })),
    h("button", { type: "submit", class: "btn btn-primary", testid: "login-submit" }, t("auth.sign_in")),
    h("p", { class: "muted" }, t("auth.no_account"), " ", h("a", { href: "#/signup" }, t("auth.sign_up_link"))));
  submitWith(form, async (v) => {
    const user = await api.post("/api/auth/login", { username: v.username.trim(), password: v.password });
    setCurrentUser(user);
    navigate("#/rooms");
  });
  return form;
}

function signupForm() {
  const form = h("form", { class: "card form", testid: "signup-form" },
    h("h1", {}, t("auth.sign_up_title")),
    h("p", { class: "muted" }, t("auth.sign_up_intro")),
    field(t("auth.display_name"), input({ name: "display_name", autocomplete: "name", maxlength: limit("display_name"), testid: "signup-display-name" })),
    field(t("auth.country"), countrySelect()),
    field(t("auth.username"), input({ name: "username", autocomplete: "username", autocapitalize: "none", spellcheck: "false", testid: "signup-username" }), t("auth.username_hint")),
    field(t("auth.password"), input({ name: "password", type: "password", autocomplete: "new-password", minlength: 8, testid: "signup-password" }), t("auth.password_hint")),
    h("button", { type: "submit", class: "btn btn-primary", testid: "signup-submit" }, t("auth.sign_up")),
    h("p", { class: "muted" }, t("auth.have_account"), " ", h("a", { href: "#/login" }, t("auth.sign_in_link"))));
  form.querySelector("select").dataset.testid = "signup-country";
  submitWith(form, async (v) => {
    const user = await api.post("/api/auth/signup", {
      username: v.username.trim(), password: v.password,
      display_name: v.display_name.trim(), country: v.country,
    });
    setCurrentUser(user);
    navigate("#/rooms");
  });
  return form;
}

function joinForm(code) {
  const me = currentUser();
  const codeInput = input({ name: "code", value: code || "", autocomplete: "off", autocapitalize: "none", spellcheck: "false", testid: "join-code" });
  const form = h("form", { class: "card form", testid: "join-form" },
    h("h1", {}, t("join.title")),
    h("p", { class: "muted" }, me ? t("join.intro_signed_in", { name: me.display_name }) : t("join.intro")),
    field(t("join.code"), codeInput));
  if (!me) {
    form.append(
      h("fieldset", {},
        h("legend", {}, t("join.new_account")),
        field(t("auth.display_name"), input({ name: "display_name", autocomplete: "name", maxlength: limit("display_name"), testid: "join-display-name" }), t("join.display_name_hint")),
        field(t("auth.username"), input({ name: "username", autocomplete: "username", autocapitalize: "none", spellcheck: "false", testid: "join-username" })),
        field(t("auth.password"), input({ name: "password", type: "password", autocomplete: "new-password", minlength: 8, testid: "join-password" }), t("auth.password_hint"))));
  }
  form.append(
    h("button", { type: "submit", class: "btn btn-primary", testid: "join-submit" }, t("join.submit")),
    me ? null : h("p", { class: "muted" }, t("join.have_account"), " ", h("a", { href: "#/login" }, t("auth.sign_in_link"))));
  submitWith(form, async (v) => {
    const body = { code: v.code.trim() };
    if (!me) Object.assign(body, { username: v.username.trim(), password: v.password, display_name: v.display_name.trim() });
    const { user, room } = await api.post("/api/join", body);
    if (!me) setCurrentUser(user);
    navigate(`#/room/${encodeURIComponent(room.id)}`);
  });
  return form;
}

function welcome() {
  return h("aside", { class: "welcome" },
    h("h2", {}, t("auth.welcome_title")),
    h("p", {}, t("auth.welcome_text")),
    h("ul", { class: "welcome-points" },
      h("li", {}, icon("forum"), t("auth.point_forum")),
      h("li", {}, icon("folder"), t("auth.point_files")),
      h("li", {}, icon("video"), t("auth.point_video"))),
    h("a", { class: "btn btn-secondary", href: "#/join", testid: "have-code" }, t("auth.have_code")));
}

export function renderAuth(main, mode, rest) {
  const form = mode === "signup" ? signupForm() : mode === "join" ? joinForm(rest[0]) : loginForm();
  replace(main, h("div", { class: "auth-page" }, form, mode === "join" ? null : welcome()));
}
