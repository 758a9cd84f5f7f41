// Live alerts in the inbox: a conversation handed to people, or assigned to you, fades after a
// while. An urgent one (a possible emergency nobody has taken yet) is drawn from the conversation's
// state, not from a moment: it stays while the conversation is urgent and untaken, says how long
// the patient has waited, and offers to take it. Screen readers hear them.

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

  /** A passing alert; the same conversation's newer alert replaces its older one (an urgent one stays). */
  show({ conversationId, text }) {
    if (this.#find(conversationId)?.dataset.urgent === "true") return;
    this.#find(conversationId)?.remove();
    const alert = h("div", { class: "alert", role: "status", "data-testid": "alert",
      "data-conversation-id": conversationId, "data-urgent": "false" },
      h("p", { class: "alert-text" }, text));
    alert.append(h("div", { class: "alert-actions" },
      this.#openButton(conversationId, alert),
      h("button", { type: "button", class: "button small subtle", "data-testid": "alert-dismiss",
        onclick: () => alert.remove() }, t("alerts.dismiss"))));
    this.element.prepend(alert);
    this.#trim();
    setTimeout(() => alert.remove(), FADE_MS);
  }

  /**
   * Keep exactly these urgent alerts up: [{conversationId, text, detail, onTake, onHide}], drawn
   * in place (focus on a button survives an update); any other urgent alert goes.
   */
  setUrgent(items) {
    const wanted = new Set(items.map((item) => String(item.conversationId)));
    for (const node of this.element.querySelectorAll('[data-urgent="true"]')) {
      if (!wanted.has(node.dataset.conversationId)) node.remove();
    }
    for (const item of items.slice().reverse()) {
      let alert = this.#find(item.conversationId);
      if (alert?.dataset.urgent !== "true") {
        alert?.remove();
        alert = this.#urgentAlert(item);
        this.element.prepend(alert);
      }
      alert.querySelector(".alert-text").textContent = item.text;
      const detail = alert.querySelector(".alert-detail");
      if (!alert.dataset.failed) detail.textContent = item.detail;
    }
    this.#trim();
  }

  #urgentAlert({ conversationId, onTake, onHide }) {
    const alert = h("div", { class: "alert is-urgent", role: "alert", "data-testid": "alert",
      "data-conversation-id": conversationId, "data-urgent": "true" },
      h("p", { class: "alert-text" }),
      h("p", { class: "alert-detail", "data-testid": "alert-detail" }));
    const take = h("button", { type: "button", class: "button small primary", "data-testid": "alert-take",
      onclick: async () => {
        take.disabled = true;
        const failure = await onTake();
        take.disabled = false;
        if (failure) {
          alert.dataset.failed = "true";
          alert.querySelector(".alert-detail").textContent = t("alerts.takeFailed", { detail: failure });
        }
      } }, t("alerts.take"));
    alert.append(h("div", { class: "alert-actions" },
      take,
      this.#openButton(conversationId, null),
      h("button", { type: "button", class: "button small subtle", "data-testid": "alert-hide",
        onclick: () => { alert.remove(); onHide(); } }, t("alerts.hide"))));
    return alert;
  }

  #openButton(conversationId, removeOnOpen) {
    return h("button", { type: "button", class: "button small", "data-testid": "alert-open",
      onclick: () => { removeOnOpen?.remove(); this.onOpen(conversationId); } }, t("alerts.open"));
  }

  /** The agent opened the conversation: a passing alert has done its job (an urgent one stays until taken). */
  clear(conversationId) {
    const alert = this.#find(conversationId);
    if (alert && alert.dataset.urgent !== "true") alert.remove();
  }

  /** Only alerts about conversations the reader may still open stay. */
  retain(mayOpen) {
    for (const node of this.element.querySelectorAll("[data-conversation-id]")) {
      if (!mayOpen(Number(node.dataset.conversationId))) node.remove();
    }
  }

  #find(conversationId) {
    return this.element.querySelector(`[data-conversation-id="${conversationId}"]`);
  }

  #trim() {
    // Urgent ones are never pushed out; passing ones go first.
    const passing = [...this.element.querySelectorAll('[data-urgent="false"]')];
    while (this.element.children.length > MAX_SHOWN && passing.length) passing.pop().remove();
  }
}
