// The pupils' credentials sheet: one card per pupil to cut out (the room's name, the address,
// one line of instructions, the username and password), print and CSV download. The server
// shows these passwords once, so the sheet is all the teacher will ever see of them.
import { h, icon, uid } from "../dom.js";
import { t } from "../i18n.js";

// A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR) is kept as text.
function csvCell(value) {
  let text = String(value ?? "");
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n;]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function credentialsCsv(roomName, address, creds) {
  const rows = [[t("teach.csv_name"), t("auth.username"), t("auth.password"), t("teach.csv_room"), t("teach.sheet_address")]];
  for (const c of creds) rows.push([c.display_name, c.username, c.password, roomName, address]);
  return rows.map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

function csvLink(roomName, address, creds) {
  // A byte-order mark lets spreadsheet programs read accented names as UTF-8.
  const blob = new Blob(["\ufeff", credentialsCsv(roomName, address, creds)], { type: "text/csv;charset=utf-8" });
  const slug = roomName.normalize("NFKD").replace(/[^\w]+/g, "-").replace(/^-|-$/g, "").toLowerCase() || "room";
  return h("a", { class: "btn btn-quiet", href: URL.createObjectURL(blob), download: `${slug}-accounts.csv`, testid: "download-csv" },
    t("teach.download_csv"));
}

export function credentialsSheet(room, creds) {
  const address = location.origin;
  const headingId = uid("sheet-h");
  return h("section", { class: "card sheet", testid: "credentials-sheet", "aria-labelledby": headingId },
    h("div", { class: "sheet-tools no-print" },
      h("p", { class: "notice", role: "alert" }, t("teach.sheet_once")),
      csvLink(room.name, address, creds),
      h("button", { type: "button", class: "btn btn-primary", onclick: () => window.print(), testid: "print-sheet" }, icon("print"), t("teach.print"))),
    h("h3", { id: headingId, tabindex: "-1" }, t("teach.sheet_title", { room: room.name })),
    h("ul", { class: "cred-cards" }, creds.map((c) => h("li", { class: "cred-card", testid: "cred-card" },
      h("p", { class: "cred-name" }, c.display_name),
      h("p", { class: "cred-room", testid: "cred-room" }, room.name),
      h("p", {}, h("span", { class: "cred-label" }, t("teach.sheet_address")), " ", h("strong", {}, address)),
      h("p", {}, h("span", { class: "cred-label" }, t("auth.username")), " ", h("code", { testid: "cred-username" }, c.username)),
      h("p", {}, h("span", { class: "cred-label" }, t("auth.password")), " ", h("code", { testid: "cred-password" }, c.password)),
      h("p", { class: "cred-how", testid: "cred-how" }, t("teach.sheet_instructions", { address }))))));
}
