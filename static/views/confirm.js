// "Are you sure?" before an action that cannot be taken back, as a modal <dialog>:
// the browser keeps focus inside it and closes it on Escape; focus starts on the safe
// choice and returns to the button that asked.
import { field as labelled, h, uid } from "../dom.js";
import { t } from "../i18n.js";

// Shows `dialog` modally with focus on `first`. When it closes (a button, Escape) it goes,
// focus returns to the control that had it, and the promise resolves with `answer()`.
function openModal(dialog, first, answer) {
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
      resolve(answer());
    });
    document.body.append(dialog);
    dialog.showModal();
    first.focus();
  });
}

export function confirmAction({ title, body, confirm, danger = true }) {
  const titleId = uid("confirm-title");
  const bodyId = uid("confirm-body");
  let answer = false;
  const cancelBtn = h("button", { type: "button", class: "btn btn-secondary", testid: "confirm-cancel",
    onclick: () => dialog.close() }, t("dialog.cancel"));
  const okBtn = h("button", { type: "button", class: `btn ${danger ? "btn-danger" : "btn-primary"}`, testid: "confirm-ok",
    onclick: () => { answer = true; dialog.close(); } }, confirm);
  const dialog = h("dialog", { class: "confirm-dialog", testid: "confirm-dialog",
    "aria-labelledby": titleId, "aria-describedby": bodyId },
    h("h2", { id: titleId }, title),
    h("p", { id: bodyId }, body),
    h("div", { class: "confirm-actions" }, cancelBtn, okBtn));
  return openModal(dialog, cancelBtn, () => answer);
}

// Ask for one value in a modal <dialog>: a text (a new name) or one of `choices`
// ({value, label}; a folder to move to). Resolves with the value, or null when
// cancelled (Cancel or Escape). Focus starts in the field and returns to the opener.
export function askValue({ title, label, confirm, value = "", choices = null, testid = "ask" }) {
  const titleId = uid("ask-title");
  let answer = null;
  const field = choices
    ? h("select", { testid: `${testid}-field` },
      choices.map((c) => h("option", { value: c.value, selected: c.value === value }, c.label)))
    : h("input", { testid: `${testid}-field`, type: "text", value, required: true, autocomplete: "off" });
  const dialog = h("dialog", { class: "confirm-dialog", testid: `${testid}-dialog`, "aria-labelledby": titleId },
    h("form", { method: "dialog", onsubmit: (e) => {
      e.preventDefault();
      const v = field.value.trim();
      if (!choices && !v) return;
      answer = choices ? field.value : v;
      dialog.close();
    } },
    h("h2", { id: titleId }, title),
    labelled(label, field),
    h("div", { class: "confirm-actions" },
      h("button", { type: "button", class: "btn btn-secondary", testid: `${testid}-cancel`, onclick: () => dialog.close() }, t("dialog.cancel")),
      h("button", { type: "submit", class: "btn btn-primary", testid: `${testid}-ok` }, confirm))));
  const asked = openModal(dialog, field, () => answer);
  if (!choices) field.select();
  return asked;
}
