// Live video (filled in once the media signalling is documented).
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { Panel } from "./panel.js";

export class VideoPanel extends Panel {
  constructor(session, host, ctx) {
    super(session, host, ctx);
    replace(host, h("div", { class: "panel-head" }, h("h2", {}, t("video.title"))),
      h("div", { class: "video-grid", testid: "video-grid" }),
      h("p", { class: "muted" }, t("video.unavailable")));
  }
}
