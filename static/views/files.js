// The room's file archive: folders, drag and drop, one progress bar per upload,
// image previews in the page, versions, renaming and moving files and folders,
// and for teachers the trash. Files and folders appear for everyone through
// file:new, file:edit and folder:*.
import { api, paths, upload } from "../api.js";
import { h, icon, replace } from "../dom.js";
import { formatSize, timeElement } from "../format.js";
import { errorText, t } from "../i18n.js";
import { announce, navigate } from "../ui.js";
import { askValue, confirmAction } from "./confirm.js";
import { Panel, authorId } from "./panel.js";

const ICONS = [[/^image\//, "image"], [/^video\//, "video"], [/^audio\//, "mic"]];

function iconFor(mime) {
  const hit = ICONS.find(([re]) => re.test(mime || ""));
  return hit ? hit[1] : "file";
}

const PREVIEWABLE = /^image\/(png|jpeg|gif|webp)$/;

function parentOf(path) {
  return path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
}

function lastPart(path) {
  return path.slice(path.lastIndexOf("/") + 1);
}

function cleanFolder(path) {
  return String(path || "").split("/").map((p) => p.trim()).filter((p) => p && p !== "." && p !== "..").join("/");
}

export class FilesPanel extends Panel {
  constructor(session, host, ctx) {
    super(session, host, ctx);
    this.folder = "";
    this.uploads = h("ul", { class: "uploads", testid: "uploads", "aria-label": t("files.uploads") });
    this.list = h("ul", { class: "file-list", testid: "file-list", "aria-label": t("files.list") });
    this.crumbs = h("nav", { class: "crumbs folder-crumbs", "aria-label": t("files.folders") });
    this.input = h("input", { type: "file", multiple: true, id: "file-input", testid: "file-input", class: "visually-hidden",
      onchange: () => { this.start([...this.input.files]); this.input.value = ""; } });
    const canWrite = session.canWrite;
    this.drop = h("div", { class: "dropzone", testid: "dropzone" },
      h("p", { class: "drop-text" }, icon("upload"), t("files.drop_here")),
      this.input,
      h("label", { for: "file-input", class: "btn btn-primary" }, t("files.choose")),
      h("p", { class: "hint" }, t("files.limit_hint")));
    this.trash = h("section", { class: "trash", testid: "trash", hidden: true, "aria-labelledby": "trash-title" });
    this.trashButton = session.isTeacher
      ? h("button", { type: "button", class: "btn btn-quiet btn-small", testid: "show-trash", "aria-expanded": "false",
        "aria-controls": "files-trash", onclick: () => this.toggleTrash() }, icon("trash"), " ", t("files.trash"))
      : null;
    this.trash.id = "files-trash";
    replace(host,
      h("div", { class: "panel-head" }, h("h2", {}, t("files.title")),
        h("div", { class: "panel-actions" },
          canWrite ? h("button", { type: "button", class: "btn btn-secondary btn-small", testid: "new-folder", onclick: () => this.newFolder() }, t("files.new_folder")) : null,
          this.trashButton)),
      this.crumbs,
      canWrite ? this.drop : null,
      this.uploads,
      this.list,
      this.trash);
    if (canWrite) this.wireDrop();
  }

  wireDrop() {
    let depth = 0;
    const target = this.host;
    target.addEventListener("dragenter", (e) => {
      if (!e.dataTransfer || ![...e.dataTransfer.types].includes("Files")) return;
      e.preventDefault();
      depth += 1;
      this.drop.classList.add("over");
    });
    target.addEventListener("dragover", (e) => {
      if (!e.dataTransfer || ![...e.dataTransfer.types].includes("Files")) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
    });
    target.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (!depth) this.drop.classList.remove("over");
    });
    target.addEventListener("drop", (e) => {
      e.preventDefault();
      depth = 0;
      this.drop.classList.remove("over");
      const files = [...((e.dataTransfer && e.dataTransfer.files) || [])];
      if (files.length) this.start(files);
    });
  }

  show(rest) {
    this.folder = cleanFolder(rest.join("/"));
    this.render();
  }

  folderHref(path) {
    return this.ctx.href("files", ...(path ? path.split("/") : []));
  }

  async newFolder() {
    const name = prompt(t("files.folder_prompt"));
    const clean = cleanFolder(name);
    if (!clean) return;
    const path = this.folder ? `${this.folder}/${clean}` : clean;
    try {
      await api.post(paths.folders(this.session.id), { path });
      this.session.apply("folder:new", { room_id: this.session.id, path });
      navigate(this.folderHref(path));
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  subfolders() {
    const prefix = this.folder ? `${this.folder}/` : "";
    const names = new Set();
    const all = [...[...this.session.files.values()].map((f) => cleanFolder(f.folder)), ...this.session.folders];
    for (const path of all) {
      if (path && path.startsWith(prefix) && path !== this.folder) names.add(path.slice(prefix.length).split("/")[0]);
    }
    return [...names].sort((a, b) => a.localeCompare(b));
  }

  render() {
    const parts = this.folder ? this.folder.split("/") : [];
    replace(this.crumbs,
      h("a", { href: this.folderHref(""), "aria-current": parts.length ? null : "page" }, icon("home"), " ", t("files.all")),
      parts.map((p, i) => [" / ", h("a", { href: this.folderHref(parts.slice(0, i + 1).join("/")), "aria-current": i === parts.length - 1 ? "page" : null }, p)]));
    const files = [...this.session.files.values()]
      .filter((f) => cleanFolder(f.folder) === this.folder)
      .sort((a, b) => a.name.localeCompare(b.name));
    const folders = this.subfolders();
    this.placeUploads();
    if (!files.length && !folders.length) {
      replace(this.list, h("li", { class: "empty" }, t("files.empty")));
      return;
    }
    replace(this.list,
      folders.map((name) => this.folderRow(this.folder ? `${this.folder}/${name}` : name, name)),
      files.map((f) => this.fileRow(f)));
  }

  folderRow(path, name) {
    const teacher = this.session.isTeacher;
    return h("li", { class: "file-row folder-row", testid: "folder", dataset: { path } },
      h("span", { class: "file-thumb folder-thumb" }, icon("folder")),
      h("a", { href: this.folderHref(path), class: "file-name" }, name),
      teacher ? h("div", { class: "file-actions" },
        this.action(t("files.rename"), t("files.rename_named", { name }), "folder-rename", () => this.renameFolder(path)),
        this.action(t("files.move"), t("files.move_named", { name }), "folder-move", () => this.moveFolder(path)),
        this.action(t("files.delete"), t("files.delete_named", { name }), "folder-delete", () => this.deleteFolder(path))) : null);
  }

  action(label, name, testid, onclick) {
    return h("button", { type: "button", class: "btn btn-quiet btn-small", testid, "aria-label": name, onclick }, label);
  }

  // Every folder one could move something to, the top first.
  destinations(except = null) {
    const all = [...new Set(["", ...this.session.folders, ...[...this.session.files.values()].map((f) => cleanFolder(f.folder))])]
      .filter((p) => except === null || (p !== except && !p.startsWith(`${except}/`)))
      .sort((a, b) => a.localeCompare(b));
    return all.map((p) => ({ value: p, label: p ? p.split("/").join(" / ") : t("files.all") }));
  }

  async patch(path, body) {
    try {
      return await api.patch(path, body);
    } catch (err) {
      announce(errorText(err), "error");
      return null;
    }
  }

  async renameFile(f) {
    const name = await askValue({ title: t("files.rename_named", { name: f.name }), label: t("files.new_name"), confirm: t("files.rename"), value: f.name, testid: "rename" });
    if (name && name !== f.name) await this.patch(paths.file(f.id), { name });
  }

  async moveFile(f) {
    const folder = await askValue({ title: t("files.move_named", { name: f.name }), label: t("files.move_to"), confirm: t("files.move"),
      value: cleanFolder(f.folder), choices: this.destinations(), testid: "move" });
    if (folder !== null && folder !== cleanFolder(f.folder)) await this.patch(paths.file(f.id), { folder });
  }

  async renameFolder(path) {
    const old = lastPart(path);
    const name = cleanFolder(await askValue({ title: t("files.rename_named", { name: old }), label: t("files.new_name"), confirm: t("files.rename"), value: old, testid: "rename" }));
    if (!name || name === old) return;
    const parent = parentOf(path);
    await this.patch(paths.folders(this.session.id), { path, new_path: parent ? `${parent}/${name}` : name });
  }

  async moveFolder(path) {
    const name = lastPart(path);
    const parent = await askValue({ title: t("files.move_named", { name }), label: t("files.move_to"), confirm: t("files.move"),
      value: parentOf(path), choices: this.destinations(path), testid: "move" });
    if (parent === null || parent === parentOf(path)) return;
    await this.patch(paths.folders(this.session.id), { path, new_path: parent ? `${parent}/${name}` : name });
  }

  async deleteFolder(path) {
    try {
      await api.del(`${paths.folders(this.session.id)}?path=${encodeURIComponent(path)}`);
    } catch (err) {
      announce(err.code === "conflict" ? t("files.folder_not_empty") : errorText(err), "error");
    }
  }

  // Images open in the page, in a modal dialog with their name and a download link.
  preview(f, event) {
    if (event && (event.ctrlKey || event.metaKey || event.shiftKey || event.button === 1)) return;
    if (event) event.preventDefault();
    const opener = document.activeElement;
    const titleId = "preview-title";
    const close = h("button", { type: "button", class: "btn btn-secondary", testid: "preview-close", onclick: () => dialog.close() }, t("files.close"));
    const dialog = h("dialog", { class: "preview-dialog", testid: "preview", "aria-labelledby": titleId },
      h("h2", { id: titleId }, f.name),
      h("img", { src: paths.content(f.id), alt: f.name, testid: "preview-image" }),
      h("div", { class: "confirm-actions" },
        h("a", { href: paths.content(f.id), download: f.name, class: "btn btn-quiet" }, icon("download"), " ", t("files.download")),
        close));
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (opener && opener.isConnected) opener.focus();
    });
    document.body.append(dialog);
    dialog.showModal();
    close.focus();
  }

  async toggleTrash() {
    const open = this.trash.hidden;
    this.trash.hidden = !open;
    this.trashButton.setAttribute("aria-expanded", String(open));
    if (open) await this.loadTrash();
  }

  async loadTrash() {
    let files;
    try {
      files = await api.get(`${paths.files(this.session.id)}?deleted=1`);
    } catch (err) {
      announce(errorText(err), "error");
      return;
    }
    replace(this.trash,
      h("h3", { id: "trash-title" }, t("files.trash")),
      h("p", { class: "hint" }, t("files.trash_hint")),
      files.length
        ? h("ul", { class: "file-list", testid: "trash-list" }, files.map((f) => h("li", { class: "file-row", testid: "trashed", dataset: { fileId: f.id } },
          h("span", { class: "file-thumb" }, icon(iconFor(f.mime))),
          h("div", { class: "file-main" },
            h("span", { class: "file-name" }, f.name),
            h("span", { class: "file-meta" }, f.folder ? `${f.folder.split("/").join(" / ")} · ` : "", formatSize(f.size))),
          h("div", { class: "file-actions" },
            this.action(t("files.restore"), t("files.restore_named", { name: f.name }), "restore", () => this.restore(f)),
            this.action(t("files.purge"), t("files.purge_named", { name: f.name }), "purge", () => this.purge(f))))))
        : h("p", { class: "empty", testid: "trash-empty" }, t("files.trash_empty")));
  }

  async restore(f) {
    try {
      const back = await api.post(`${paths.file(f.id)}/restore`);
      this.session.addFile(back);
      announce(t("files.restored", { name: f.name }));
    } catch (err) {
      announce(err.code === "conflict" ? t("files.restore_taken", { name: f.name }) : errorText(err), "error");
    }
    await this.loadTrash();
    this.trashButton.focus();
  }

  async purge(f) {
    const sure = await confirmAction({ title: t("files.purge_title", { name: f.name }), body: t("files.purge_body"), confirm: t("files.purge") });
    if (!sure) return;
    try {
      await api.post(`${paths.file(f.id)}/purge`);
    } catch (err) {
      announce(errorText(err), "error");
    }
    await this.loadTrash();
    this.trashButton.focus();
  }

  fileRow(f) {
    const isImage = PREVIEWABLE.test(f.mime || "");
    const thumb = isImage
      ? h("img", { class: "file-thumb", alt: "", loading: "lazy", src: paths.thumbnail(f.id),
        onerror: (e) => { if (!e.target.dataset.fallback) { e.target.dataset.fallback = "1"; e.target.src = paths.content(f.id); } } })
      : h("span", { class: "file-thumb" }, icon(iconFor(f.mime)));
    const uploader = f.uploader && typeof f.uploader === "object" ? f.uploader.display_name : "";
    const mine = authorId(f.uploader) === this.session.me.id;
    return h("li", { class: "file-row", testid: "file", dataset: { fileId: f.id } },
      isImage ? h("a", { href: paths.content(f.id), tabindex: "-1", "aria-hidden": "true", onclick: (e) => this.preview(f, e) }, thumb) : thumb,
      h("div", { class: "file-main" },
        isImage
          ? h("a", { href: paths.content(f.id), class: "file-name", testid: "file-preview", onclick: (e) => this.preview(f, e) }, f.name)
          : h("a", { href: paths.content(f.id), class: "file-name", target: "_blank", rel: "noopener", download: f.name }, f.name),
        h("span", { class: "file-meta" }, formatSize(f.size), uploader ? ` · ${uploader}` : "", " · ", timeElement(f.updated_at || f.created_at, "date"),
          f.version > 1 ? [" · ", h("button", { type: "button", class: "link-button", testid: "file-versions", "aria-expanded": "false",
            onclick: (e) => this.toggleVersions(f, e.currentTarget) }, t("files.versions", { count: f.version }))] : null)),
      mine || this.session.isTeacher
        ? h("div", { class: "file-actions" },
          this.action(t("files.rename"), t("files.rename_named", { name: f.name }), "file-rename", () => this.renameFile(f)),
          this.action(t("files.move"), t("files.move_named", { name: f.name }), "file-move", () => this.moveFile(f)),
          this.action(t("files.delete"), t("files.delete_named", { name: f.name }), "file-delete", () => this.remove(f)))
        : null);
  }

  // Older versions stay downloadable: list them under the file, newest first.
  async toggleVersions(f, button) {
    const row = button.closest(".file-row");
    const open = row.querySelector(".version-list");
    if (open) {
      open.remove();
      button.setAttribute("aria-expanded", "false");
      return;
    }
    try {
      const versions = await api.get(`${paths.file(f.id)}/versions`);
      const list = h("ol", { class: "version-list", testid: "version-list", reversed: true },
        versions.reverse().map((v) => h("li", {},
          h("a", { href: `${paths.content(f.id)}?version=${v.version}`, download: f.name }, t("files.version", { n: v.version })),
          " · ", formatSize(v.size),
          v.uploader && v.uploader.display_name ? ` · ${v.uploader.display_name}` : "",
          " · ", timeElement(v.updated_at || v.created_at))));
      row.querySelector(".file-main").append(list);
      button.setAttribute("aria-expanded", "true");
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  async remove(f) {
    const sure = await confirmAction({ title: t("files.delete_confirm", { name: f.name }),
      body: this.session.isTeacher ? t("files.delete_body_teacher") : t("files.delete_body"), confirm: t("files.delete") });
    if (!sure) return;
    try {
      await api.del(paths.file(f.id));
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  // A name already in the folder becomes a new version of that file on the
  // server: ask first, file by file, and upload only what was agreed to.
  async start(files) {
    const folder = this.folder;
    for (const file of files) {
      const name = file.name.normalize("NFC").trim();
      const taken = [...this.session.files.values()].some((f) => cleanFolder(f.folder) === folder && f.name === name);
      if (taken && !(await confirmAction({ title: t("files.exists_title", { name }), body: t("files.exists_body", { name }),
        confirm: t("files.add_version"), danger: false }))) continue;
      this.uploadOne(file, folder);
    }
  }

  // An upload in progress shows wherever one is; a finished one only in its folder.
  placeUploads() {
    for (const row of this.uploads.children) {
      row.hidden = row.dataset.state === "done" && row.dataset.folder !== this.folder;
    }
  }

  uploadOne(file, folder) {
    const bar = h("progress", { max: 100, value: 0, testid: "upload-progress", "aria-label": t("files.progress_of", { name: file.name }) });
    const pct = h("span", { class: "upload-pct" }, "0 %");
    const status = h("span", { class: "upload-status", role: "status" }, t("files.uploading"));
    const job = upload(this.session.id, file, folder, (loaded, total) => {
      const v = total ? Math.round((loaded / total) * 100) : 0;
      bar.value = v;
      pct.textContent = `${v} %`;
      row.dataset.progressEvents = String(Number(row.dataset.progressEvents || 0) + 1);
    });
    const cancel = h("button", { type: "button", class: "btn btn-quiet btn-small", onclick: () => job.abort() }, t("files.cancel"));
    const row = h("li", { class: "upload-row", testid: "upload", dataset: { name: file.name, state: "uploading", folder } },
      h("span", { class: "upload-name" }, file.name, h("span", { class: "muted" }, ` (${formatSize(file.size)})`),
        folder ? h("span", { class: "muted" }, ` → ${folder.split("/").join(" / ")}`) : null),
      bar, pct, status, cancel);
    this.uploads.append(row);
    job.promise.then((created) => {
      bar.value = 100;
      pct.textContent = "100 %";
      row.dataset.state = "done";
      status.textContent = t("files.uploaded");
      cancel.remove();
      this.session.addFile(created);
      this.placeUploads();
      setTimeout(() => row.remove(), 8000);
    }, (err) => {
      row.dataset.state = "failed";
      row.classList.add("failed");
      status.textContent = err.code === "aborted" ? t("files.cancelled") : errorText(err);
      cancel.replaceWith(h("button", { type: "button", class: "btn btn-quiet btn-small", onclick: () => row.remove() }, t("files.dismiss")));
    });
  }

  changed(kind) {
    if (kind !== "files" && kind !== "reset") return;
    this.render();
    if (this.trash && !this.trash.hidden) this.loadTrash();
  }
}
