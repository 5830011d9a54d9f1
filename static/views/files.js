// The room's file archive: folders, drag and drop, one progress bar per upload,
// image previews, versions. Files and folders appear for everyone through
// file:new, file:edit and folder:*.
import { api, paths, upload } from "../api.js";
import { h, icon, replace } from "../dom.js";
import { formatSize, timeElement } from "../format.js";
import { errorText, t } from "../i18n.js";
import { announce, navigate } from "../ui.js";
import { Panel, authorId } from "./panel.js";

const ICONS = [[/^image\//, "image"], [/^video\//, "video"], [/^audio\//, "mic"]];

function iconFor(mime) {
  const hit = ICONS.find(([re]) => re.test(mime || ""));
  return hit ? hit[1] : "file";
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
    replace(host,
      h("div", { class: "panel-head" }, h("h2", {}, t("files.title")),
        canWrite ? h("button", { type: "button", class: "btn btn-secondary btn-small", testid: "new-folder", onclick: () => this.newFolder() }, t("files.new_folder")) : null),
      this.crumbs,
      canWrite ? this.drop : null,
      this.uploads,
      this.list);
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
    if (!files.length && !folders.length) {
      replace(this.list, h("li", { class: "empty" }, t("files.empty")));
      return;
    }
    replace(this.list,
      folders.map((name) => h("li", { class: "file-row folder-row" },
        h("span", { class: "file-thumb folder-thumb" }, icon("folder")),
        h("a", { href: this.folderHref(this.folder ? `${this.folder}/${name}` : name), class: "file-name" }, name))),
      files.map((f) => this.fileRow(f)));
  }

  fileRow(f) {
    const isImage = /^image\/(png|jpeg|gif|webp)$/.test(f.mime || "");
    const thumb = isImage
      ? h("img", { class: "file-thumb", alt: "", loading: "lazy", src: paths.thumbnail(f.id),
        onerror: (e) => { if (!e.target.dataset.fallback) { e.target.dataset.fallback = "1"; e.target.src = paths.content(f.id); } } })
      : h("span", { class: "file-thumb" }, icon(iconFor(f.mime)));
    const uploader = f.uploader && typeof f.uploader === "object" ? f.uploader.display_name : "";
    const mine = authorId(f.uploader) === this.session.me.id;
    return h("li", { class: "file-row", testid: "file", dataset: { fileId: f.id } },
      isImage ? h("a", { href: paths.content(f.id), target: "_blank", rel: "noopener", tabindex: "-1", "aria-hidden": "true" }, thumb) : thumb,
      h("div", { class: "file-main" },
        h("a", { href: paths.content(f.id), class: "file-name", target: "_blank", rel: "noopener", download: isImage ? null : f.name }, f.name),
        h("span", { class: "file-meta" }, formatSize(f.size), uploader ? ` · ${uploader}` : "", " · ", timeElement(f.updated_at || f.created_at, "date"),
          f.version > 1 ? [" · ", h("button", { type: "button", class: "link-button", testid: "file-versions", "aria-expanded": "false",
            onclick: (e) => this.toggleVersions(f, e.currentTarget) }, t("files.versions", { count: f.version }))] : null)),
      mine || this.session.isTeacher
        ? h("button", { type: "button", class: "btn btn-quiet btn-small", "aria-label": t("files.delete_named", { name: f.name }), onclick: () => this.remove(f) }, t("files.delete"))
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
    if (!confirm(t("files.delete_confirm", { name: f.name }))) return;
    try {
      await api.del(paths.file(f.id));
    } catch (err) {
      announce(errorText(err), "error");
    }
  }

  start(files) {
    for (const file of files) this.uploadOne(file, this.folder);
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
    const row = h("li", { class: "upload-row", testid: "upload", dataset: { name: file.name, state: "uploading" } },
      h("span", { class: "upload-name" }, file.name, h("span", { class: "muted" }, ` (${formatSize(file.size)})`)),
      bar, pct, status, cancel);
    this.uploads.append(row);
    job.promise.then((created) => {
      bar.value = 100;
      pct.textContent = "100 %";
      row.dataset.state = "done";
      status.textContent = t("files.uploaded");
      cancel.remove();
      this.session.addFile(created);
      setTimeout(() => row.remove(), 8000);
    }, (err) => {
      row.dataset.state = "failed";
      row.classList.add("failed");
      status.textContent = err.code === "aborted" ? t("files.cancelled") : errorText(err);
      cancel.replaceWith(h("button", { type: "button", class: "btn btn-quiet btn-small", onclick: () => row.remove() }, t("files.dismiss")));
    });
  }

  changed(kind) {
    if (kind === "files" || kind === "reset") this.render();
  }
}
