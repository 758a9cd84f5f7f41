// Writing to the patient (a reply on a channel) or to the team (an internal note).

import { h } from "./dom.js";
import { channelLabel } from "./format.js";
import { t } from "./strings.js";

/** Reply channels for a patient, as the server decides them: [{channel, disabled, reason}]. */
export function replyChannels(patient) {
  return (patient?.reply_channels || []).map((r) => ({ channel: r.channel, disabled: !r.reachable, reason: r.reason }));
}

export class Composer {
  /** onReply(text, channel) and onNote(text) return promises resolving to true when saved;
   * onTyping() is called as the agent writes a reply (never a note: the patient may be told). */
  constructor({ onReply, onNote, onTyping = () => {} }) {
    this.onReply = onReply;
    this.onNote = onNote;
    this.onTyping = onTyping;
    this.mode = "reply";
    this.busy = false;
    this.channelTouched = false;
    this.patientName = "";

    const id = `composer-text-${Math.random().toString(36).slice(2, 8)}`;
    this.replyTab = this.#tab("reply", t("composer.modeReply"));
    this.noteTab = this.#tab("note", t("composer.modeNote"));
    this.text = h("textarea", { id, class: "composer-text", rows: "3", "data-testid": "composer-text" });
    this.channel = h("select", { class: "composer-channel", "data-testid": "composer-channel" });
    this.channel.addEventListener("change", () => { this.channelTouched = true; });
    this.channelField = h("label", { class: "composer-via" }, h("span", {}, t("composer.channel")), this.channel);
    this.submit = h("button", { type: "submit", class: "button primary", "data-testid": "composer-submit" });
    this.element = h("form", { class: "composer", "data-testid": "composer", "data-mode": "reply" },
      h("div", { class: "composer-tabs", role: "group", "aria-label": t("composer.label") }, this.replyTab, this.noteTab),
      h("label", { class: "sr-only", for: id }, t("composer.label")),
      this.text,
      h("div", { class: "composer-foot" },
        this.channelField,
        h("span", { class: "composer-hint" }, t("composer.hint")),
        this.submit));
    this.element.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.#send();
    });
    this.text.addEventListener("input", () => {
      if (this.mode === "reply" && this.text.value.trim()) this.onTyping();
    });
    this.text.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        this.#send();
      }
    });
    this.#render();
  }

  #tab(mode, label) {
    return h("button", {
      type: "button", class: "composer-tab", "data-testid": `composer-mode-${mode}`, "aria-pressed": "false",
      onclick: () => this.setMode(mode),
    }, label);
  }

  setMode(mode) {
    this.mode = mode;
    this.#render();
    this.text.focus();
  }

  /** A new conversation was opened. */
  reset(conversation, patient) {
    this.text.value = "";
    this.mode = "reply";
    this.channelTouched = false;
    this.patientName = patient?.name || conversation.patient_name;
    this.channel.replaceChildren(...replyChannels(patient).map(({ channel, disabled }) =>
      h("option", { value: channel, disabled },
        disabled ? t("composer.channelOptedOut", { channel: channelLabel(channel) }) : channelLabel(channel))));
    this.update(conversation);
    this.#render();
  }

  /** The conversation changed: follow the patient's latest channel unless the agent picked one. */
  update(conversation) {
    if (this.channelTouched) return;
    const preferred = conversation.last_inbound_channel || conversation.channel;
    const options = [...this.channel.options];
    const match = options.find((o) => o.value === preferred && !o.disabled) || options.find((o) => !o.disabled);
    if (match) this.channel.value = match.value;
  }

  #render() {
    const reply = this.mode === "reply";
    this.element.dataset.mode = this.mode;
    this.replyTab.setAttribute("aria-pressed", String(reply));
    this.noteTab.setAttribute("aria-pressed", String(!reply));
    this.channelField.hidden = !reply;
    this.text.placeholder = reply ? t("composer.replyPlaceholder", { name: this.patientName }) : t("composer.notePlaceholder");
    this.submit.textContent = this.busy ? t("composer.sending") : reply ? t("composer.send") : t("composer.addNote");
    this.submit.disabled = this.busy;
  }

  async #send() {
    const text = this.text.value.trim();
    if (!text || this.busy) return;
    this.busy = true;
    this.#render();
    try {
      const ok = this.mode === "reply" ? await this.onReply(text, this.channel.value || null) : await this.onNote(text);
      if (ok) this.text.value = "";
    } finally {
      this.busy = false;
      this.#render();
      this.text.focus();
    }
  }
}
