// The teachers' safety cards: the report queue (live: new reports arrive as
// `report:new`) with hide and dismiss, and the room's audit log.
import { api, paths } from "../api.js";
import { h, replace } from "../dom.js";
import { timeElement } from "../format.js";
import { errorText, t } from "../i18n.js";
import { announce } from "../ui.js";

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
    replace(this.auditList, ...entries.reverse().map((e) => h("li", {},
      timeElement(e.created_at), " ",
      h("strong", {}, e.actor.display_name), " ",
      h("span", { class: "audit-action" }, t(`audit.${e.action}`)),
      ` (${e.target.kind})`)));
    if (!entries.length) this.auditList.append(h("li", { class: "muted" }, t("teach.no_audit")));
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
    return h("li", { dataset: { reportId: r.id } },
      h("blockquote", { class: "report-body" }, r.body),
      h("p", { class: "report-meta" },
        t("teach.reported_by", { name: r.reporter.display_name }), " · ", timeElement(r.created_at),
        r.reason ? h("span", {}, ` · ${r.reason}`) : null),
      h("div", { class: "toolbar" },
        r.hidden ? null : act(t("forum.hide"), () => api.post(`${paths.post(r.post_id)}/hide`, { hidden: true })),
        act(t("teach.dismiss"), () => api.del(paths.report(this.session.id, r.id)))));
  }
}
