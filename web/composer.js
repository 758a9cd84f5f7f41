// Writing to the patient (a reply on a channel) or to the team (an internal note).

import { ApiError, api } from "./api.js";
import { h } from "./dom.js";
import { channelLabel, languageLabel } from "./format.js";
import { LANGUAGE_NAMES, LOCALE, SUPPORTED, t } from "./strings.js";

function detailOf(err) {
  return err instanceof ApiError ? err.detail : t("error.network");
}

// Which reply channels this hub can send on (GET /api/reply-channels), asked once per page load.
let setUp = null;
function channelsSetUp() {
  setUp ??= api.replyChannelsSetUp().then(
    (list) => new Map(list.map((c) => [c.channel, c])),
    () => { setUp = null; return new Map(); }); // asked again next time
  return setUp;
}

// "/word" just before the caret, at the start or after a space: a canned reply being asked for.
const SLASH = /(?:^|\s)\/([\p{L}\p{N}_-]{0,40})$/u;

/** Reply channels for a patient, as the server decides them: [{channel, disabled, reason}]. */
export function replyChannels(patient) {
  return (patient?.reply_channels || []).map((r) => ({ channel: r.channel, disabled: !r.reachable, reason: r.reason }));
}

/** A template's purpose in the inbox's language (the server translates the starter set's). */
function titleOf(tpl) {
  return tpl.title || tpl.purpose;
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
    this.conversationId = null;
    this.unconfigured = new Map(); // channel -> why this hub cannot send on it
    this.canned = null; // the canned replies, loaded when "/" is first typed in a conversation
    this.cannedLoading = null;
    this.slash = null; // the open canned-reply picker: {start, items, active}

    const id = `composer-text-${Math.random().toString(36).slice(2, 8)}`;
    this.replyTab = this.#tab("reply", t("composer.modeReply"));
    this.noteTab = this.#tab("note", t("composer.modeNote"));
    this.text = h("textarea", { id, class: "composer-text", rows: "3", "data-testid": "composer-text" });
    this.channel = h("select", { class: "composer-channel", "data-testid": "composer-channel" });
    this.channel.addEventListener("change", () => {
      this.channelTouched = true;
      this.#sayChannel();
    });
    this.channelField = h("label", { class: "composer-via" }, h("span", {}, t("composer.channel")), this.channel);
    this.submit = h("button", { type: "submit", class: "button primary", "data-testid": "composer-submit" });
    this.templateButton = h("button", { type: "button", class: "button small subtle", "aria-expanded": "false",
      "data-testid": "composer-template", onclick: () => this.#togglePicker() }, t("composer.template"));
    this.picker = h("div", { class: "template-picker", "data-testid": "template-picker", hidden: true });
    this.saveButton = h("button", { type: "button", class: "button small subtle", "aria-expanded": "false",
      "data-testid": "composer-save-canned", onclick: () => this.#toggleSave() }, t("composer.saveCanned"));
    this.saveForm = h("div", { class: "canned-save", role: "group", "aria-label": t("composer.saveCannedHeading"),
      "data-testid": "canned-save", hidden: true });
    this.notice = h("p", { class: "composer-notice", role: "status", "data-testid": "composer-notice", hidden: true });
    this.channelWarning = h("p", { id: `${id}-channel-warning`, class: "composer-notice is-warning", role: "status",
      "data-testid": "composer-channel-warning", hidden: true });
    this.slashList = h("ul", { id: `${id}-canned`, class: "canned-picker", role: "listbox", hidden: true,
      "aria-label": t("composer.cannedLabel"), "data-testid": "canned-picker" });
    this.text.setAttribute("aria-controls", this.slashList.id);
    this.text.setAttribute("aria-autocomplete", "list");
    this.suggestions = h("div", { class: "composer-suggestions", "data-testid": "composer-suggestions" });
    this.element = h("form", { class: "composer", "data-testid": "composer", "data-mode": "reply" },
      h("div", { class: "composer-tabs", role: "group", "aria-label": t("composer.label") },
        this.replyTab, this.noteTab, h("span", { class: "composer-tabs-spacer" }), this.saveButton,
        this.templateButton),
      this.picker,
      this.saveForm,
      h("label", { class: "sr-only", for: id }, t("composer.label")),
      this.text,
      this.slashList,
      this.channelWarning,
      this.notice,
      this.suggestions,
      h("div", { class: "composer-foot" },
        this.channelField,
        h("span", { class: "composer-hint" }, t("composer.hint"), " ", t("composer.slashHint")),
        this.submit));
    this.element.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.#send();
    });
    this.text.addEventListener("input", () => {
      if (this.mode === "reply" && this.text.value.trim()) this.onTyping();
      this.#scheduleCheck();
      this.#slashFollow();
    });
    this.text.addEventListener("blur", () => setTimeout(() => {
      if (document.activeElement !== this.text) this.#slashClose();
    }, 150));
    this.text.addEventListener("keydown", (ev) => {
      if (this.slash && this.#slashKey(ev)) return;
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
    this.conversationId = conversation.id;
    this.canned = null; // asked again: the agent may have kept new ones meanwhile
    this.#slashClose();
    this.#closeSave();
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
      h("option", { value: channel, disabled, "data-channel": channel },
        disabled ? t("composer.channelOptedOut", { channel: channelLabel(channel) }) : channelLabel(channel))));
    this.update(conversation);
    this.#render();
    const opened = conversation.id;
    channelsSetUp().then((known) => {
      if (this.conversationId !== opened) return;
      this.unconfigured = new Map([...known.values()].filter((c) => !c.configured).map((c) => [c.channel, c.reason]));
      for (const option of this.channel.options) {
        if (this.unconfigured.has(option.value) && !option.disabled) {
          option.textContent = t("composer.channelNotSetUp", { channel: channelLabel(option.value) });
        }
      }
      this.#sayChannel();
    });
  }

  /** Says, before anything is sent, that the chosen channel is not set up on this hub. */
  #sayChannel() {
    const channel = this.channel.value;
    const why = this.mode === "reply" && this.unconfigured.has(channel)
      ? this.unconfigured.get(channel) || t("composer.notSetUp", { channel: channelLabel(channel) })
      : null;
    if (this.channelWarning.textContent !== (why || "")) this.channelWarning.textContent = why || ""; // said once
    this.channelWarning.hidden = !why;
    if (why) this.channel.setAttribute("aria-describedby", this.channelWarning.id);
    else this.channel.removeAttribute("aria-describedby");
  }

  /** The conversation changed: follow the patient's latest channel unless the agent picked one. */
  update(conversation) {
    if (this.channelTouched) return;
    const preferred = conversation.last_inbound_channel || conversation.channel;
    const options = [...this.channel.options];
    const match = options.find((o) => o.value === preferred && !o.disabled) || options.find((o) => !o.disabled);
    if (match) this.channel.value = match.value;
    this.#sayChannel();
  }

  #render() {
    const reply = this.mode === "reply";
    this.element.dataset.mode = this.mode;
    this.replyTab.setAttribute("aria-pressed", String(reply));
    this.noteTab.setAttribute("aria-pressed", String(!reply));
    this.channelField.hidden = !reply;
    this.templateButton.hidden = !reply || !this.onTemplate;
    this.saveButton.hidden = !reply;
    if (!reply) this.#closeSave();
    this.text.placeholder = reply ? t("composer.replyPlaceholder", { name: this.patientName }) : t("composer.notePlaceholder");
    this.submit.textContent = this.busy ? t("composer.sending") : reply ? t("composer.send") : t("composer.addNote");
    this.submit.disabled = this.busy;
    if (!reply) this.#slashClose();
    this.#sayChannel();
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
    if (this.mode === "reply" && this.unconfigured.has(this.channel.value)) { // it would never leave
      this.#sayChannel();
      this.channel.focus();
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
      templates = (await api.templates()).filter((tpl) => tpl.published && !tpl.internal); // never the assistant's own
    } catch (err) {
      list.replaceChildren(h("li", { class: "form-error" }, t("composer.templateFailed", { detail: detailOf(err) })));
      return;
    }
    const show = () => {
      const q = search.value.trim().toLowerCase();
      const shown = templates.filter((tpl) => !q || tpl.key.includes(q) || titleOf(tpl).toLowerCase().includes(q));
      list.replaceChildren(...(shown.length ? shown.map((tpl) => h("li", {},
        h("button", { type: "button", class: "template-option", "data-testid": "template-option", "data-key": tpl.key,
          onclick: () => this.#insertTemplate(tpl.key) },
          h("span", { class: "template-option-purpose" }, titleOf(tpl)),
          h("span", { class: "template-option-key" }, tpl.key))))
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
    this.#applyFilled(filled, start, this.text.selectionEnd ?? start, "composer.templateNoTranslation");
  }

  /** A filled-in template or canned reply in place of the text from start to end, and what the
   * agent must still do about it (translate it, fill values in) said. */
  #applyFilled(filled, start, end, noTranslation) {
    this.text.setRangeText(filled.text, start, end, "end");
    this.markers = [...new Set([...this.markers, ...filled.unresolved.map((u) => u.marker)])];
    const said = [];
    if (filled.missing_translation) {
      said.push(t(noTranslation, { language: languageLabel(filled.language), used: languageLabel(filled.locale) }));
    }
    if (filled.unresolved.length) said.push(t("composer.templateFillIn", { fields: filled.unresolved.map((u) => u.label).join(", ") }));
    if (said.length) this.#say(said.join(" "), filled.missing_translation);
    else this.notice.hidden = true;
    this.text.focus();
    this.#scheduleCheck();
  }

  // --- canned replies: "/shortcut" ----------------------------------------------------------

  /** Opens, narrows or closes the picker as the agent types "/word" before the caret. */
  #slashFollow() {
    const caret = this.text.selectionStart ?? this.text.value.length;
    const m = this.mode === "reply" && this.text.selectionEnd === caret
      ? SLASH.exec(this.text.value.slice(0, caret)) : null;
    if (!m) {
      this.#slashClose();
      return;
    }
    const query = m[1].toLowerCase();
    const start = caret - m[1].length - 1;
    if (this.canned === null) { // asked once; the picker follows what is typed meanwhile
      if (!this.cannedLoading) {
        this.cannedLoading = api.cannedReplies().then((list) => { this.canned = list; },
          (err) => this.#say(t("composer.cannedFailed", { detail: detailOf(err) }), true))
          .finally(() => { this.cannedLoading = null; });
        this.cannedLoading.then(() => { if (this.canned !== null) this.#slashFollow(); });
      }
      return;
    }
    const seen = new Set();
    const items = [
      ...this.canned.filter((c) => c.shortcut.startsWith(query)),
      ...this.canned.filter((c) => query && (c.shortcut.includes(query) || c.title.toLowerCase().includes(query))),
    ].filter((c) => !seen.has(c.id) && seen.add(c.id));
    const active = this.slash && this.slash.query === query ? Math.min(this.slash.active, items.length - 1) : 0;
    this.slash = { start, query, items, active: Math.max(0, active) };
    this.#slashRender();
  }

  #slashRender() {
    const { items, active, query } = this.slash;
    const id = this.slashList.id;
    this.slashList.replaceChildren(...(items.length ? items.map((c, i) => h("li", {
      id: `${id}-${i}`, role: "option", class: "canned-option", "aria-selected": String(i === active),
      "data-testid": "canned-option", "data-shortcut": c.shortcut,
      onmousedown: (ev) => { ev.preventDefault(); this.#slashChoose(i); },
    }, h("span", { class: "canned-shortcut" }, `/${c.shortcut}`),
    h("span", { class: "canned-title" }, c.title),
    h("span", { class: "canned-scope" }, c.shared ? t("composer.cannedShared") : t("composer.cannedMine"))))
      : [h("li", { class: "canned-empty", role: "option", "aria-disabled": "true", "aria-selected": "false",
        id: `${id}-none`, "data-testid": "canned-none" },
      this.canned.length ? t("composer.cannedNone", { query }) : t("composer.cannedEmpty"))]));
    this.slashList.hidden = false;
    if (items.length) this.text.setAttribute("aria-activedescendant", `${id}-${active}`);
    else this.text.removeAttribute("aria-activedescendant");
    this.slashList.children[active]?.scrollIntoView?.({ block: "nearest" });
  }

  #slashClose() {
    this.slash = null;
    this.slashList.hidden = true;
    this.slashList.replaceChildren();
    this.text.removeAttribute("aria-activedescendant");
  }

  /** Arrows move, Enter (or Tab) inserts, Escape closes; true when the key was the picker's. */
  #slashKey(ev) {
    const { items } = this.slash;
    if (ev.key === "Escape") {
      ev.preventDefault();
      ev.stopPropagation();
      this.#slashClose();
      return true;
    }
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      if (items.length) {
        this.slash.active = (this.slash.active + (ev.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
        this.#slashRender();
      }
      return true;
    }
    if ((ev.key === "Enter" || ev.key === "Tab") && !ev.ctrlKey && !ev.metaKey && !ev.shiftKey && items.length) {
      ev.preventDefault();
      this.#slashChoose(this.slash.active);
      return true;
    }
    return false;
  }

  async #slashChoose(index) {
    const { start, items } = this.slash;
    const chosen = items[index];
    const end = this.text.selectionStart ?? this.text.value.length;
    const typed = this.text.value.slice(start, end); // "/word", replaced by the reply
    this.#slashClose();
    let filled;
    try {
      filled = await api.fillCanned(this.conversationId, chosen.id, this.channel.value || null);
    } catch (err) {
      this.#say(t("composer.cannedFailed", { detail: detailOf(err) }), true);
      return;
    }
    if (this.text.value.slice(start, end) !== typed) return; // the agent changed it meanwhile: left alone
    this.#applyFilled(filled, start, end, "composer.cannedNoTranslation");
  }

  #closeSave() {
    this.saveForm.hidden = true;
    this.saveForm.replaceChildren();
    this.saveButton.setAttribute("aria-expanded", "false");
  }

  /** A small form: the text as it is becomes a canned reply (or this language's text of one of
   * the agent's own with the same shortcut). */
  async #toggleSave() {
    if (!this.saveForm.hidden) {
      this.#closeSave();
      return;
    }
    if (!this.text.value.trim()) {
      this.#say(t("composer.cannedNeedsText"), true);
      this.text.focus();
      return;
    }
    const uid = Math.random().toString(36).slice(2, 8);
    const field = (label, input) => h("label", { class: "field" }, h("span", { class: "field-label" }, label), input);
    const shortcut = h("input", { id: `canned-shortcut-${uid}`, required: true, maxlength: "40", autocomplete: "off",
      pattern: "[a-z0-9][a-z0-9_\\-]*", spellcheck: "false", "data-testid": "canned-shortcut" });
    const title = h("input", { required: true, maxlength: "120", "data-testid": "canned-title" });
    const language = h("select", { "data-testid": "canned-language" }, ...SUPPORTED.map((code) =>
      h("option", { value: code, selected: code === (this.patientLanguage || LOCALE).split("-")[0] }, LANGUAGE_NAMES[code])));
    const shared = h("input", { type: "checkbox", "data-testid": "canned-shared" });
    const sharing = h("label", { class: "field-check", hidden: true }, shared, " ", t("composer.cannedShareAll"));
    const error = h("p", { class: "form-error", role: "alert", "data-testid": "canned-save-error", hidden: true });
    const save = h("button", { type: "button", class: "button small primary", "data-testid": "canned-save-submit" },
      t("composer.cannedSave"));
    const cancel = h("button", { type: "button", class: "button small", onclick: () => this.#closeSave() },
      t("composer.cannedCancel"));
    shortcut.addEventListener("input", () => { shortcut.value = shortcut.value.toLowerCase().replace(/^\//, ""); });
    save.addEventListener("click", async () => {
      error.hidden = true;
      if (!shortcut.reportValidity() || !title.reportValidity()) return;
      const lang = language.value;
      const body = { shortcut: shortcut.value, title: title.value.trim(), texts: { [lang]: this.text.value.trim() } };
      try {
        const mine = (await api.cannedReplies()).find((c) => c.mine && c.shortcut === body.shortcut
          && c.shared === shared.checked);
        if (mine) await api.updateCanned(mine.id, { title: body.title, texts: { ...mine.texts, ...body.texts } });
        else await api.createCanned({ ...body, shared: shared.checked });
      } catch (err) {
        error.textContent = t("composer.cannedSaveFailed", { detail: detailOf(err) });
        error.hidden = false;
        return;
      }
      this.canned = null;
      this.#closeSave();
      this.#say(t("composer.cannedSaved", { shortcut: body.shortcut }));
      this.text.focus();
    });
    this.saveForm.replaceChildren(
      h("p", { class: "canned-save-heading" }, t("composer.saveCannedHeading")),
      h("div", { class: "canned-save-fields" },
        field(t("composer.cannedShortcut"), shortcut),
        field(t("composer.cannedTitle"), title),
        field(t("composer.cannedLanguage"), language)),
      sharing, error,
      h("div", { class: "canned-save-actions" }, save, cancel));
    this.saveForm.hidden = false;
    this.saveButton.setAttribute("aria-expanded", "true");
    shortcut.focus();
    this.saveForm.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        ev.stopPropagation();
        this.#closeSave();
        this.saveButton.focus();
      }
    });
    try { // only supervisors and admins keep shared ones
      const me = await api.me();
      sharing.hidden = !me || me.role === "agent";
    } catch { /* not offered */ }
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
