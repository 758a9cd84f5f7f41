// The EHR link (#/ehr), for administrators: whether the hub can read the clinic's FHIR server, when it
// last did, imports started (everything, or what changed since the last one), their progress while
// they run, what they created, updated and left alone, the resources they could not read, and a
// failed import resumed from where it stopped.

import { ApiError, api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { longTime } from "./format.js";
import { t } from "./strings.js";

const POLL_MS = 1000;
const ACTIVE = new Set(["queued", "running"]);

function detailOf(err) {
  return err instanceof ApiError ? err.detail : t("error.network");
}

function say(node, text) {
  node.textContent = text;
  node.hidden = !text;
}

/** What the import has read so far, and of how much when the EHR said. */
function progressOf(run) {
  const totals = run.totals || {};
  const known = Object.values(totals).reduce((a, b) => a + b, 0);
  const done = run.counts.resources;
  const phase = run.phase === "Appointment" ? t("ehr.phase.appointments")
    : run.phase === "done" ? t("ehr.phase.done") : t("ehr.phase.patients");
  return { done, known, phase };
}

export class EhrView {
  constructor() {
    this.notice = h("p", { class: "notice", role: "status", "data-testid": "ehr-notice", hidden: true });
    this.error = h("p", { class: "form-error", role: "alert", "data-testid": "ehr-error", hidden: true });
    this.link = h("section", { class: "ehr-link", "aria-labelledby": "ehr-link-heading", "data-testid": "ehr-link" });
    this.full = h("input", { type: "checkbox", id: "ehr-full", "data-testid": "ehr-full" });
    this.start = h("button", { type: "submit", class: "button primary", "data-testid": "ehr-start" }, t("ehr.start"));
    const form = h("form", { class: "admin-form", "aria-labelledby": "ehr-start-heading" },
      h("h2", { id: "ehr-start-heading" }, t("ehr.startHeading")),
      h("p", { class: "field-hint" }, t("ehr.startHint")),
      h("label", { class: "check" }, this.full, t("ehr.full")),
      this.start);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.#startImport();
    });
    this.runs = h("div", { class: "ehr-runs", "data-testid": "ehr-runs" });
    this.element = h("main", { class: "admin-page ehr-page", "data-testid": "ehr-page", tabindex: "-1" },
      h("h1", { class: "admin-title" }, t("ehr.heading")), this.notice, this.error, this.link, form,
      h("h2", { id: "ehr-runs-heading" }, t("ehr.runsHeading")), this.runs);
    this.timer = null;
  }

  async open() {
    await this.#refresh();
  }

  async #refresh() {
    clearTimeout(this.timer);
    this.timer = null;
    let link, runs;
    try {
      [link, runs] = await Promise.all([api.ehrLink(), api.ehrImports()]);
    } catch (err) {
      say(this.error, detailOf(err));
      return;
    }
    this.#renderLink(link);
    this.#renderRuns(runs.runs);
    if (runs.runs.some((r) => ACTIVE.has(r.status)) && this.element.isConnected) {
      this.timer = setTimeout(() => this.#refresh(), POLL_MS); // while an import runs: its progress
    }
  }

  #renderLink(link) {
    const state = link.configured
      ? h("p", { "data-testid": "ehr-configured" },
        t(link.auth === "bearer" ? "ehr.connectedBearer" : "ehr.connectedSmart", { server: link.server || "" }))
      : h("p", { "data-testid": "ehr-not-configured" }, t("ehr.notConfigured"), " ",
        h("code", {}, link.problem || ""));
    const last = h("p", { "data-testid": "ehr-last-sync" }, link.last_sync
      ? t("ehr.lastSync", { when: longTime(link.last_sync) }) : t("ehr.neverSynced"));
    const every = h("p", {}, link.sync_interval_s > 0
      ? t("ehr.syncEvery", { minutes: Math.round(link.sync_interval_s / 60) }) : t("ehr.syncManual"));
    replaceChildren(this.link, h("h2", { id: "ehr-link-heading" }, t("ehr.linkHeading")), state, last, every);
    this.start.disabled = !link.configured || Boolean(link.active);
  }

  #renderRuns(runs) {
    if (!runs.length) {
      replaceChildren(this.runs, h("p", { "data-testid": "ehr-no-runs" }, t("ehr.noRuns")));
      return;
    }
    replaceChildren(this.runs, runs.map((run) => this.#run(run)));
  }

  #run(run) {
    const c = run.counts;
    const { done, known, phase } = progressOf(run);
    const title = h("h3", {}, t("ehr.runTitle", { id: run.id, when: longTime(run.created_at) }));
    const status = h("p", { class: `ehr-status ehr-${run.status}`, "data-testid": "ehr-run-status" },
      t(`ehr.status.${run.status}`), run.full ? ` · ${t("ehr.fullRun")}` : "");
    const parts = [title, status];
    if (ACTIVE.has(run.status)) {
      const label = known ? t("ehr.progressOf", { phase, done, total: known }) : t("ehr.progress", { phase, done });
      const bar = h("progress", { max: String(Math.max(known, done, 1)), value: String(done),
        "aria-label": label, "data-testid": "ehr-progress" });
      parts.push(h("div", { class: "ehr-progress" }, bar, h("span", { "aria-hidden": "true" }, label)));
    }
    const counts = [
      ["ehr.count.patientsCreated", c.patients_created],
      ["ehr.count.patientsUpdated", c.patients_updated],
      ["ehr.count.patientsMatched", c.patients_matched],
      ["ehr.count.patientsUnchanged", c.patients_unchanged],
      ["ehr.count.appointmentsCreated", c.appointments_created],
      ["ehr.count.appointmentsUpdated", c.appointments_updated],
      ["ehr.count.appointmentsUnchanged", c.appointments_unchanged],
      ["ehr.count.errors", c.errors],
      ["ehr.count.invalidContacts", c.invalid_contacts],
      ["ehr.count.conflicts", c.conflicts],
    ];
    parts.push(h("dl", { class: "ehr-counts", "data-testid": "ehr-counts" },
      counts.map(([key, n]) => [h("dt", {}, t(key)), h("dd", { "data-count": key.split(".").pop() }, String(n))])));
    if (run.error) {
      parts.push(h("p", { class: "form-error", "data-testid": "ehr-run-error" }, t("ehr.failedBecause"), " ",
        h("code", {}, run.error)));
    }
    if (run.status === "failed") {
      const resume = h("button", { type: "button", class: "button", "data-testid": "ehr-resume",
        onclick: () => this.#resume(run.id, resume) }, t("ehr.resume"));
      parts.push(resume);
    }
    if (run.problems.length) {
      parts.push(h("details", { class: "ehr-problems", "data-testid": "ehr-problems" },
        h("summary", {}, t("ehr.problems", { n: c.errors })),
        h("ul", {}, run.problems.map((p) => h("li", {}, h("code", {}, p.resource), " ", p.reason)))));
    }
    return h("article", { class: "ehr-run", "data-testid": "ehr-run", "data-status": run.status,
      "aria-label": t("ehr.runTitle", { id: run.id, when: longTime(run.created_at) }) }, parts);
  }

  async #startImport() {
    this.start.disabled = true;
    say(this.error, "");
    try {
      const out = await api.startEhrImport({ full: this.full.checked });
      say(this.notice, out.started ? t("ehr.started", { id: out.run.id }) : t("ehr.alreadyRunning", { id: out.run.id }));
      this.full.checked = false;
    } catch (err) {
      say(this.error, detailOf(err));
    }
    await this.#refresh();
  }

  async #resume(id, button) {
    button.disabled = true;
    say(this.error, "");
    try {
      await api.resumeEhrImport(id);
      say(this.notice, t("ehr.resumed", { id }));
    } catch (err) {
      say(this.error, detailOf(err));
    }
    await this.#refresh();
  }
}
