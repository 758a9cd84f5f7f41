// Writing to the patient (a reply on a channel) or to the team (an internal note).

import { ApiError, api } from "./api.js";
import { h } from "./dom.js";
import { channelLabel, languageLabel } from "./format.js";
import { LOCALE, t } from "./strings.js";

function detailOf(err) {
  return err instanceof ApiError ? err.detail : t("error.network");
}

/** Reply channels for a patient, as the server decides them: [{channel, disabled, reason}]. */
export function replyChannels(patient) {
  return (patient?.reply_channels || []).map((r) => ({ channel: r.channel, disabled: !r.reachable, reason: r.reason }));
}

export class Composer {
  /** onReply(text, channel) and onNote(text) return promises resolving to true when saved;
   * onTyping() is called as the agent writes a reply (never a note: the patient may be told);
   * onTemplate(key, channel) fills a template in for this patient; onCheck(text, language)
   * answers plain-language suggestions. */
  constructor({ onReply, onNote, onTyping = () => {}, onTemplate = null, onCheck = null }) {
    this.onReply = onReply;
    this.onNote = onNote;
    this.onTyping = onTyping;
    this.onTemplate = onTemplate;
    this.onCheck = onCheck;
    this.mode = "reply";
    this.busy = false;
    this.channelTouched = false;
    this.patientName = "";
    this.patientLanguage = null;
    this.markers = []; // [label] texts a filled-in template left for the agent to replace
    this.checkTimer = null;
    this.checkToken = 0;

    const id = `composer-text-${Math.random().toString(36).slice(2, 8)}`;
    this.replyTab = this.#tab("reply", t("composer.modeReply"));
    this.noteTab = this.#tab("note", t("composer.modeNote"));
    this.text = h("textarea", { id, class: "composer-text", rows: "3", "data-testid": "composer-text" });
    this.channel = h("select", { class: "composer-channel", "data-testid": "composer-channel" });
    this.channel.addEventListener("change", () => { this.channelTouched = true; });
    this.channelField = h("label", { class: "composer-via" }, h("span", {}, t("composer.channel")), this.channel);
    this.submit = h("button", { type: "submit", class: "button primary", "data-testid": "composer-submit" });
    this.templateButton = h("button", { type: "button", class: "button small subtle", "aria-expanded": "false",
      "data-testid": "composer-template", onclick: () => this.#togglePicker() }, t("composer.template"));
    this.picker = h("div", { class: "template-picker", "data-testid": "template-picker", hidden: true });
    this.notice = h("p", { class: "composer-notice", role: "status", "data-testid": "composer-notice", hidden: true });
    this.suggestions = h("div", { class: "composer-suggestions", "data-testid": "composer-suggestions" });
    this.element = h("form", { class: "composer", "data-testid": "composer", "data-mode": "reply" },
      h("div", { class: "composer-tabs", role: "group", "aria-label": t("composer.label") },
        this.replyTab, this.noteTab, h("span", { class: "composer-tabs-spacer" }), this.templateButton),
      this.picker,
      h("label", { class: "sr-only", for: id }, t("composer.label")),
      this.text,
      this.notice,
      this.suggestions,
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
      this.#scheduleCheck();
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
    this.markers = [];
    this.notice.hidden = true;
    this.suggestions.replaceChildren();
    this.picker.hidden = true;
    this.templateButton.setAttribute("aria-expanded", "false");
    this.patientLanguage = patient?.preferred_language || null;
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
    this.templateButton.hidden = !reply || !this.onTemplate;
    this.text.placeholder = reply ? t("composer.replyPlaceholder", { name: this.patientName }) : t("composer.notePlaceholder");
    this.submit.textContent = this.busy ? t("composer.sending") : reply ? t("composer.send") : t("composer.addNote");
    this.submit.disabled = this.busy;
  }

  async #send() {
    const text = this.text.value.trim();
    if (!text || this.busy) return;
    const left = this.mode === "reply" ? this.markers.filter((m) => text.includes(m)) : [];
    if (left.length) { // never send "[appointment date and time]" to a patient
      this.#say(t("composer.fillInFirst", { fields: left.join(", ") }), true);
      this.text.focus();
      return;
    }
    this.busy = true;
    this.#render();
    try {
      const ok = this.mode === "reply" ? await this.onReply(text, this.channel.value || null) : await this.onNote(text);
      if (ok && this.text.value.trim() === text) { // not what the agent began typing meanwhile
        this.text.value = "";
        this.markers = [];
        this.notice.hidden = true;
        this.suggestions.replaceChildren();
      }
    } finally {
      this.busy = false;
      this.#render();
      this.text.focus();
    }
  }

  #say(message, isWarning = false) {
    this.notice.textContent = message;
    this.notice.classList.toggle("is-warning", isWarning);
    this.notice.hidden = false;
  }

  // --- templates ------------------------------------------------------------------------

  async #togglePicker() {
    const open = this.picker.hidden;
    this.picker.hidden = !open;
    this.templateButton.setAttribute("aria-expanded", String(open));
    if (!open) return;
    const search = h("input", { type: "search", class: "template-search", placeholder: t("composer.templateSearch"),
      "aria-label": t("composer.templateSearch"), "data-testid": "template-search" });
    const list = h("ul", { class: "template-options" }, h("li", { class: "template-empty" }, t("composer.templateLoading")));
    this.picker.replaceChildren(search, list);
    search.focus();
    let templates = [];
    try {
      templates = (await api.templates()).filter((tpl) => tpl.published);
    } catch (err) {
      list.replaceChildren(h("li", { class: "form-error" }, t("composer.templateFailed", { detail: detailOf(err) })));
      return;
    }
    const show = () => {
      const q = search.value.trim().toLowerCase();
      const shown = templates.filter((tpl) => !q || tpl.key.includes(q) || tpl.purpose.toLowerCase().includes(q));
      list.replaceChildren(...(shown.length ? shown.map((tpl) => h("li", {},
        h("button", { type: "button", class: "template-option", "data-testid": "template-option", "data-key": tpl.key,
          onclick: () => this.#insertTemplate(tpl.key) },
          h("span", { class: "template-option-key" }, tpl.key),
          h("span", { class: "template-option-purpose" }, tpl.purpose))))
        : [h("li", { class: "template-empty" }, t("composer.templateNone"))]));
    };
    search.addEventListener("input", show);
    show();
  }

  async #insertTemplate(key) {
    this.picker.hidden = true;
    this.templateButton.setAttribute("aria-expanded", "false");
    let filled;
    try {
      filled = await this.onTemplate(key, this.channel.value || null);
    } catch (err) {
      this.#say(t("composer.templateFailed", { detail: detailOf(err) }), true);
      return;
    }
    const start = this.text.selectionStart ?? this.text.value.length;
    const end = this.text.selectionEnd ?? start;
    this.text.setRangeText(filled.text, start, end, "end");
    this.markers = [...new Set([...this.markers, ...filled.unresolved.map((u) => u.marker)])];
    const said = [];
    if (filled.missing_translation) {
      said.push(t("composer.templateNoTranslation", { language: languageLabel(filled.language), used: languageLabel(filled.locale) }));
    }
    if (filled.unresolved.length) said.push(t("composer.templateFillIn", { fields: filled.unresolved.map((u) => u.label).join(", ") }));
    if (said.length) this.#say(said.join(" "), filled.missing_translation);
    else this.notice.hidden = true;
    this.text.focus();
    this.#scheduleCheck();
  }

  // --- plain language ---------------------------------------------------------------------

  #scheduleCheck() {
    if (!this.onCheck) return;
    clearTimeout(this.checkTimer);
    this.checkTimer = setTimeout(() => this.#check(), 600);
  }

  async #check() {
    const token = ++this.checkToken;
    const text = this.text.value;
    if (this.mode !== "reply" || !text.trim()) {
      this.suggestions.replaceChildren();
      return;
    }
    let answer;
    try {
      answer = await this.onCheck(text, this.patientLanguage || LOCALE);
    } catch {
      return; // suggestions are a help, not a gate
    }
    if (token !== this.checkToken || this.text.value !== text) return;
    this.suggestions.replaceChildren(...answer.suggestions.map((s) => h("p", { class: "composer-suggestion",
      "data-testid": "composer-suggestion" },
      t("composer.plainSuggestion", { term: s.term, plain: s.plain }), " ",
      h("button", { type: "button", class: "button small", "data-testid": "composer-suggestion-use",
        onclick: () => this.#usePlain(s) }, t("composer.plainUse")))));
  }

  #usePlain(s) {
    if (this.text.value.slice(s.start, s.end) !== s.term) return;
    this.text.setRangeText(s.plain, s.start, s.end, "end");
    this.text.focus();
    this.#scheduleCheck();
  }
}
