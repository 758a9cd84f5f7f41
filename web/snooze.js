// Snooze in the open conversation's bar: an hour, tomorrow morning (in the clinic's time zone: the hub
// works it out), or a picked time; the conversation leaves the open views and comes back by itself.
// A snoozed conversation says until when, and can be brought back now.

import { api } from "./api.js";
import { h } from "./dom.js";
import { longTime } from "./format.js";
import { t } from "./strings.js";

/** A datetime-local input's value (the browser's local time), an hour from now by default. */
function localValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export class SnoozeControl {
  /** act(run): runs an action the way the conversation view does (errors shown, state refreshed). */
  constructor({ act, conversationId }) {
    this.act = act;
    this.conversationId = conversationId;
    this.flag = h("span", { class: "badge is-snoozed", "data-testid": "conversation-snoozed", hidden: true });
    this.button = h("button", { type: "button", class: "button subtle", "data-testid": "snooze",
      "aria-expanded": "false", "aria-controls": "snooze-menu", onclick: () => this.#toggle() }, t("snooze.button"));
    this.endButton = h("button", { type: "button", class: "button subtle", "data-testid": "unsnooze", hidden: true,
      onclick: () => this.#run(this.endButton, () => api.endSnooze(this.conversationId())) }, t("snooze.end"));
    this.picker = h("input", { type: "datetime-local", id: "snooze-at", "data-testid": "snooze-at", required: true });
    this.menu = h("div", { class: "snooze-menu", id: "snooze-menu", role: "group", "aria-label": t("snooze.menu"),
      "data-testid": "snooze-menu", hidden: true },
      h("button", { type: "button", class: "button small", "data-testid": "snooze-hour",
        onclick: (ev) => this.#run(ev.currentTarget, () => api.snooze(this.conversationId(), { preset: "hour" })) },
      t("snooze.hour")),
      h("button", { type: "button", class: "button small", "data-testid": "snooze-tomorrow",
        onclick: (ev) => this.#run(ev.currentTarget, () => api.snooze(this.conversationId(), { preset: "tomorrow_morning" })) },
      t("snooze.tomorrow")),
      h("form", { class: "snooze-pick", onsubmit: (ev) => this.#pick(ev) },
        h("label", { for: "snooze-at" }, t("snooze.pick")),
        this.picker,
        h("button", { type: "submit", class: "button small", "data-testid": "snooze-pick-submit",
          "aria-label": t("snooze.pickLabel") }, t("snooze.submit"))));
    this.element = h("span", { class: "snooze" }, this.button, this.endButton);
  }

  #toggle(open = this.menu.hidden) {
    this.menu.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
    if (open) {
      this.picker.value = localValue(new Date(Date.now() + 3600_000));
      this.menu.querySelector("button")?.focus();
    }
  }

  async #pick(ev) {
    ev.preventDefault();
    const at = new Date(this.picker.value); // the browser's local time
    if (Number.isNaN(at.getTime())) return;
    await this.#run(ev.submitter || this.picker, () => api.snooze(this.conversationId(), { until: at.toISOString() }));
  }

  async #run(button, call) {
    button.disabled = true;
    try {
      if (await this.act(call)) {
        this.#toggle(false);
        this.button.focus();
      }
    } finally {
      button.disabled = false;
    }
  }

  /** The conversation's state: snoozed or not, resolved (nothing to snooze), urgent (take it first). */
  update(c) {
    const snoozed = Boolean(c.snoozed_until) && c.status !== "resolved";
    this.flag.hidden = !snoozed;
    this.flag.textContent = snoozed ? t("snooze.flag", { time: longTime(c.snoozed_until) }) : "";
    this.endButton.hidden = !snoozed;
    this.button.hidden = c.status === "resolved" || Boolean(c.urgent_since);
    if (this.button.hidden) this.#toggle(false);
  }
}
