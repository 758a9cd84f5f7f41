// The search screen (#/search, "/" from anywhere that is not a text field): one box, the results
// grouped as messages, notes, voice transcripts and patients, the words found marked. A result opens
// the conversation at that event (#/c/<id>/at/<seq>); a patient opens their page (#/patients/<id>).
// The hub marks the words (hub/search/words.py: [text, marked] pieces of the original text); they
// become text nodes and <mark> elements here, never HTML.

import { ApiError, api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { channelLabel, longTime } from "./format.js";
import { t, tn } from "./strings.js";

const TYPING_MS = 250;
const GROUPS = [
  ["messages", (e) => e.kind === "message_in" || e.kind === "message_out"],
  ["notes", (e) => e.kind === "note"],
  ["transcripts", (e) => e.kind === "transcript"],
];

function detailOf(err) {
  return err instanceof ApiError ? err.detail : t("error.network");
}

/** [text, marked] pieces as text nodes and <mark> elements. */
export function marked(pieces) {
  return pieces.map(([text, mark]) => (mark ? h("mark", { "data-testid": "search-mark" }, text) : text));
}

export class SearchView {
  constructor() {
    this.token = 0;
    this.timer = null;
    this.query = "";
    this.hits = [];
    this.patients = [];
    this.input = h("input", { type: "search", id: "search-box", class: "search-input", autocomplete: "off",
      spellcheck: "false", maxlength: "200", "data-testid": "search-box", "aria-describedby": "search-hint" });
    this.input.addEventListener("input", () => this.#typed());
    this.input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        ev.preventDefault();
        this.#run(true);
      } else if (ev.key === "ArrowDown") {
        ev.preventDefault();
        this.results.querySelector("a.search-hit")?.focus();
      }
    });
    this.status = h("p", { class: "search-status", role: "status", "aria-live": "polite", "data-testid": "search-status" });
    this.results = h("div", { class: "search-results", "data-testid": "search-results" });
    this.results.addEventListener("keydown", (ev) => this.#arrows(ev));
    this.more = h("div", { class: "search-more" });
    this.element = h("main", { class: "search-page", "data-testid": "search-page", "aria-labelledby": "search-heading" },
      h("h1", { class: "admin-title", id: "search-heading" }, t("search.heading")),
      h("form", { class: "search-form", role: "search", onsubmit: (ev) => { ev.preventDefault(); this.#run(true); } },
        h("label", { for: "search-box", class: "search-label" }, t("search.label")),
        this.input,
        h("p", { id: "search-hint", class: "field-hint" }, t("search.hint"))),
      this.status, this.results, this.more);
  }

  /** Show the screen; `q` (from #/search?q=) is searched at once. The box takes the focus. */
  open(q = null) {
    if (q !== null && q !== this.input.value) {
      this.input.value = q;
      this.#run(true);
    }
    this.input.focus();
  }

  #typed() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.#run(false), TYPING_MS);
  }

  /** Search for what the box holds (as people type: the last word is also a word's start). */
  async #run(now) {
    clearTimeout(this.timer);
    const q = this.input.value.trim();
    if (!now && q === this.query) return;
    this.query = q;
    const token = ++this.token;
    const url = q ? `#/search?q=${encodeURIComponent(q)}` : "#/search";
    if (location.hash !== url) history.replaceState(null, "", url); // back and reload keep the search
    if ([...q.replace(/\s+/g, "")].length < 2) {
      this.hits = [];
      this.patients = [];
      replaceChildren(this.results);
      replaceChildren(this.more);
      this.status.textContent = q ? t("search.tooShort") : "";
      return;
    }
    this.status.textContent = t("search.searching");
    try {
      const page = await api.search(q);
      if (token !== this.token) return;
      this.hits = page.hits;
      this.patients = page.patients;
      this.#render(page);
    } catch (err) {
      if (token !== this.token) return;
      replaceChildren(this.results);
      replaceChildren(this.more);
      this.status.textContent = t("search.failed", { detail: detailOf(err) });
    }
  }

  async #loadMore(button) {
    const token = this.token;
    button.disabled = true;
    try {
      const page = await api.search(this.query, { before: this.hits[this.hits.length - 1].event.seq });
      if (token !== this.token) return;
      this.hits = this.hits.concat(page.hits);
      this.#render({ ...page, patients: this.patients });
    } catch (err) {
      if (token !== this.token) return;
      button.disabled = false;
      this.status.textContent = t("search.failed", { detail: detailOf(err) });
    }
  }

  #render(page) {
    const sections = [];
    for (const [name, wanted] of GROUPS) {
      const hits = this.hits.filter((hit) => wanted(hit.event));
      if (hits.length) sections.push(this.#group(name, hits.length, hits.map((hit) => this.#hit(hit))));
    }
    if (this.patients.length) {
      sections.push(this.#group("patients", this.patients.length, this.patients.map((p) => this.#patient(p))));
    }
    replaceChildren(this.results, sections);
    const count = this.hits.length + this.patients.length;
    this.status.textContent = count ? tn("search.found", count) : t("search.none", { query: this.query });
    replaceChildren(this.more, page.has_more
      ? h("button", { type: "button", class: "button subtle", "data-testid": "search-more",
        onclick: (ev) => this.#loadMore(ev.currentTarget) }, t("search.more"))
      : null);
  }

  #group(name, n, items) {
    const id = `search-group-${name}`;
    return h("section", { class: "search-group", "data-testid": `search-group-${name}`, "aria-labelledby": id },
      h("h2", { class: "search-group-title", id }, t(`search.group.${name}`), " ",
        h("span", { class: "search-count" }, `(${n})`)),
      h("ul", { class: "search-list" }, items));
  }

  #hit(hit) {
    const e = hit.event;
    const who = e.kind === "note" || e.kind === "message_out"
      ? e.author_name || t("timeline.staff") : hit.patient_name;
    return h("li", {},
      h("a", { class: "search-hit", href: `#/c/${e.conversation_id}/at/${e.seq}`, "data-testid": "search-hit",
        "data-seq": e.seq, "data-kind": e.kind },
        h("span", { class: "search-hit-head" },
          h("span", { class: "search-hit-patient" }, hit.patient_name),
          e.channel ? h("span", { class: "search-hit-channel" }, channelLabel(e.channel)) : null,
          h("time", { class: "search-hit-time", datetime: e.created_at }, longTime(e.created_at))),
        h("span", { class: "search-snippet", "data-testid": "search-snippet" },
          e.kind === "message_in" || e.kind === "transcript" ? null : h("span", { class: "search-who" }, `${who}: `),
          marked(hit.snippet))));
  }

  #patient(p) {
    const patient = p.patient;
    const contact = patient.contacts[0]?.address;
    return h("li", {},
      h("a", { class: "search-hit", href: `#/patients/${patient.id}`, "data-testid": "search-patient",
        "data-patient-id": patient.id },
        h("span", { class: "search-hit-head" },
          h("span", { class: "search-hit-patient" }, p.name.length ? marked(p.name) : contact || `#${patient.id}`),
          patient.birth_year ? h("span", { class: "search-hit-channel" }, t("search.born", { year: patient.birth_year }))
            : null),
        patient.record_numbers.length || contact
          ? h("span", { class: "search-snippet" }, [...patient.record_numbers, contact].filter(Boolean).join(" · "))
          : null));
  }

  /** Up and down move between results; up from the first goes back to the box. */
  #arrows(ev) {
    if (ev.key !== "ArrowDown" && ev.key !== "ArrowUp") return;
    const links = [...this.results.querySelectorAll("a.search-hit")];
    const at = links.indexOf(document.activeElement);
    if (at < 0) return;
    ev.preventDefault();
    const next = ev.key === "ArrowDown" ? links[at + 1] : at === 0 ? this.input : links[at - 1];
    next?.focus();
  }
}
