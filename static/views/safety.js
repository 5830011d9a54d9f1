// The teachers' safety cards: the report queue (live: new reports arrive as
// `report:new`) with hide and dismiss, and the room's audit log. Both name whom and what a
// teacher acts on (a post's author and first words) and link to the post in its thread.
import { api, paths } from "../api.js";
import { h, replace } from "../dom.js";
import { timeElement } from "../format.js";
import { errorText, t } from "../i18n.js";
import { announce } from "../ui.js";

export function postHref(roomId, threadId, postId) {
  return `#/room/${[roomId, "forum", threadId, postId].map(encodeURIComponent).join("/")}`;
}

export class SafetyCards {
  constructor(session) {
    this.session = session;
    this.reportList = h("ul", { class: "report-list", testid: "report-queue" });
    this.auditList = h("ol", { class: "audit-list", testid: "audit-log" });
    this.el = [
      h("section", { class: "card", "aria-labelledby": "rep-h" },
        h("h3", { id: "rep-h" }, t("teach.reports")),
        this.reportList),
      h("section", { class: "card", "aria-labelledby": "aud-h" },
        h("h3", { id: "aud-h" }, t("teach.audit")),
        this.auditList),
    ];
  }

  async load() {
    await Promise.all([this.loadReports(), this.loadAudit()]);
  }

  async loadReports() {
    const reports = await api.get(paths.reports(this.session.id)).catch(() => []);
    replace(this.reportList, ...reports.map((r) => this.reportRow(r)));
    if (!reports.length) this.reportList.append(h("li", { class: "muted" }, t("teach.no_reports")));
  }

  async loadAudit() {
    const entries = await api.get(paths.audit(this.session.id)).catch(() => []);
    // Newest first: what a teacher checks is what just happened.
    replace(this.auditList, ...entries.reverse().map((e) => h("li", { testid: "audit-entry", dataset: { action: e.action } },
      timeElement(e.created_at), " ",
      h("strong", {}, e.actor.display_name), " ",
      h("span", { class: "audit-action" }, t(`audit.${e.action}`)),
      this.auditTarget(e.target))));
    if (!entries.length) this.auditList.append(h("li", { class: "muted" }, t("teach.no_audit")));
  }

  // What an entry acted on: a person's name, a thread's title, or a post's author and first
  // words with a link to the post in its thread.
  auditTarget(target) {
    if (target.post) {
      const p = target.post;
      return h("span", { class: "audit-target" }, ": ", t("teach.written_by", { name: p.author.display_name }), " ",
        h("a", { href: postHref(this.session.id, p.thread_id, p.id), testid: "audit-post-link" }, h("q", {}, p.excerpt)));
    }
    return target.name ? h("span", { class: "audit-target" }, ": ", h("em", {}, target.name)) : null;
  }

  reportRow(r) {
    const act = (label, work) => h("button", { type: "button", class: "btn btn-quiet btn-small", onclick: async () => {
      try {
        await work();
        announce(t("teach.report_done"));
      } catch (err) {
        announce(errorText(err), "error");
      }
      await this.load();
    } }, label);
    return h("li", { testid: "report", dataset: { reportId: r.id } },
      h("blockquote", { class: "report-body" }, r.body),
      h("p", { class: "report-meta" },
        h("strong", { testid: "report-author" }, t("teach.written_by", { name: r.author.display_name })), " · ",
        h("a", { href: postHref(this.session.id, r.thread_id, r.post_id), testid: "report-link" }, t("teach.open_post")), " · ",
        t("teach.reported_by", { name: r.reporter.display_name }), " · ", timeElement(r.created_at),
        r.reason ? h("span", {}, ` · ${r.reason}`) : null),
      h("div", { class: "toolbar" },
        r.hidden ? null : act(t("forum.hide"), () => api.post(`${paths.post(r.post_id)}/hide`, { hidden: true })),
        act(t("teach.dismiss"), () => api.del(paths.report(this.session.id, r.id)))));
  }
}
