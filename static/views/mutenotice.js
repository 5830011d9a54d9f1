// A member's own forum and chat mute, shown while it lasts: a visible notice with its end in
// the reader's zone, announced when it starts and when it is over (`member:mute` about me, or
// the end time passing with the room open).
import { h } from "../dom.js";
import { formatTime } from "../format.js";
import { t } from "../i18n.js";
import { say } from "../ui.js";

export class MuteNotice {
  constructor() {
    this.el = h("p", { class: "notice mute-notice", testid: "mute-notice", hidden: true });
    this.timer = null;
    this.until = null;
  }

  // `until`: the mute's end (ISO 8601), or null when it was lifted; `quiet` redraws without
  // announcing again.
  update(until, quiet = false) {
    clearTimeout(this.timer);
    this.timer = null;
    const left = until ? new Date(until).getTime() - Date.now() : 0;
    if (!(left > 0)) {
      if (this.until) say(t("mute.ended"));
      this.until = null;
      this.el.hidden = true;
      this.el.textContent = "";
      return;
    }
    this.until = until;
    const text = t("mute.notice", { until: formatTime(until, "smart") });
    this.el.textContent = text;
    this.el.hidden = false;
    if (!quiet) say(text);
    // A mute is at most a week, well inside what setTimeout can wait.
    this.timer = setTimeout(() => this.update(null), Math.min(left + 500, 2 ** 31 - 1));
  }

  destroy() {
    clearTimeout(this.timer);
    this.timer = null;
  }
}
