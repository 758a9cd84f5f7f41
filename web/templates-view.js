// The template editor: supervisors propose drafts, admins publish. Each channel's text is written
// with the clinic's languages side by side, checked and previewed with sample data as it is typed.

import { ApiError, api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { channelLabel, longTime } from "./format.js";
import { LANGUAGE_NAMES, SUPPORTED, t } from "./strings.js";

const CHANNELS = ["sms", "email", "chat"];
const CHECK_DELAY_MS = 300;

function detailOf(err) {
  return err instanceof ApiError ? err.detail : t("error.network");
}

function languageName(tag) {
  return LANGUAGE_NAMES[tag] || tag;
}

function copy(value) {
  return JSON.parse(JSON.stringify(value ?? {}));
}

export class TemplatesView {
  /** me: the signed-in staff member (supervisors propose, admins publish). */
  constructor({ me }) {
    this.me = me;
    this.token = 0;
    this.list = h("ul", { class: "tpl-list", "data-testid": "template-list" });
    this.editorPane = h("main", { class: "tpl-editor-pane", "data-testid": "template-editor" });
    this.element = h("div", { class: "tpl-page" },
      h("nav", { class: "tpl-list-pane", "aria-label": t("tpl.heading") },
        h("div", { class: "list-head" },
          h("h1", { class: "list-title" }, t("tpl.heading")),
          h("button", { type: "button", class: "button small", "data-testid": "template-new",
            onclick: () => this.#newTemplate() }, t("tpl.new"))),
        this.list),
      this.editorPane);
    this.placeholders = [];
    this.channelOf = new Map(); // template key -> the channel tab last shown, kept across reloads
  }

  /** Show the list, and template `key` in the editor (with a notice, after an action). */
  async open(key, notice = "") {
    const token = ++this.token;
    try {
      const [templates, placeholders] = await Promise.all([api.templates(), api.placeholders()]);
      if (token !== this.token) return;
      this.placeholders = placeholders;
      this.#renderList(templates, key);
      if (key) await this.#openEditor(key, token, notice);
      else replaceChildren(this.editorPane, h("div", { class: "empty-state" }, h("p", {}, t("tpl.pick"))));
    } catch (err) {
      if (token !== this.token) return;
      replaceChildren(this.editorPane, h("p", { class: "error-banner", role: "alert" }, t("tpl.failed", { detail: detailOf(err) })));
    }
  }

  #renderList(templates, selected) {
    replaceChildren(this.list, templates.map((tpl) => h("li", {},
      h("a", { class: "tpl-item", href: `#/templates/${encodeURIComponent(tpl.key)}`, "data-testid": "template-item",
        "data-key": tpl.key, "aria-current": tpl.key === selected ? "page" : null },
        h("span", { class: "tpl-key" }, tpl.key),
        h("span", { class: "tpl-purpose" }, tpl.title || tpl.purpose),  // the purpose in the reader's language
        h("span", { class: "tpl-badges" },
          tpl.published ? h("span", { class: "status status-open" }, t("tpl.publishedN", { n: tpl.published })) : null,
          tpl.draft ? h("span", { class: "status status-pending" }, t("tpl.draftN", { n: tpl.draft })) : null)))));
  }

  #newTemplate() {
    const key = h("input", { name: "key", pattern: "[a-z][a-z0-9_]{2,59}", required: true, "data-testid": "template-new-key" });
    const purpose = h("input", { name: "purpose", maxlength: "300", required: true, "data-testid": "template-new-purpose" });
    const problem = h("p", { class: "form-error", role: "alert" });
    const form = h("form", { class: "tpl-new-form" },
      h("h2", {}, t("tpl.new")),
      h("label", { class: "field" }, h("span", {}, t("tpl.key")), key, h("span", { class: "tpl-hint" }, t("tpl.keyHint"))),
      h("label", { class: "field" }, h("span", {}, t("tpl.purpose")), purpose),
      problem,
      h("button", { type: "submit", class: "button primary", "data-testid": "template-create" }, t("tpl.create")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        await api.createTemplate(key.value.trim(), purpose.value.trim(), { chat: {} });
        location.hash = `#/templates/${encodeURIComponent(key.value.trim())}`;
      } catch (err) {
        problem.textContent = detailOf(err);
      }
    });
    replaceChildren(this.editorPane, form);
    key.focus();
  }

  async #openEditor(key, token, notice) {
    const template = await api.template(key);
    if (token !== this.token) return;
    this.editor = new TemplateEditor({ me: this.me, template, placeholders: this.placeholders,
      channel: this.channelOf.get(key), onChannel: (c) => this.channelOf.set(key, c),
      onChanged: (notice) => this.open(key, notice) });
    replaceChildren(this.editorPane, this.editor.element);
    if (notice) this.editor.notice(notice);
  }
}

class TemplateEditor {
  constructor({ me, template, placeholders, channel, onChannel, onChanged }) {
    this.me = me;
    this.template = template;
    this.placeholders = placeholders;
    this.onChanged = onChanged;
    this.onChannel = onChannel;
    const working = template.draft || template.published;
    this.content = copy(working?.content);
    this.seen = template.draft ? template.draft.updated_at : null;
    this.channel = channel || CHANNELS.find((c) => this.content[c]) || "sms";
    this.problems = [];
    this.previews = {};
    this.language = {};
    this.lastField = null;
    this.timer = null;
    this.checkToken = 0;
    this.dirty = false;

    this.purpose = h("input", { class: "tpl-purpose-input", value: template.purpose, maxlength: "300",
      "aria-label": t("tpl.purpose"), "data-testid": "template-purpose", oninput: () => { this.dirty = true; } });
    this.note = h("input", { class: "tpl-note", maxlength: "300", placeholder: t("tpl.notePlaceholder"),
      "aria-label": t("tpl.note"), "data-testid": "template-note" });
    this.banner = h("p", { class: "notice", role: "status", "data-testid": "template-notice", hidden: true });
    this.general = h("ul", { class: "tpl-problems", "data-testid": "template-problems-general" });
    this.tabs = h("div", { class: "segmented", role: "tablist", "aria-label": t("tpl.channels") });
    this.columns = h("div", { class: "tpl-columns" });
    this.actions = h("div", { class: "tpl-actions" });
    this.history = h("ol", { class: "tpl-history", "data-testid": "template-history" });
    this.element = h("article", { class: "tpl-editor", "data-key": template.key },
      h("header", { class: "tpl-head" },
        h("h2", { class: "tpl-title" }, template.key),
        this.purpose,
        this.#stateLine()),
      this.banner,
      this.general,
      h("div", { class: "tpl-bar" }, this.tabs, this.#palette()),
      this.columns,
      h("div", { class: "tpl-foot" }, this.note, this.actions),
      h("section", { class: "tpl-history-pane" }, h("h3", {}, t("tpl.history")), this.history));
    this.#renderTabs();
    this.#renderColumns();
    this.#renderActions();
    this.#renderHistory();
    this.#scheduleCheck(0);
  }

  get canPublish() {
    return this.me.role === "admin";
  }

  #stateLine() {
    const { published, draft } = this.template;
    return h("p", { class: "tpl-state", "data-testid": "template-state" },
      published ? t("tpl.statePublished", { n: published.number, who: published.published_by || t("tpl.system"),
        when: longTime(published.published_at) }) : t("tpl.neverPublished"),
      draft ? ` · ${t("tpl.stateDraft", { n: draft.number, who: draft.updated_by || "", when: longTime(draft.updated_at) })}` : "");
  }

  #palette() {
    return h("details", { class: "tpl-palette" },
      h("summary", { "data-testid": "template-placeholders" }, t("tpl.insertPlaceholder")),
      h("ul", {}, this.placeholders.map((p) => h("li", {},
        h("button", { type: "button", class: "button small subtle", title: t("tpl.sample", { sample: p.sample }),
          "data-testid": "placeholder", "data-name": p.name, onclick: () => this.#insert(`{${p.name}}`) },
          h("code", {}, `{${p.name}}`), " ", p.label)))));
  }

  #insert(text) {
    const field = this.lastField;
    if (!field) return;
    const start = field.selectionStart ?? field.value.length;
    const end = field.selectionEnd ?? start;
    field.setRangeText(text, start, end, "end");
    field.dispatchEvent(new Event("input"));
    field.focus();
  }

  #renderTabs() {
    replaceChildren(this.tabs, CHANNELS.map((c) => h("button", { type: "button", role: "tab", class: "segment",
      "aria-pressed": String(c === this.channel), "aria-selected": String(c === this.channel),
      "data-testid": `template-channel-${c}`, onclick: () => this.#showChannel(c) },
      this.content[c] ? channelLabel(c === "chat" ? "webchat" : c) : t("tpl.addChannel", { channel: channelLabel(c === "chat" ? "webchat" : c) }))));
  }

  #showChannel(channel) {
    this.channel = channel;
    this.onChannel(channel);
    this.#renderTabs();
    this.#renderColumns();
    this.#refreshChecks();
    this.#scheduleCheck(0); // plain-language checks are per channel
  }

  #locales() {
    const present = Object.keys(this.content[this.channel] || {});
    return [...SUPPORTED, ...present.filter((l) => !SUPPORTED.includes(l)).sort()];
  }

  #renderColumns() {
    const channel = this.channel;
    replaceChildren(this.columns, this.#locales().map((locale) => {
      const variant = this.content[channel]?.[locale] || { body: "" };
      const missing = !variant.body.trim();
      const column = h("section", { class: `tpl-column${missing ? " is-missing" : ""}`, "data-testid": "template-locale",
        "data-locale": locale, lang: locale },
        h("h3", { class: "tpl-locale" }, languageName(locale),
          missing ? h("span", { class: "status status-pending", "data-testid": "template-missing" }, t("tpl.missing")) : null));
      if (channel === "email") {
        const subject = h("input", { class: "tpl-subject", value: variant.subject || "", maxlength: "200",
          "aria-label": t("tpl.subjectIn", { language: languageName(locale) }), "data-testid": "template-subject" });
        subject.addEventListener("focus", () => { this.lastField = subject; });
        subject.addEventListener("input", () => this.#edit(locale, "subject", subject.value));
        column.append(h("label", { class: "tpl-field" }, h("span", {}, t("tpl.subject")), subject),
          this.#problemList(locale, "subject"));
      }
      const body = h("textarea", { class: "tpl-body", rows: channel === "email" ? "10" : "5", maxlength: "4000",
        "aria-label": t("tpl.textIn", { language: languageName(locale) }), "data-testid": "template-body" });
      body.value = variant.body || "";
      body.addEventListener("focus", () => { this.lastField = body; });
      body.addEventListener("input", () => this.#edit(locale, "body", body.value));
      column.append(body, this.#problemList(locale, "body"), this.#previewBox(locale), this.#languageBox(locale));
      return column;
    }));
  }

  #edit(locale, field, value) {
    this.dirty = true;
    const byLocale = (this.content[this.channel] ||= {});
    const variant = (byLocale[locale] ||= { body: "" });
    if (field === "subject") {
      if (value) variant.subject = value;
      else delete variant.subject;
    } else {
      variant.body = value;
    }
    this.#scheduleCheck(CHECK_DELAY_MS);
  }

  /** The content as the server takes it: channels and locales with nothing written are left out. */
  #payload() {
    const out = {};
    for (const [channel, byLocale] of Object.entries(this.content)) {
      out[channel] = {};
      for (const [locale, variant] of Object.entries(byLocale)) {
        if (variant.body.trim() || (variant.subject || "").trim()) out[channel][locale] = variant;
      }
    }
    return out;
  }

  #scheduleCheck(delay) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.#check(), delay);
  }

  /** Validate and preview as the editor types; the last answer wins. The plain-language check
   * is slower and only a help: it shows when it comes, without holding the preview back. */
  async #check() {
    const token = ++this.checkToken;
    const payload = this.#payload();
    this.#checkLanguage(payload).then((language) => {
      if (token !== this.checkToken) return;
      this.language = language;
      this.#refreshChecks();
    });
    try {
      const preview = await api.previewTemplate(payload);
      if (token !== this.checkToken) return;
      this.problems = preview.problems;
      this.previews = preview.previews;
    } catch (err) {
      if (token !== this.checkToken) return;
      this.notice(t("tpl.checkFailed", { detail: detailOf(err) }), true);
      return;
    }
    this.#refreshChecks();
  }

  /** Plain-language suggestions and a readability score for each locale's text of this channel. */
  async #checkLanguage(payload) {
    const out = {};
    const texts = Object.entries(payload[this.channel] || {}).filter(([, v]) => v.body.trim());
    const answers = await Promise.all(texts.map(([locale, v]) => api.checkLanguage(v.body, locale).catch(() => null)));
    texts.forEach(([locale], i) => { out[`${this.channel}/${locale}`] = answers[i]; });
    return out;
  }

  #refreshChecks() {
    for (const column of this.columns.querySelectorAll("[data-testid=template-locale]")) {
      const locale = column.dataset.locale;
      for (const list of column.querySelectorAll("[data-field]")) list.replaceWith(this.#problemList(locale, list.dataset.field));
      column.querySelector("[data-testid=template-preview]").replaceWith(this.#previewBox(locale));
      column.querySelector("[data-testid=template-language]").replaceWith(this.#languageBox(locale));
    }
    const general = this.problems.filter((p) => !p.channel);
    replaceChildren(this.general, general.map((p) => h("li", { class: "form-error" }, p.message)));
    const elsewhere = CHANNELS.filter((c) => c !== this.channel && this.problems.some((p) => p.channel === c && p.blocks === "save"));
    if (elsewhere.length) {
      this.general.append(h("li", { class: "form-error" },
        t("tpl.problemsElsewhere", { channels: elsewhere.map((c) => channelLabel(c === "chat" ? "webchat" : c)).join(", ") })));
    }
    this.#renderActions();
  }

  #problemList(locale, field) {
    const mine = this.problems.filter((p) => p.channel === this.channel && p.locale === locale && p.field === field);
    return h("ul", { class: "tpl-problems", "data-field": field, "data-testid": `template-problems-${field}` },
      mine.map((p) => h("li", { class: p.blocks === "save" ? "form-error" : "tpl-warning", "data-code": p.code }, p.message)));
  }

  #previewBox(locale) {
    const preview = this.previews[this.channel]?.[locale];
    if (!preview) return h("div", { class: "tpl-preview is-empty", "data-testid": "template-preview" }, t("tpl.noPreview"));
    return h("div", { class: "tpl-preview", "data-testid": "template-preview" },
      h("p", { class: "tpl-preview-label" }, t("tpl.preview")),
      preview.subject ? h("p", { class: "tpl-preview-subject", "data-testid": "template-preview-subject" }, preview.subject) : null,
      h("p", { class: "tpl-preview-text", "data-testid": "template-preview-text" }, preview.body),
      preview.sms ? h("p", { class: "tpl-sms-info", "data-testid": "template-sms-info" },
        t("tpl.smsInfo", { segments: preview.sms.segments, encoding: preview.sms.encoding, units: preview.sms.units })) : null);
  }

  #languageBox(locale) {
    const check = this.language[`${this.channel}/${locale}`];
    const box = h("div", { class: "tpl-language", "data-testid": "template-language" });
    if (!check) return box;
    if (check.readability) {
      box.append(h("p", { class: "tpl-readability", "data-testid": "template-readability" },
        t("tpl.readability", { label: check.readability.label, score: Math.round(check.readability.score) })));
    }
    for (const s of check.suggestions || []) {
      box.append(h("p", { class: "tpl-suggestion", "data-testid": "template-suggestion" },
        t("tpl.suggestion", { term: s.term, plain: s.plain }), " ",
        h("button", { type: "button", class: "button small", onclick: () => this.#replace(locale, s) }, t("tpl.usePlain"))));
    }
    return box;
  }

  /** Swap the jargon for the plain words in that locale's text. */
  #replace(locale, suggestion) {
    const variant = this.content[this.channel]?.[locale];
    if (!variant || variant.body.slice(suggestion.start, suggestion.end) !== suggestion.term) return;
    variant.body = variant.body.slice(0, suggestion.start) + suggestion.plain + variant.body.slice(suggestion.end);
    this.dirty = true;
    this.#renderColumns();
    this.#scheduleCheck(0);
  }

  #renderActions() {
    const blocked = this.problems.some((p) => p.blocks === "save");
    const unpublishable = this.problems.length > 0;
    const save = h("button", { type: "button", class: "button", "data-testid": "template-save", disabled: blocked,
      onclick: () => this.#save() }, t("tpl.saveDraft"));
    const publish = this.canPublish ? h("button", { type: "button", class: "button primary", "data-testid": "template-publish",
      disabled: unpublishable, title: unpublishable ? t("tpl.fixFirst") : null, onclick: () => this.#publish() }, t("tpl.publish")) : null;
    const discard = this.template.draft ? h("button", { type: "button", class: "button subtle", "data-testid": "template-discard",
      onclick: () => this.#discard() }, t("tpl.discard")) : null;
    replaceChildren(this.actions, discard, save, publish);
  }

  #renderHistory() {
    replaceChildren(this.history, this.template.history.map((v) => h("li", { class: "tpl-version", "data-testid": "template-version",
      "data-number": v.number, "data-state": v.state },
      h("span", { class: "tpl-version-n" }, t("tpl.versionN", { n: v.number })),
      h("span", { class: `status tpl-version-state state-${v.state}` }, t(`tpl.state.${v.state}`)),
      h("span", { class: "tpl-version-who" }, v.published_by
        ? t("tpl.publishedBy", { who: v.published_by, when: longTime(v.published_at) })
        : t("tpl.writtenBy", { who: v.updated_by || t("tpl.system"), when: longTime(v.updated_at) })),
      v.based_on ? h("span", { class: "tpl-version-note" }, t("tpl.restoredFrom", { n: v.based_on })) : null,
      v.note ? h("span", { class: "tpl-version-note" }, v.note) : null,
      v.state !== "draft" ? h("button", { type: "button", class: "button small", "data-testid": "template-restore",
        onclick: () => this.#restore(v.number) }, t("tpl.restore")) : null)));
  }

  notice(message, isError = false) {
    this.banner.textContent = message;
    this.banner.className = isError ? "error-banner" : "notice";
    this.banner.hidden = false;
  }

  async #save(publishing = false) {
    try {
      const saved = await api.saveDraft(this.template.key, {
        content: this.#payload(), seen_updated_at: this.seen, note: this.note.value.trim() || null,
        purpose: this.purpose.value.trim() || null,
      });
      this.seen = saved.updated_at;
      this.dirty = false;
      if (!publishing) await this.onChanged(t("tpl.saved", { n: saved.number }));
      return saved;
    } catch (err) {
      if (err instanceof ApiError && err.problems) {
        this.problems = err.problems;
        this.#refreshChecks();
      }
      this.notice(t("tpl.saveFailed", { detail: detailOf(err) }), true);
      return null;
    }
  }

  async #publish() {
    let seen = this.seen;
    if (this.dirty || !this.template.draft) {
      const saved = await this.#save(true);
      if (!saved) return;
      seen = saved.updated_at;
    }
    try {
      const published = await api.publishTemplate(this.template.key, seen);
      await this.onChanged(t("tpl.published", { n: published.number }));
    } catch (err) {
      this.notice(t("tpl.publishFailed", { detail: detailOf(err) }), true);
    }
  }

  async #discard() {
    try {
      await api.discardDraft(this.template.key);
      await this.onChanged(t("tpl.discarded"));
    } catch (err) {
      this.notice(detailOf(err), true);
    }
  }

  async #restore(number) {
    try {
      const saved = await api.restoreTemplate(this.template.key, number, this.seen);
      await this.onChanged(t("tpl.restored", { n: number, draft: saved.number }));
    } catch (err) {
      this.notice(detailOf(err), true);
    }
  }
}
