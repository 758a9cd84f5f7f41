// The red-flag list (#/red-flags): the words that make the assistant answer with 911 / 988 and
// hand the conversation to people ahead of everyone. Supervisors read it; admins add phrases,
// deactivate them and bring them back. Nothing is ever deleted: a deactivated phrase stays listed.

import { ApiError, api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { longTime } from "./format.js";
import { LANGUAGE_NAMES, t, tn } from "./strings.js";

const CSRF_COOKIE = "puente_csrf";

function csrfCookie() {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === CSRF_COOKIE) return decodeURIComponent(rest.join("="));
  }
  return "";
}

/** The red-flag API, as api.js calls the others: JSON, the session cookie, the CSRF header on
 * writes; a 401 goes through api.whoami() so the inbox shows the sign-in form as for any call. */
async function call(method, path, body) {
  const headers = { accept: "application/json" };
  if (method !== "GET") {
    if (!csrfCookie()) await fetch("/api/health", { credentials: "same-origin", cache: "no-store" }).catch(() => null);
    headers["x-csrf-token"] = csrfCookie();
  }
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, t("error.network"));
  }
  const data = await response.json().catch(() => null);
  if (response.ok) return data;
  if (response.status === 401) api.whoami().catch(() => {});
  throw new ApiError(response.status, (data && typeof data.detail === "string" && data.detail)
    || t("error.server", { status: response.status }));
}

const redFlagsApi = {
  list: () => call("GET", "/api/red-flags"),
  add: (language, phrase, category) => call("POST", "/api/red-flags", { language, phrase, category }),
  deactivate: (id) => call("DELETE", `/api/red-flags/${encodeURIComponent(id)}`),
};

function detailOf(err) {
  return err instanceof ApiError ? err.detail : t("error.network");
}

/** Lower case without accents, as the matcher compares: the search finds "corazon" in "corazón". */
function plain(text) {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
}

export class RedFlagsView {
  /** me: the signed-in staff member; admins edit, supervisors read. */
  constructor({ me }) {
    this.canEdit = me.role === "admin";
    this.data = null;
    this.token = 0;
    this.notice = h("p", { class: "notice", role: "status", "data-testid": "red-flag-notice", hidden: true });
    this.search = h("input", { type: "search", class: "rf-search", placeholder: t("rf.search"),
      "aria-label": t("rf.search"), "data-testid": "red-flag-search", oninput: () => this.#renderList() });
    this.showInactive = h("input", { type: "checkbox", "data-testid": "red-flag-show-inactive",
      onchange: () => this.#renderList() });
    this.count = h("span", { class: "rf-count", "data-testid": "red-flag-count" });
    this.list = h("div", { class: "rf-categories", "data-testid": "red-flag-list" },
      h("p", { class: "rf-loading" }, t("rf.loading")));
    this.form = this.canEdit ? this.#form() : null;
    this.element = h("main", { class: "rf-page", "data-testid": "red-flags-page" },
      h("header", { class: "rf-head" },
        h("h1", { class: "rf-title" }, t("rf.heading")),
        h("p", { class: "rf-intro" }, t("rf.intro")),
        h("p", { class: "rf-intro" }, t("rf.negation")),
        this.canEdit ? null : h("p", { class: "rf-readonly", "data-testid": "red-flags-readonly" }, t("rf.readOnly"))),
      this.form ? this.form.element : null,
      this.notice,
      h("div", { class: "rf-tools" },
        this.search,
        h("label", { class: "rf-toggle" }, this.showInactive, t("rf.showInactive")),
        this.count),
      this.list);
  }

  /** Load the list (again) and show it. */
  async open(notice = "") {
    const token = ++this.token;
    try {
      const data = await redFlagsApi.list();
      if (token !== this.token) return;
      this.data = data;
      if (this.form) this.form.fill(data);
      this.#renderList();
      this.#say(notice);
    } catch (err) {
      if (token !== this.token) return;
      replaceChildren(this.list, h("p", { class: "error-banner", role: "alert" }, t("rf.failed", { detail: detailOf(err) })));
    }
  }

  #say(text) {
    this.notice.textContent = text;
    this.notice.hidden = !text;
  }

  #form() {
    const phrase = h("input", { name: "phrase", maxlength: "200", required: true, autocomplete: "off",
      "data-testid": "red-flag-phrase" });
    const language = h("select", { name: "language", "data-testid": "red-flag-language" });
    const category = h("select", { name: "category", "data-testid": "red-flag-category" });
    const problem = h("p", { class: "form-error", role: "alert", "data-testid": "red-flag-error" });
    const submit = h("button", { type: "submit", class: "button primary", "data-testid": "red-flag-add" }, t("rf.add"));
    const element = h("form", { class: "rf-form", "data-testid": "red-flag-form" },
      h("h2", { class: "rf-form-title" }, t("rf.addHeading")),
      h("div", { class: "rf-form-fields" },
        h("label", { class: "field rf-phrase-field" }, h("span", {}, t("rf.phrase")), phrase,
          h("span", { class: "rf-hint" }, t("rf.phraseHint"))),
        h("label", { class: "field" }, h("span", {}, t("rf.language")), language),
        h("label", { class: "field" }, h("span", {}, t("rf.category")), category),
        submit),
      problem);
    element.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      problem.textContent = "";
      submit.disabled = true;
      try {
        const added = await redFlagsApi.add(language.value, phrase.value, category.value);
        phrase.value = "";
        await this.open(t("rf.added", { phrase: added.phrase }));
        phrase.focus();
      } catch (err) {
        problem.textContent = detailOf(err);
      } finally {
        submit.disabled = false;
      }
    });
    const fill = (data) => {
      if (!language.options.length) {
        for (const code of data.languages) language.append(h("option", { value: code, lang: code }, LANGUAGE_NAMES[code] || code));
      }
      const chosen = category.value;
      replaceChildren(category, data.categories.map((c) => h("option", { value: c.key, selected: c.key === chosen }, c.label)));
      phrase.maxLength = data.max_chars;
    };
    return { element, fill };
  }

  #renderList() {
    if (!this.data) return;
    const query = plain(this.search.value.trim());
    const withInactive = this.showInactive.checked;
    const shown = this.data.phrases.filter((p) => (withInactive || p.active) && (!query || plain(p.phrase).includes(query)));
    const active = this.data.phrases.filter((p) => p.active).length;
    this.count.textContent = tn("rf.count", active);
    const sections = this.data.categories.map((category) => {
      const mine = shown.filter((p) => p.category === category.key);
      if (!mine.length) return null;
      return h("section", { class: "rf-category", "data-category": category.key, "data-testid": "red-flag-category-section" },
        h("h2", { class: "rf-category-title" },
          h("span", {}, category.label),
          h("span", { class: "rf-call" }, t("rf.call", { numbers: category.call.join(" / ") }))),
        h("ul", { class: "rf-list" }, mine.map((p) => this.#row(p))));
    });
    const any = sections.some(Boolean);
    replaceChildren(this.list, any ? sections : h("p", { class: "rf-empty" }, t("rf.none")));
  }

  #row(p) {
    const who = p.active
      ? (p.created_by ? t("rf.addedBy", { who: p.created_by, when: longTime(p.created_at) }) : t("rf.starting"))
      : (p.deactivated_by
        ? t("rf.deactivatedBy", { who: p.deactivated_by, when: longTime(p.deactivated_at) })
        : t("rf.deactivated"));
    let action = null;
    if (this.canEdit) {
      action = p.active
        ? h("button", { type: "button", class: "button small subtle", "data-testid": "red-flag-deactivate",
          onclick: (ev) => this.#deactivate(p, ev.currentTarget) }, t("rf.deactivate"))
        : h("button", { type: "button", class: "button small", "data-testid": "red-flag-reactivate",
          onclick: (ev) => this.#reactivate(p, ev.currentTarget) }, t("rf.reactivate"));
    }
    return h("li", { class: `rf-row${p.active ? "" : " is-inactive"}`, "data-testid": "red-flag-row",
      "data-id": p.id, "data-active": String(p.active) },
      h("span", { class: "rf-phrase", lang: p.language }, p.phrase),
      h("span", { class: "badge rf-language" }, LANGUAGE_NAMES[p.language] || p.language),
      h("span", { class: "rf-who" }, who),
      action);
  }

  async #deactivate(p, button) {
    button.disabled = true;
    try {
      await redFlagsApi.deactivate(p.id);
      await this.open(t("rf.deactivatedNotice", { phrase: p.phrase }));
    } catch (err) {
      button.disabled = false;
      this.#say(t("rf.changeFailed", { detail: detailOf(err) }));
    }
  }

  async #reactivate(p, button) {
    button.disabled = true;
    try {
      await redFlagsApi.add(p.language, p.phrase, p.category);
      await this.open(t("rf.reactivated", { phrase: p.phrase }));
    } catch (err) {
      button.disabled = false;
      this.#say(t("rf.changeFailed", { detail: detailOf(err) }));
    }
  }
}
