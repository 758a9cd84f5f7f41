// Setting the clinic up in the inbox: staff (#/staff) and teams (#/teams) for administrators, the
// audit trail (#/audit) for administrators, one's own account (#/account: password, MFA) for everyone,
// and break-glass (#/break-glass): opening a patient outside one's reach with a reason.

import { ApiError, api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { longTime, teamName } from "./format.js";
import { LANGUAGE_NAMES, t } from "./strings.js";

const ROLES = ["agent", "supervisor", "admin"];
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function detailOf(err) {
  return err instanceof ApiError ? err.detail : t("error.network");
}

let fieldIds = 0;

/** A labelled input (or select); returns [wrapper, control]. */
function field(label, control, hint = null) {
  const id = control.id || `f-${++fieldIds}`;
  control.id = id;
  const hintNode = hint ? h("span", { class: "field-hint", id: `${id}-hint` }, hint) : null;
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  return [h("div", { class: "field" }, h("label", { for: id }, label), control, hintNode), control];
}

function status(testid) {
  return h("p", { class: "notice", role: "status", "data-testid": testid, hidden: true });
}

function problem(testid) {
  return h("p", { class: "form-error", role: "alert", "data-testid": testid, hidden: true });
}

function say(node, text) {
  node.textContent = text;
  node.hidden = !text;
}

/** Run `work` with the button disabled; a refusal is said in `errorNode`. */
async function busy(button, errorNode, work) {
  button.disabled = true;
  say(errorNode, "");
  try {
    return await work();
  } catch (err) {
    say(errorNode, detailOf(err));
    return undefined;
  } finally {
    button.disabled = false;
  }
}

function page(testid, heading, ...children) {
  return h("main", { class: "admin-page", "data-testid": testid, tabindex: "-1" },
    h("h1", { class: "admin-title" }, heading), ...children);
}

/** The one-time secrets (a reset code, recovery codes) shown once, with what to do with them. */
function shownOnce(testid, title, lines, note) {
  return h("section", { class: "once", "data-testid": testid, "aria-label": title },
    h("h2", {}, title), h("p", {}, note),
    h("ul", { class: "codes" }, lines.map((line) => h("li", {}, h("code", {}, line)))));
}

export class StaffView {
  constructor({ me }) {
    this.me = me;
    this.teams = [];
    this.notice = status("staff-notice");
    this.error = problem("staff-error");
    this.list = h("div", { class: "staff-list", "data-testid": "staff-list" });
    this.secret = h("div", {});
    this.policyBox = h("fieldset", { class: "policy", "data-testid": "mfa-policy" });
    this.element = page("staff-page", t("staff.heading"), this.notice, this.error, this.secret,
      this.policyBox, this.#createForm(), h("h2", {}, t("staff.everyone")), this.list);
  }

  async open() {
    try {
      const [agents, teams, policy] = await Promise.all([api.agents(), api.teams(), api.policy()]);
      this.teams = teams;
      this.#renderPolicy(policy.mfa_required);
      this.#renderList(agents);
      this.#renderTeamChoices(this.newTeams, []);
    } catch (err) {
      say(this.error, detailOf(err));
    }
  }

  #renderPolicy(required) {
    const boxes = ROLES.map((role) => {
      const box = h("input", { type: "checkbox", id: `mfa-${role}`, checked: required[role],
        "data-testid": `mfa-required-${role}` });
      box.addEventListener("change", async () => {
        box.disabled = true;
        try {
          const out = await api.setPolicy({ [role]: box.checked });
          box.checked = out.mfa_required[role];
          say(this.notice, t("staff.policySaved"));
        } catch (err) {
          box.checked = !box.checked;
          say(this.error, detailOf(err));
        } finally {
          box.disabled = false;
        }
      });
      return h("label", { class: "check", for: `mfa-${role}` }, box, t(`role.${role}`));
    });
    replaceChildren(this.policyBox, h("legend", {}, t("staff.requireMfa")), ...boxes);
  }

  #renderTeamChoices(container, chosen) {
    replaceChildren(container, this.teams.map((team) => {
      const id = `${container.dataset.prefix}-${team.id}`;
      return h("label", { class: "check", for: id },
        h("input", { type: "checkbox", id, value: String(team.id), checked: chosen.includes(team.id) }), team.name);
    }));
  }

  #createForm() {
    const [loginField, login] = field(t("staff.login"), h("input", { autocomplete: "off", required: true,
      autocapitalize: "none", spellcheck: "false", "data-testid": "new-login" }), t("staff.loginHint"));
    const [nameField, name] = field(t("staff.name"), h("input", { required: true, "data-testid": "new-name" }));
    const [passwordField, password] = field(t("staff.password"), h("input", { type: "password",
      autocomplete: "new-password", required: true, "data-testid": "new-password" }), t("password.rules"));
    const [roleField, role] = field(t("staff.role"), h("select", { "data-testid": "new-role" },
      ROLES.map((r) => h("option", { value: r }, t(`role.${r}`)))));
    this.newTeams = h("fieldset", { class: "choices", "data-testid": "new-teams", "data-prefix": "new-team" });
    const error = problem("new-staff-error");
    const submit = h("button", { type: "submit", class: "button primary", "data-testid": "new-staff-submit" },
      t("staff.create"));
    const form = h("form", { class: "admin-form", "aria-labelledby": "new-staff-heading" },
      h("h2", { id: "new-staff-heading" }, t("staff.new")), error, loginField, nameField, passwordField, roleField,
      h("div", { class: "field" }, h("span", { class: "field-label" }, t("staff.teams")), this.newTeams), submit);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const teamIds = [...this.newTeams.querySelectorAll("input:checked")].map((b) => Number(b.value));
      const made = await busy(submit, error, () => api.createAgent({ login: login.value.trim(),
        display_name: name.value.trim(), password: password.value, role: role.value, team_ids: teamIds }));
      if (!made) return;
      form.reset();
      say(this.notice, t("staff.created", { name: made.display_name }));
      await this.open();
    });
    return form;
  }

  #renderList(agents) {
    replaceChildren(this.list, agents.map((a) => this.#row(a)));
  }

  #row(a) {
    const teamNames = this.teams.filter((team) => a.team_ids.includes(team.id)).map((team) => teamName(team));
    const summary = h("p", { class: "staff-summary" },
      t("staff.summary", { role: t(`role.${a.role}`), teams: teamNames.join(", ") || t("staff.noTeam"),
        languages: a.languages.map((l) => LANGUAGE_NAMES[l] || l).join(", "), capacity: a.capacity }),
      a.mfa_enrolled ? h("span", { class: "badge" }, t("staff.mfaOn")) : null,
      a.active ? null : h("span", { class: "badge badge-off", "data-testid": "inactive" }, t("staff.inactive")));
    const edit = h("button", { type: "button", class: "button small", "data-testid": "staff-edit",
      "aria-expanded": "false" }, t("staff.edit"));
    const box = h("div", { class: "staff-edit", hidden: true });
    edit.addEventListener("click", () => {
      const open = box.hidden;
      box.hidden = !open;
      edit.setAttribute("aria-expanded", String(open));
      if (open && !box.firstChild) box.append(this.#editForm(a));
    });
    return h("article", { class: "staff-row", "data-testid": "staff-row", "data-login": a.login },
      h("h3", {}, a.display_name, " ", h("span", { class: "muted" }, `(${a.login})`)), summary, edit, box);
  }

  #editForm(a) {
    const [nameField, name] = field(t("staff.name"), h("input", { value: a.display_name, "data-testid": "edit-name" }));
    const [roleField, role] = field(t("staff.role"), h("select", { "data-testid": "edit-role" },
      ROLES.map((r) => h("option", { value: r, selected: r === a.role }, t(`role.${r}`)))));
    const [langField, languages] = field(t("staff.languages"), h("input", { value: a.languages.join(", "),
      "data-testid": "edit-languages" }), t("staff.languagesHint"));
    const [capField, capacity] = field(t("staff.capacity"), h("input", { type: "number", min: "0", max: "100",
      value: String(a.capacity), "data-testid": "edit-capacity" }));
    const teams = h("fieldset", { class: "choices", "data-prefix": `edit-team-${a.id}` });
    this.#renderTeamChoices(teams, a.team_ids);
    const error = problem("edit-error");
    const save = h("button", { type: "submit", class: "button primary", "data-testid": "edit-save" }, t("staff.save"));
    const deactivate = h("button", { type: "button", class: "button", "data-testid": a.active ? "deactivate" : "reactivate" },
      a.active ? t("staff.deactivate") : t("staff.reactivate"));
    const reset = h("button", { type: "button", class: "button", "data-testid": "reset-password" }, t("staff.resetPassword"));
    const mfa = a.mfa_enrolled
      ? h("button", { type: "button", class: "button", "data-testid": "reset-mfa" }, t("staff.resetMfa")) : null;
    const form = h("form", { class: "admin-form", "aria-label": t("staff.editing", { name: a.display_name }) },
      error, nameField, roleField, langField, capField,
      h("div", { class: "field" }, h("span", { class: "field-label" }, t("staff.teams")), teams),
      h("div", { class: "actions" }, save, deactivate, reset, mfa));
    const done = async (text) => {
      say(this.notice, text);
      await this.open();
      this.notice.focus?.();
    };
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const out = await busy(save, error, () => api.changeAgent(a.id, {
        display_name: name.value.trim(), role: role.value, capacity: Number(capacity.value),
        languages: languages.value.split(",").map((l) => l.trim()).filter(Boolean),
        team_ids: [...teams.querySelectorAll("input:checked")].map((b) => Number(b.value)),
      }));
      if (out) await done(t("staff.saved", { name: out.display_name }));
    });
    deactivate.addEventListener("click", async () => {
      const out = await busy(deactivate, error, () => api.changeAgent(a.id, { active: !a.active }));
      if (out) await done(out.active ? t("staff.reactivated", { name: out.display_name })
        : t("staff.deactivated", { name: out.display_name }));
    });
    reset.addEventListener("click", async () => {
      const out = await busy(reset, error, () => api.resetCode(a.id));
      if (!out) return;
      replaceChildren(this.secret, shownOnce("reset-code", t("staff.resetCodeFor", { name: a.display_name }),
        [out.code], t("staff.resetCodeNote", { login: out.login, until: longTime(out.expires_at) })));
      this.secret.scrollIntoView?.();
    });
    mfa?.addEventListener("click", async () => {
      const out = await busy(mfa, error, () => api.resetMfa(a.id));
      if (out) await done(t("staff.mfaReset", { name: out.display_name }));
    });
    return form;
  }
}

export class TeamsView {
  constructor() {
    this.notice = status("teams-notice");
    this.error = problem("teams-error");
    this.list = h("div", { class: "team-list", "data-testid": "team-list" });
    this.element = page("teams-page", t("teams.heading"), this.notice, this.error, this.#createForm(), this.list);
  }

  async open() {
    try {
      const [teams, hours, holidays] = await Promise.all([api.teams(), api.teamHours(), api.holidays()]);
      const byTeam = new Map(hours.map((x) => [x.team_id, x]));
      replaceChildren(this.list, teams.map((team) => this.#team(team, byTeam.get(team.id), holidays)));
    } catch (err) {
      say(this.error, detailOf(err));
    }
  }

  #createForm() {
    const [nameField, name] = field(t("teams.name"), h("input", { required: true, "data-testid": "team-name" }));
    const [esField, nameEs] = field(t("teams.nameEs"), h("input", { lang: "es", "data-testid": "team-name-es" }));
    const error = problem("team-error");
    const submit = h("button", { type: "submit", class: "button primary", "data-testid": "team-create" }, t("teams.create"));
    const form = h("form", { class: "admin-form", "aria-labelledby": "new-team-heading" },
      h("h2", { id: "new-team-heading" }, t("teams.new")), error, nameField, esField, submit);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const made = await busy(submit, error, () => api.createTeam({ name: name.value.trim(),
        name_es: nameEs.value.trim() || null }));
      if (!made) return;
      form.reset();
      say(this.notice, t("teams.created", { name: made.name }));
      await this.open();
    });
    return form;
  }

  #team(team, hours, holidays) {
    const [nameField, name] = field(t("teams.name"), h("input", { value: team.name, "data-testid": "rename-name" }));
    const [esField, nameEs] = field(t("teams.nameEs"), h("input", { value: team.name_es || "", lang: "es",
      "data-testid": "rename-name-es" }));
    const error = problem("team-row-error");
    const rename = h("button", { type: "submit", class: "button", "data-testid": "team-rename" }, t("teams.rename"));
    const renameForm = h("form", { class: "admin-form inline", "aria-label": t("teams.renameLabel", { name: team.name }) },
      nameField, esField, rename);
    renameForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const out = await busy(rename, error, () => api.changeTeam(team.id, { name: name.value.trim(),
        name_es: nameEs.value.trim() || null }));
      if (out) say(this.notice, t("teams.saved", { name: out.name }));
    });
    const week = hours?.hours || {};
    const inputs = {};
    const rows = DAYS.map((day) => {
      const span = (week[day] || [])[0] || ["", ""];
      const from = h("input", { type: "time", value: span[0], "data-testid": `hours-${day}-from`,
        "aria-label": t("teams.opens", { day: t(`day.${day}`) }) });
      const to = h("input", { type: "time", value: span[1] === "24:00" ? "23:59" : span[1],
        "data-testid": `hours-${day}-to`, "aria-label": t("teams.closes", { day: t(`day.${day}`) }) });
      inputs[day] = [from, to];
      return h("tr", {}, h("th", { scope: "row" }, t(`day.${day}`)), h("td", {}, from), h("td", {}, to));
    });
    const saveHours = h("button", { type: "submit", class: "button", "data-testid": "hours-save" }, t("teams.saveHours"));
    const hoursForm = h("form", { class: "admin-form", "aria-label": t("teams.hoursOf", { name: team.name }) },
      h("table", { class: "hours" }, h("caption", {}, t("teams.hours")),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("teams.day")), h("th", { scope: "col" }, t("teams.from")),
          h("th", { scope: "col" }, t("teams.to")))), h("tbody", {}, rows)),
      h("p", { class: "field-hint" }, t("teams.hoursHint")), saveHours);
    hoursForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = {};
      for (const day of DAYS) {
        const [from, to] = inputs[day];
        body[day] = from.value && to.value ? [[from.value, to.value === "23:59" ? "24:00" : to.value]] : [];
      }
      const out = await busy(saveHours, error, () => api.setTeamHours(team.id, body));
      if (out) say(this.notice, t("teams.hoursSaved", { name: team.name }));
    });
    const [dayField, day] = field(t("teams.holiday"), h("input", { type: "date", required: true, "data-testid": "holiday-day" }));
    const [whyField, why] = field(t("teams.holidayName"), h("input", { required: true, "data-testid": "holiday-name" }));
    const addHoliday = h("button", { type: "submit", class: "button", "data-testid": "holiday-add" }, t("teams.addHoliday"));
    const holidayForm = h("form", { class: "admin-form inline", "aria-label": t("teams.holidaysOf", { name: team.name }) },
      dayField, whyField, addHoliday);
    holidayForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const out = await busy(addHoliday, error, () => api.addHoliday({ day: day.value, name: why.value.trim(),
        team_id: team.id }));
      if (out) {
        say(this.notice, t("teams.holidayAdded", { name: team.name }));
        await this.open();
      }
    });
    const closed = holidays.filter((x) => x.team_id === team.id || x.team_id === null);
    return h("section", { class: "team-row", "data-testid": "team-row", "data-key": team.key, "aria-label": team.name },
      h("h2", {}, team.name, team.name_es ? h("span", { class: "muted", lang: "es" }, ` / ${team.name_es}`) : null),
      error, renameForm, hoursForm,
      h("ul", { class: "holidays", "data-testid": "holidays" },
        closed.map((x) => h("li", {}, t("teams.closedOn", { day: x.day, name: x.name })))),
      holidayForm);
  }
}

/** TOTP enrolment: the QR code and the secret, then the first code; answers through `onDone(result)`. */
export function enrolmentForm(setup, confirm, onDone) {
  const [codeField, code] = field(t("mfa.code"), h("input", { inputmode: "numeric", autocomplete: "one-time-code",
    required: true, "data-testid": "enrol-code" }));
  const error = problem("enrol-error");
  const submit = h("button", { type: "submit", class: "button primary", "data-testid": "enrol-submit" }, t("mfa.confirm"));
  const form = h("form", { class: "admin-form", "data-testid": "enrol-form" },
    h("p", {}, t("mfa.scan")),
    h("img", { src: setup.qr, alt: t("mfa.qrAlt"), class: "qr", width: "200", height: "200", "data-testid": "enrol-qr" }),
    h("p", {}, t("mfa.orType"), " ", h("code", { "data-testid": "enrol-secret" }, setup.secret)),
    error, codeField, submit);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = await busy(submit, error, () => confirm(setup.enrolment, code.value.trim()));
    if (out) onDone(out);
  });
  queueMicrotask(() => code.focus());
  return form;
}

export function recoveryCodes(codes) {
  return shownOnce("recovery-codes", t("mfa.recoveryHeading"), codes, t("mfa.recoveryNote"));
}

export class AccountView {
  constructor({ me }) {
    this.me = me;
    this.notice = status("account-notice");
    this.mfaBox = h("section", { "aria-labelledby": "mfa-heading", "data-testid": "mfa-section" });
    this.element = page("account-page", t("account.heading"), this.notice, this.#passwordForm(), this.mfaBox);
  }

  async open() {
    const error = problem("mfa-error");
    try {
      const state = await api.mfa();
      const start = h("button", { type: "button", class: "button", "data-testid": "mfa-start" },
        state.enrolled ? t("mfa.replace") : t("mfa.start"));
      const holder = h("div", {});
      start.addEventListener("click", async () => {
        const setup = await busy(start, error, () => api.mfaEnrol());
        if (!setup) return;
        replaceChildren(holder, enrolmentForm(setup, api.mfaConfirm, (out) => {
          replaceChildren(holder, recoveryCodes(out.recovery_codes));
          say(this.notice, t("mfa.on"));
        }));
      });
      replaceChildren(this.mfaBox, h("h2", { id: "mfa-heading" }, t("mfa.heading")),
        h("p", { "data-testid": "mfa-state" }, state.enrolled ? t("mfa.enrolled", { n: state.recovery_codes_left })
          : state.required ? t("mfa.requiredOff") : t("mfa.off")), error, start, holder);
    } catch (err) {
      replaceChildren(this.mfaBox, h("p", { class: "form-error", role: "alert" }, detailOf(err)));
    }
  }

  #passwordForm() {
    const [currentField, current] = field(t("account.current"), h("input", { type: "password",
      autocomplete: "current-password", required: true, "data-testid": "current-password" }));
    const [nextField, next] = field(t("account.new"), h("input", { type: "password", autocomplete: "new-password",
      required: true, "data-testid": "new-password" }), t("password.rules"));
    const error = problem("password-error");
    const submit = h("button", { type: "submit", class: "button primary", "data-testid": "password-submit" },
      t("account.change"));
    const form = h("form", { class: "admin-form", "aria-labelledby": "password-heading" },
      h("h2", { id: "password-heading" }, t("account.password")), error, currentField, nextField, submit);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const out = await busy(submit, error, () => api.changePassword(current.value, next.value));
      if (out) {
        form.reset();
        say(this.notice, t("account.changed"));
      }
    });
    return form;
  }
}

export class AuditView {
  constructor() {
    this.rows = [];
    this.params = {};
    this.error = problem("audit-error");
    const [personField, person] = field(t("audit.person"), h("select", { "data-testid": "audit-person" }));
    const [patientField, patient] = field(t("audit.patient"), h("input", { inputmode: "numeric",
      "data-testid": "audit-patient" }), t("audit.patientHint"));
    const [actionField, action] = field(t("audit.action"), h("input", { "data-testid": "audit-action",
      autocapitalize: "none", spellcheck: "false" }), t("audit.actionHint"));
    const [sinceField, since] = field(t("audit.since"), h("input", { type: "datetime-local", "data-testid": "audit-since" }));
    const [untilField, until] = field(t("audit.until"), h("input", { type: "datetime-local", "data-testid": "audit-until" }));
    Object.assign(this, { person, patient, action, since, until });
    const submit = h("button", { type: "submit", class: "button primary", "data-testid": "audit-search" }, t("audit.show"));
    this.exportLink = h("a", { class: "button", href: api.auditExportUrl({}), download: "", "data-testid": "audit-export" },
      t("audit.export"));
    const form = h("form", { class: "admin-form filters", "aria-label": t("audit.filters") },
      personField, patientField, actionField, sinceField, untilField, h("div", { class: "actions" }, submit, this.exportLink));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.#search();
    });
    this.table = h("tbody", { "data-testid": "audit-rows" });
    this.more = h("button", { type: "button", class: "button", "data-testid": "audit-more", hidden: true,
      onclick: () => this.#load(true) }, t("audit.more"));
    this.element = page("audit-page", t("audit.heading"), form, this.error,
      h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": t("audit.heading") },
        h("table", { class: "audit" },
          h("thead", {}, h("tr", {}, ["audit.when", "audit.who", "audit.what", "audit.patientCol", "audit.detail"]
            .map((k) => h("th", { scope: "col" }, t(k))))), this.table)), this.more);
  }

  async open() {
    try {
      const agents = await api.agents();
      replaceChildren(this.person, h("option", { value: "" }, t("audit.anyone")),
        agents.map((a) => h("option", { value: String(a.id) }, `${a.display_name} (${a.login})`)));
    } catch (err) {
      say(this.error, detailOf(err));
    }
    await this.#search();
  }

  #search() {
    const iso = (input) => (input.value ? new Date(input.value).toISOString() : undefined);
    this.params = {
      agent_id: this.person.value || undefined,
      patient_id: this.patient.value.trim() || undefined,
      action: this.action.value.trim() || undefined,
      since: iso(this.since),
      until: iso(this.until),
    };
    this.exportLink.href = api.auditExportUrl(this.params);
    return this.#load(false);
  }

  async #load(more) {
    const limit = 50;
    const before = more && this.rows.length ? this.rows[this.rows.length - 1].id : undefined;
    try {
      const page = await api.audit({ ...this.params, limit, before_id: before });
      say(this.error, "");
      this.rows = more ? this.rows.concat(page) : page;
      const shown = page.map((r) => h("tr", { "data-testid": "audit-row", "data-action": r.action },
        h("td", {}, longTime(r.at)), h("td", {}, r.agent_name || t("audit.system")), h("td", {}, r.action),
        h("td", {}, r.patient_id ?? ""), h("td", { class: "audit-detail" }, JSON.stringify(r.detail))));
      if (more) this.table.append(...shown);
      else replaceChildren(this.table, shown.length ? shown : h("tr", {}, h("td", { colspan: "5" }, t("audit.none"))));
      this.more.hidden = page.length < limit;
    } catch (err) {
      say(this.error, detailOf(err));
    }
  }
}

export class BreakGlassView {
  constructor({ showPatient }) {
    this.showPatient = showPatient;
    const [whoField, who] = field(t("bg.patient"), h("input", { required: true, "data-testid": "bg-patient",
      autocomplete: "off" }), t("bg.patientHint"));
    const [whyField, why] = field(t("bg.reason"), h("textarea", { required: true, maxlength: "500",
      rows: "3", "data-testid": "bg-reason" }), t("bg.reasonHint"));
    const error = problem("bg-error");
    const submit = h("button", { type: "submit", class: "button primary", "data-testid": "bg-submit" }, t("bg.open"));
    const form = h("form", { class: "admin-form", "aria-labelledby": "bg-form-heading" },
      h("h2", { id: "bg-form-heading" }, t("bg.formHeading")), h("p", {}, t("bg.intro")), error, whoField, whyField, submit);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const value = who.value.trim();
      const body = /^\d{1,9}$/.test(value) ? { patient_id: Number(value) } : { address: value };
      const grant = await busy(submit, error, () => api.breakGlass({ ...body, reason: why.value.trim() }));
      if (!grant) return;
      form.reset();
      await this.showPatient(grant);
    });
    this.record = h("div", { "data-testid": "bg-record" });
    this.element = page("break-glass-page", t("bg.heading"), form, this.record);
  }

  async open() {
    try {
      const grants = await api.grants();
      if (grants.length) await this.showPatient(grants[0]);
    } catch {
      // nothing open: the form is enough
    }
  }
}

/** A patient's record read under break-glass: who, until when, why, and the timeline (read-only). */
export async function breakGlassRecord(container, grant, renderEvent) {
  const banner = h("p", { class: "notice warn", role: "status", "data-testid": "bg-banner" },
    t("bg.granted", { name: grant.patient_name, until: longTime(grant.expires_at), reason: grant.reason }));
  replaceChildren(container, banner);
  try {
    const timeline = await api.timeline(grant.patient_id, { limit: 50 });
    container.append(h("h2", {}, grant.patient_name),
      h("ol", { class: "bg-timeline", "data-testid": "bg-timeline" },
        timeline.events.map((e) => h("li", { "data-testid": "bg-event" }, renderEvent(e)))));
  } catch (err) {
    container.append(h("p", { class: "form-error", role: "alert" }, detailOf(err)));
  }
}
