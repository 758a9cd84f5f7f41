// Import patients from a CSV file (#/import), for administrators: upload the file, check how its
// columns are read (guessed from English or Spanish headers), a dry run that lists each row's errors
// and what it would do, then the import (all of it or, on a failure, nothing) with its progress.

import { ApiError, api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { t, tn } from "./strings.js";

const POLL_MS = 500;
const FIELDS = ["name", "first_name", "last_name", "date_of_birth", "phone", "email", "mrn", "language"];
const ORDERS = ["mdy", "dmy", "ymd"];

function detailOf(err) {
  return err instanceof ApiError ? err.detail : t("error.network");
}

function say(node, text) {
  node.textContent = text;
  node.hidden = !text;
}

export class ImportView {
  constructor() {
    this.file = h("input", { type: "file", id: "import-file", accept: ".csv,.txt,text/csv", "data-testid": "import-file",
      "aria-describedby": "import-file-hint" });
    this.uploadButton = h("button", { type: "submit", class: "button primary", "data-testid": "import-upload" },
      t("import.upload"));
    const upload = h("form", { class: "admin-form", "aria-labelledby": "import-step1" },
      h("h2", { id: "import-step1" }, t("import.step1")),
      h("label", { for: "import-file" }, t("import.file")), this.file,
      h("p", { class: "field-hint", id: "import-file-hint" }, t("import.fileHint")),
      this.uploadButton);
    upload.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.#upload();
    });
    this.error = h("p", { class: "form-error", role: "alert", "data-testid": "import-error", hidden: true });
    this.mapping = h("div", { "data-testid": "import-mapping" });
    this.preview = h("div", { "data-testid": "import-preview" });
    this.progress = h("div", { "data-testid": "import-progress" });
    this.element = h("main", { class: "admin-page import-page", "data-testid": "import-page", tabindex: "-1" },
      h("h1", { class: "admin-title" }, t("import.heading")), h("p", {}, t("import.intro")),
      upload, this.error, this.mapping, this.preview, this.progress);
    this.run = null;
    this.timer = null;
  }

  open() {}

  #reset() {
    clearTimeout(this.timer);
    say(this.error, "");
    replaceChildren(this.mapping);
    replaceChildren(this.preview);
    replaceChildren(this.progress);
  }

  async #upload() {
    const file = this.file.files?.[0];
    this.#reset();
    if (!file) {
      say(this.error, t("import.chooseFile"));
      this.file.focus();
      return;
    }
    this.uploadButton.disabled = true;
    try {
      this.run = await api.csvUpload(file);
    } catch (err) {
      say(this.error, detailOf(err));
      return;
    } finally {
      this.uploadButton.disabled = false;
    }
    this.#renderMapping();
  }

  #choice() {
    const mapping = {};
    for (const f of FIELDS) mapping[f] = this.selects[f].value || null;
    return { mapping, date_order: this.order.value };
  }

  #renderMapping() {
    const run = this.run;
    this.selects = {};
    const rows = FIELDS.map((f) => {
      const id = `import-map-${f}`;
      const select = h("select", { id, "data-testid": `import-map-${f}` },
        h("option", { value: "" }, t("import.notInFile")),
        run.columns.map((c) => h("option", { value: c, selected: run.mapping[f] === c }, c)));
      this.selects[f] = select;
      return h("div", { class: "import-field" }, h("label", { for: id }, t(`import.field.${f}`)), select);
    });
    this.order = h("select", { id: "import-order", "data-testid": "import-order" },
      ORDERS.map((o) => h("option", { value: o, selected: run.date_order === o }, t(`import.order.${o}`))));
    const check = h("button", { type: "submit", class: "button primary", "data-testid": "import-check" },
      t("import.check"));
    const form = h("form", { class: "admin-form", "aria-labelledby": "import-step2" },
      h("h2", { id: "import-step2" }, t("import.step2")),
      h("p", { "data-testid": "import-file-summary" },
        tn("import.fileSummary", run.rows, { file: run.filename || "CSV", encoding: run.encoding })),
      h("div", { class: "import-fields" }, rows),
      h("div", { class: "import-field" }, h("label", { for: "import-order" }, t("import.dateOrder")), this.order),
      check);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      check.disabled = true;
      try {
        await this.#dryRun();
      } finally {
        check.disabled = false;
      }
    });
    replaceChildren(this.mapping, form);
    this.selects.name.focus();
  }

  async #dryRun() {
    say(this.error, "");
    replaceChildren(this.progress);
    let p;
    try {
      p = await api.csvPreview(this.run.id, this.#choice());
    } catch (err) {
      say(this.error, detailOf(err));
      return;
    }
    const c = p.counts;
    const counts = h("dl", { class: "ehr-counts", "data-testid": "import-counts" },
      ["create", "update", "unchanged", "error", "warnings"].map((k) =>
        [h("dt", {}, t(`import.count.${k}`)), h("dd", { "data-count": k }, String(c[k]))]));
    const list = h("ul", { class: "import-rows", "data-testid": "import-rows" }, p.rows.map((r) => h("li", {
      class: `import-row is-${r.action}`, "data-testid": "import-row", "data-line": String(r.line), "data-action": r.action,
    },
    h("span", { class: "import-row-head" }, t("import.line", { line: r.line }), " · ",
      r.name || t("import.noName"), " · ", h("strong", {}, t(`import.action.${r.action}`))),
    r.changes.length ? h("span", { class: "field-hint" }, t("import.changes", {
      fields: r.changes.map((f) => t(`import.field.${f}`)).join(", ") })) : null,
    r.problems.length ? h("ul", {}, r.problems.map((x) => h("li", { class: x.severity === "error" ? "form-error" : "",
      "data-code": x.code }, x.message))) : null)));
    const stored = c.create + c.update;
    const go = h("button", { type: "button", class: "button primary", "data-testid": "import-start", disabled: !stored,
      onclick: () => this.#start(go) }, tn("import.start", stored));
    const section = h("section", { class: "admin-form", "aria-labelledby": "import-step3" },
      h("h2", { id: "import-step3" }, t("import.step3")),
      h("p", { role: "status", "data-testid": "import-summary" }, c.error
        ? tn("import.summaryErrors", c.error) : t("import.summaryClean")),
      counts, p.shown < c.rows ? h("p", { class: "field-hint" }, t("import.shownOnly", { shown: p.shown })) : null,
      list, go);
    replaceChildren(this.preview, section);
  }

  async #start(button) {
    button.disabled = true;
    say(this.error, "");
    try {
      await api.csvStart(this.run.id, this.#choice());
    } catch (err) {
      say(this.error, detailOf(err));
      button.disabled = false;
      return;
    }
    this.#poll();
  }

  async #poll() {
    let run;
    try {
      run = await api.csvRun(this.run.id);
    } catch (err) {
      say(this.error, detailOf(err));
      return;
    }
    const parts = [h("h2", { id: "import-step4" }, t("import.step4"))];
    if (run.status === "running" || run.status === "uploaded") {
      parts.push(h("progress", { "aria-label": t("import.running", { rows: run.rows }), "data-testid": "import-bar" }),
        h("p", { role: "status" }, t("import.running", { rows: run.rows })));
      if (this.element.isConnected) this.timer = setTimeout(() => this.#poll(), POLL_MS);
    } else if (run.status === "done") {
      const c = run.counts;
      parts.push(h("p", { role: "status", "data-testid": "import-done" },
        t("import.done", { created: c.create, updated: c.update, unchanged: c.unchanged, skipped: c.error })),
      h("a", { href: "#/patients", "data-testid": "import-to-directory" }, t("import.toDirectory")));
    } else {
      parts.push(h("p", { class: "form-error", role: "alert", "data-testid": "import-failed" },
        t("import.failed"), " ", h("code", {}, run.error || "")));
    }
    replaceChildren(this.progress, h("section", { class: "admin-form", "aria-labelledby": "import-step4" }, parts));
  }
}
