// Live alerts in the inbox: a conversation handed to people, or assigned to you. Urgent ones (a
// possible emergency) stay until dismissed; others fade after a while. Screen readers hear them.

import { h } from "./dom.js";
import { t } from "./strings.js";

const FADE_MS = 30000;
const MAX_SHOWN = 5;

export class Alerts {
  /** onOpen(conversationId): the agent wants to see it. */
  constructor({ onOpen }) {
    this.onOpen = onOpen;
    this.element = h("section", { class: "alerts", "aria-label": t("alerts.label"), "aria-live": "assertive",
      "data-testid": "alerts" });
  }

  /** text: what happened; urgent: a red, sticky alert. The same conversation's newer alert replaces its older one. */
  show({ conversationId, text, urgent = false }) {
    this.element.querySelector(`[data-conversation-id="${conversationId}"]`)?.remove();
    const alert = h("div", { class: `alert${urgent ? " is-urgent" : ""}`, role: urgent ? "alert" : "status",
      "data-testid": "alert", "data-conversation-id": conversationId, "data-urgent": urgent ? "true" : "false" },
      h("p", { class: "alert-text" }, text),
      h("div", { class: "alert-actions" },
        h("button", { type: "button", class: "button small primary", "data-testid": "alert-open",
          onclick: () => { alert.remove(); this.onOpen(conversationId); } }, t("alerts.open")),
        h("button", { type: "button", class: "button small subtle", "data-testid": "alert-dismiss",
          onclick: () => alert.remove() }, t("alerts.dismiss"))));
    this.element.prepend(alert);
    while (this.element.children.length > MAX_SHOWN) this.element.lastElementChild.remove();
    if (!urgent) setTimeout(() => alert.remove(), FADE_MS);
  }

  /** The agent opened the conversation: its alert has done its job. */
  clear(conversationId) {
    this.element.querySelector(`[data-conversation-id="${conversationId}"]`)?.remove();
  }
}
