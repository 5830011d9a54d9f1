// What a screen reader hears of a call, through the page's polite live region: who joins and
// who leaves, hands going up and, for teachers, who waits in the lobby. Fed the call's
// `media:state` and `media:hand` as they come; never news of ourselves.
import { t } from "../i18n.js";
import { say } from "../ui.js";

export class CallNews {
  constructor(me, nameOf, isTeacher) {
    this.me = me;
    this.nameOf = nameOf;
    this.isTeacher = isTeacher;
    this.present = null; // who was in at the last state; the first state is the call as we found it
    this.waiting = new Set();
  }

  state(state) {
    if (!state || state.ended) return;
    if (Array.isArray(state.participants)) {
      const now = new Set(state.participants);
      if (this.present) {
        for (const id of now) if (!this.present.has(id) && id !== this.me) say(t("video.joined_call", { name: this.nameOf(id) }));
        for (const id of this.present) if (!now.has(id) && id !== this.me) say(t("video.left_call", { name: this.nameOf(id) }));
      }
      this.present = now;
    }
    if (Array.isArray(state.waiting)) {
      if (this.isTeacher()) {
        for (const id of state.waiting) if (!this.waiting.has(id)) say(t("video.waits", { name: this.nameOf(id) }));
      }
      this.waiting = new Set(state.waiting);
    }
  }

  hand(data) {
    if (data && data.raised && data.user_id !== this.me) say(t("video.raised_hand", { name: this.nameOf(data.user_id) }));
  }
}
