// "Are you sure?" before an action that cannot be taken back, as a modal <dialog>:
// the browser keeps focus inside it and closes it on Escape; focus starts on the safe
// choice and returns to the button that asked.
import { h, uid } from "../dom.js";
import { t } from "../i18n.js";

export function confirmAction({ title, body, confirm, danger = true }) {
  const opener = document.activeElement;
  const titleId = uid("confirm-title");
  const bodyId = uid("confirm-body");
  return new Promise((resolve) => {
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
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancelBtn.focus();
  });
}
