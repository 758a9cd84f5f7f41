// The patient directory (#/patients): one search box for a name, phone, email, record number or date
// of birth, the patients it finds (page by page), each a link to their record (#/patients/<id>).
// Agents see dates of birth and addresses masked (the server masks them); supervisors and admins in
// full. The query never goes into the URL: it names a patient, and URLs end up in histories and logs.

import { ApiError, api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { dateOnly, relativeTime } from "./format.js";
import { t, tn } from "./strings.js";

const TYPING_MS = 300;

function detailOf(err) {
  return err instanceof ApiError ? err.detail : t("error.network");
}

/** A date of birth as this reader may see it: the date, or its year only ("••/••/1984"). */
function birth(p) {
  if (p.date_of_birth) return dateOnly(p.date_of_birth);
  if (p.birth_year) return t("dir.birthYearOnly", { year: String(p.birth_year) });
  return null;
}

export class DirectoryView {
  constructor() {
    this.input = h("input", { type: "search", id: "directory-q", name: "q", autocomplete: "off", spellcheck: "false",
      "aria-describedby": "directory-hint", "data-testid": "directory-q", maxlength: "200" });
    this.input.addEventListener("input", () => this.#typed());
    this.input.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowDown") {
        const first = this.results.querySelector("a");
        if (first) {
          ev.preventDefault();
          first.focus();
        }
      }
    });
    const form = h("form", { class: "admin-form directory-form", role: "search", "aria-label": t("dir.searchLabel") },
      h("label", { for: "directory-q" }, t("dir.searchLabel")),
      h("div", { class: "directory-row" }, this.input,
        h("button", { type: "submit", class: "button primary", "data-testid": "directory-search" }, t("dir.search"))),
      h("p", { class: "field-hint", id: "directory-hint" }, t("dir.hint")));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.#search();
    });
    this.status = h("p", { class: "directory-status", role: "status", "data-testid": "directory-status" });
    this.error = h("p", { class: "form-error", role: "alert", "data-testid": "directory-error", hidden: true });
    this.results = h("ul", { class: "directory-results", "data-testid": "directory-results",
      "aria-label": t("dir.results") });
    this.results.addEventListener("keydown", (ev) => this.#arrows(ev));
    this.more = h("button", { type: "button", class: "button", hidden: true, "data-testid": "directory-more",
      onclick: () => this.#search(this.cursor) }, t("dir.more"));
    this.element = h("main", { class: "admin-page directory-page", "data-testid": "directory-page", tabindex: "-1" },
      h("h1", { class: "admin-title" }, t("dir.heading")), form, this.error, this.status, this.results, this.more);
    this.timer = null;
    this.cursor = null;
    this.asked = 0; // answers to older questions are dropped
    this.loaded = false;
  }

  open() {
    if (!this.loaded) this.#search();
    this.input.focus();
  }

  #typed() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.#search(), TYPING_MS);
  }

  async #search(cursor = null) {
    clearTimeout(this.timer);
    const q = this.input.value.trim();
    const asked = ++this.asked;
    this.error.hidden = true;
    if (!cursor) this.status.textContent = t("dir.searching");
    this.results.setAttribute("aria-busy", "true");
    let page;
    try {
      page = await api.directory({ q, cursor });
    } catch (err) {
      if (asked !== this.asked) return;
      this.results.setAttribute("aria-busy", "false");
      this.error.textContent = detailOf(err);
      this.error.hidden = false;
      this.status.textContent = "";
      return;
    }
    if (asked !== this.asked) return;
    this.loaded = true;
    this.results.setAttribute("aria-busy", "false");
    const items = page.patients.map((p) => this.#item(p));
    if (cursor) this.results.append(...items);
    else replaceChildren(this.results, items);
    this.cursor = page.next_cursor;
    this.more.hidden = !page.next_cursor;
    const shown = this.results.children.length;
    this.status.textContent = !shown ? (q ? t("dir.none") : t("dir.empty"))
      : page.next_cursor ? tn("dir.foundMore", shown) : tn("dir.found", shown);
  }

  #item(p) {
    const name = p.name || t("dir.unnamed", { id: String(p.id) });
    const facts = [];
    const born = birth(p);
    if (born) facts.push(h("span", { "data-testid": "directory-dob" }, t("dir.born", { date: born })));
    for (const c of p.contacts) {
      facts.push(h("span", { class: "directory-contact", "data-kind": c.kind },
        t(c.kind === "phone" ? "dir.phone" : "dir.email", { address: c.address })));
    }
    if (p.record_numbers.length) facts.push(h("span", {}, t("dir.mrn", { numbers: p.record_numbers.join(", ") })));
    facts.push(h("span", { class: "directory-last" }, p.last_contact_at
      ? t("dir.lastContact", { when: relativeTime(p.last_contact_at) }) : t("dir.noContact")));
    return h("li", { class: "directory-item" },
      h("a", { href: `#/patients/${p.id}`, class: "directory-link", "data-testid": "directory-result",
        "data-patient-id": String(p.id) },
      h("span", { class: "directory-name" }, name),
      h("span", { class: "directory-facts" }, facts.map((f, i) => (i ? [" · ", f] : f)))));
  }

  /** Up and down move between results; up from the first goes back to the box. */
  #arrows(ev) {
    if (ev.key !== "ArrowDown" && ev.key !== "ArrowUp") return;
    const links = [...this.results.querySelectorAll("a")];
    const at = links.indexOf(document.activeElement);
    if (at < 0) return;
    ev.preventDefault();
    if (ev.key === "ArrowDown" && at < links.length - 1) links[at + 1].focus();
    else if (ev.key === "ArrowUp") (at > 0 ? links[at - 1] : this.input).focus();
  }
}
