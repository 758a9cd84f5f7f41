// A patient's page (#/patients/<id>): who they are (the date of birth masked unless this reader may
// see it), how to reach them (contact points with consent, verification and opt-out), record numbers,
// conversations and appointments; edits by role; "merge with…" with a side-by-side preview and the
// merge history with "undo merge"; and "start a conversation" on a channel they agreed to.
// What each role may do comes from the hub (profile.can): the page only offers that.

import { ApiError, api } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { dateOnly, longTime } from "./format.js";
import { LANGUAGE_NAMES, t } from "./strings.js";

const FIELDS = ["name", "date_of_birth", "preferred_language", "preferred_channel", "time_zone"];
const CHANNELS = ["sms", "email", "webchat"];
let ids = 0;

function detailOf(err) {
  return err instanceof ApiError ? err.detail : t("error.network");
}

function say(node, text) {
  node.textContent = text || "";
  node.hidden = !text;
}

/** A labelled control; returns [wrapper, control]. */
function field(label, control, hint = null) {
  control.id ||= `pv-${++ids}`;
  const hintNode = hint ? h("span", { class: "field-hint", id: `${control.id}-hint` }, hint) : null;
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  return [h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintNode), control];
}

function select(testid, options, value) {
  return h("select", { "data-testid": testid },
    options.map(([v, label]) => h("option", { value: v, selected: v === (value ?? "") }, label)));
}

function languageName(code) {
  return code ? LANGUAGE_NAMES[code] || code : t("patient.unknownLanguage");
}

function birthDate(p) {
  if (p.date_of_birth) return dateOnly(p.date_of_birth);
  return p.date_of_birth_masked ? t("profile.dobMasked") : t("profile.none");
}

export class PatientView {
  constructor({ me }) {
    this.me = me;
    this.notice = h("p", { class: "notice", role: "status", "data-testid": "profile-notice", hidden: true });
    this.error = h("p", { class: "form-error", role: "alert", "data-testid": "profile-error", hidden: true });
    this.body = h("div", { class: "profile-body" });
    this.element = h("main", { class: "admin-page patient-page", "data-testid": "patient-page", tabindex: "-1",
      "aria-labelledby": "profile-heading" }, h("h1", { class: "admin-title", id: "profile-heading" }, t("profile.heading")),
    this.notice, this.error, this.body);
    this.id = null;
    this.profile = null;
  }

  async open(id) {
    if (id !== this.id) say(this.notice, "");
    this.id = id;
    say(this.error, "");
    try {
      this.profile = await api.patient(id);
    } catch (err) {
      replaceChildren(this.body);
      this.element.querySelector("h1").textContent = t("profile.heading");
      say(this.error, detailOf(err));
      return;
    }
    this.#render();
  }

  /** Run `work`, show what went wrong, and reload the record when it worked. */
  async #act(button, work, done) {
    if (button) button.disabled = true;
    say(this.error, "");
    try {
      const out = await work();
      if (done) say(this.notice, done(out));
      await this.open(this.id);
      return out;
    } catch (err) {
      say(this.error, detailOf(err));
      this.#offerMerge(err);
      return null;
    } finally {
      if (button?.isConnected) button.disabled = false;
    }
  }

  #render() {
    const p = this.profile;
    const title = p.name || t("profile.unnamed", { id: p.id });
    this.element.querySelector("h1").textContent = title;
    const parts = [];
    if (p.merged_into_id) {
      parts.push(h("p", { class: "notice warn", "data-testid": "profile-merged" },
        t("profile.mergedInto", { id: p.merged_into_id }), " ",
        h("a", { href: `#/patients/${p.merged_into_id}` }, t("profile.openKept"))));
    }
    parts.push(this.#facts(p), this.#contacts(p));
    if (p.can?.edit) parts.push(this.#editForm(p), this.#contactForm());
    if (p.can?.edit_identity) parts.push(this.#identifierForm());
    parts.push(this.#conversations(p), this.#appointments(p));
    if (p.can?.start) parts.push(this.#startForm(p));
    if (p.can?.merge) parts.push(this.#mergeForm());
    parts.push(this.#history(p));
    replaceChildren(this.body, parts);
  }

  #facts(p) {
    const fact = (label, value, testid) => h("div", { class: "fact" }, h("dt", {}, label), h("dd", { "data-testid": testid }, value));
    return h("section", { class: "profile-section", "aria-labelledby": "pf-facts" },
      h("h2", { id: "pf-facts" }, t("profile.facts")),
      h("dl", { class: "profile-facts" },
        fact(t("profile.number"), String(p.id), "profile-id"),
        fact(t("patient.dob"), birthDate(p), "profile-dob"),
        fact(t("patient.language"), languageName(p.preferred_language), "profile-language"),
        fact(t("profile.channel"), p.preferred_channel ? t(`channel.${p.preferred_channel}`) : t("profile.none"), "profile-channel"),
        fact(t("patient.timeZone"), p.time_zone || t("profile.none"), "profile-timezone"),
        fact(t("profile.mrn"), p.identifiers.map((i) => `${i.label} ${i.value}`).join(", ") || t("profile.none"), "profile-mrn")));
  }

  #contacts(p) {
    const kinds = { phone: "contact.phone", email: "contact.email", webchat: "contact.webchat", portal: "contact.portal" };
    const consent = (c) => c.consent === true ? t("profile.consentYes") : c.consent === false ? t("profile.consentNo") : null;
    const rows = p.contact_points.map((c) => h("li", { class: `contact${c.opted_out_at ? " is-opted-out" : ""}`, "data-testid": "profile-contact" },
      h("span", { class: "contact-kind" }, t(kinds[c.kind] || "contact.other")),
      h("span", { class: "contact-address" }, c.kind === "webchat" ? t("contact.visitor") : c.address),
      c.verified ? h("span", { class: "contact-flag" }, t("contact.verified")) : null,
      c.opted_out_at ? h("span", { class: "contact-flag is-warning" }, t("contact.optedOut")) : null,
      consent(c) ? h("span", { class: "contact-flag" }, consent(c)) : null,
      p.can?.edit_identity && (c.kind === "phone" || c.kind === "email")
        ? h("button", { type: "button", class: "button small subtle", "data-testid": "remove-contact",
          "aria-label": t("profile.removeContactNamed", { address: c.address }),
          onclick: (ev) => this.#act(ev.currentTarget, () => api.removeContact(p.id, c.id), () => t("profile.removed")) },
        t("profile.removeContact"))
        : null));
    return h("section", { class: "profile-section", "aria-labelledby": "pf-contacts" },
      h("h2", { id: "pf-contacts" }, t("patient.contacts")),
      rows.length ? h("ul", { class: "contacts", "data-testid": "profile-contacts" }, rows) : h("p", {}, t("profile.noContacts")));
  }

  #editForm(p) {
    const rows = [];
    const controls = {};
    if (p.can.edit_identity) {
      [rows[rows.length], controls.name] = field(t("profile.name"), h("input", { type: "text", value: p.name || "", maxlength: "200", "data-testid": "edit-name" }));
      [rows[rows.length], controls.date_of_birth] = field(t("patient.dob"), h("input", { type: "date", value: p.date_of_birth || "", "data-testid": "edit-dob" }));
    }
    const languages = [["", t("patient.unknownLanguage")], ...Object.entries(LANGUAGE_NAMES)];
    if (p.preferred_language && !LANGUAGE_NAMES[p.preferred_language]) languages.push([p.preferred_language, p.preferred_language]);
    [rows[rows.length], controls.preferred_language] = field(t("patient.language"), select("edit-language", languages, p.preferred_language));
    [rows[rows.length], controls.preferred_channel] = field(t("profile.channel"),
      select("edit-channel", [["", t("profile.none")], ...["sms", "email", "webchat", "api"].map((c) => [c, t(`channel.${c}`)])], p.preferred_channel));
    [rows[rows.length], controls.time_zone] = field(t("patient.timeZone"),
      h("input", { type: "text", value: p.time_zone || "", maxlength: "64", "data-testid": "edit-timezone" }), t("profile.timeZoneHint"));
    const save = h("button", { type: "submit", class: "button primary", "data-testid": "save-profile" }, t("profile.save"));
    const form = h("form", { class: "admin-form", "aria-labelledby": "pf-edit" }, h("h2", { id: "pf-edit" }, t("profile.edit")), rows, save);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const changes = {};
      for (const name of FIELDS) {
        if (!controls[name]) continue;
        const value = controls[name].value.trim() || null;
        if (value !== (p[name] ?? null)) changes[name] = value;
      }
      if (!Object.keys(changes).length) {
        say(this.notice, t("profile.nothingChanged"));
        return;
      }
      this.#act(save, () => api.editPatient(p.id, changes), () => t("profile.saved"));
    });
    return form;
  }

  #contactForm() {
    const [kindRow, kind] = field(t("profile.contactKind"), select("contact-kind", [["phone", t("contact.phone")], ["email", t("contact.email")]], "phone"));
    const [addressRow, address] = field(t("profile.contactAddress"), h("input", { type: "text", required: true, maxlength: "320", "data-testid": "contact-address" }));
    const [consentRow, consent] = field(t("profile.consent"), select("contact-consent",
      [["", t("profile.consentNotAsked")], ["yes", t("profile.consentYes")], ["no", t("profile.consentNo")]], ""), t("profile.consentHint"));
    const add = h("button", { type: "submit", class: "button", "data-testid": "add-contact" }, t("profile.addContact"));
    this.mergeOffer = h("div", { class: "merge-offer", "data-testid": "merge-offer", hidden: true });
    const form = h("form", { class: "admin-form", "aria-labelledby": "pf-add-contact" },
      h("h2", { id: "pf-add-contact" }, t("profile.addContactHeading")), kindRow, addressRow, consentRow, add, this.mergeOffer);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const body = { kind: kind.value, address: address.value.trim() };
      if (consent.value) body.consent = consent.value === "yes";
      this.#act(add, () => api.addContact(this.id, body), () => t("profile.contactAdded"));
    });
    return form;
  }

  /** A 409 naming the patient who owns the address: offer to look at merging the two. */
  #offerMerge(err) {
    const owner = err instanceof ApiError ? err.problems?.find((x) => x.patient_id)?.patient_id : null;
    if (!owner || !this.mergeOffer) return;
    const parts = [h("a", { href: `#/patients/${owner}`, "data-testid": "open-owner" }, t("profile.openOwner", { id: owner }))];
    if (this.profile.can?.merge) {
      parts.push(h("button", { type: "button", class: "button small", "data-testid": "merge-owner",
        onclick: () => this.#preview(owner) }, t("profile.mergeOwner", { id: owner })));
    }
    replaceChildren(this.mergeOffer, parts);
    this.mergeOffer.hidden = false;
  }

  #identifierForm() {
    const [row, value] = field(t("profile.mrn"), h("input", { type: "text", required: true, maxlength: "120", "data-testid": "mrn-value" }));
    const add = h("button", { type: "submit", class: "button", "data-testid": "add-mrn" }, t("profile.addMrn"));
    const form = h("form", { class: "admin-form inline", "aria-labelledby": "pf-mrn" }, h("h2", { id: "pf-mrn" }, t("profile.addMrnHeading")), row, add);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.#act(add, () => api.addIdentifier(this.id, { value: value.value.trim() }), () => t("profile.mrnAdded"));
    });
    return form;
  }

  #conversations(p) {
    const rows = p.conversations.map((c) => h("li", { "data-testid": "profile-conversation" },
      h("a", { href: `#/c/${c.id}` }, t("conv.heading", { id: c.id })), " · ",
      t(`status.${c.status}`), " · ", t(`channel.${c.last_inbound_channel || c.channel}`), " · ",
      c.last_message_at ? t("profile.lastActivity", { when: longTime(c.last_message_at) }) : t("profile.noActivity")));
    return h("section", { class: "profile-section", "aria-labelledby": "pf-convs" },
      h("h2", { id: "pf-convs" }, t("profile.conversations")),
      rows.length ? h("ul", { class: "profile-list" }, rows) : h("p", {}, t("profile.noConversations")));
  }

  #appointments(p) {
    if (!p.appointments.length) return null;
    return h("section", { class: "profile-section", "aria-labelledby": "pf-appts" },
      h("h2", { id: "pf-appts" }, t("profile.appointments")),
      h("ul", { class: "profile-list" }, p.appointments.map((a) => h("li", {},
        a.start ? longTime(a.start) : t("profile.none"), " · ", a.status,
        a.practitioner ? ` · ${a.practitioner}` : "", a.location ? ` · ${a.location}` : ""))));
  }

  #startForm(p) {
    const offered = CHANNELS.filter((c) => p.reply_channels.some((r) => r.channel === c));
    const [channelRow, channel] = field(t("profile.startChannel"),
      select("start-channel", (offered.length ? offered : CHANNELS).map((c) => [c, t(`channel.${c}`)]), offered[0]));
    const [templateRow, template] = field(t("profile.startTemplate"), select("start-template", [["", t("profile.freeText")]], ""));
    api.templates().then((list) => {
      for (const tpl of list.filter((x) => x.published && !x.internal)) { // never the assistant's own
        template.append(h("option", { value: tpl.key }, tpl.title || tpl.purpose || tpl.key));
      }
    }).catch(() => {});
    const [textRow, text] = field(t("profile.startText"), h("textarea", { rows: "4", required: true, maxlength: "5000", "data-testid": "start-text" }));
    template.addEventListener("change", async () => {
      if (!template.value) return;
      try {
        const filled = await api.fillPatientTemplate(p.id, template.value, channel.value);
        text.value = filled.text;
      } catch (err) {
        say(this.error, detailOf(err));
      }
    });
    const send = h("button", { type: "submit", class: "button primary", "data-testid": "start-send" }, t("profile.startSend"));
    const form = h("form", { class: "admin-form", "aria-labelledby": "pf-start" },
      h("h2", { id: "pf-start" }, t("profile.start")), h("p", { class: "field-hint" }, t("profile.startHint")),
      channelRow, templateRow, textRow, send);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { channel: channel.value, text: text.value };
      if (template.value) body.template = template.value;
      const started = await this.#act(send, () => api.startConversation(p.id, body), () => t("profile.started"));
      if (started) location.hash = `#/c/${started.conversation_id}`;
    });
    return form;
  }

  #mergeForm() {
    const [searchRow, search] = field(t("profile.mergeSearch"), h("input", { type: "search", "data-testid": "merge-search", autocomplete: "off" }), t("profile.mergeSearchHint"));
    const results = h("ul", { class: "profile-list", "data-testid": "merge-results", "aria-live": "polite" });
    const find = h("button", { type: "submit", class: "button", "data-testid": "merge-find" }, t("profile.mergeFind"));
    this.previewBox = h("div", { class: "merge-preview", "data-testid": "merge-preview" });
    const form = h("form", { class: "admin-form", "aria-labelledby": "pf-merge" },
      h("h2", { id: "pf-merge" }, t("profile.merge")), h("p", { class: "field-hint" }, t("profile.mergeHint")), searchRow, find, results);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const q = search.value.trim();
      if (/^\d+$/.test(q) && q.length < 7) { // a patient number
        this.#preview(Number(q));
        return;
      }
      try {
        const page = await api.patientDirectory(q);
        const found = (page.patients || []).filter((x) => x.id !== this.id);
        replaceChildren(results, found.length ? found.map((x) => h("li", {},
          h("button", { type: "button", class: "button small", "data-testid": "merge-pick", onclick: () => this.#preview(x.id) },
            t("profile.mergePick", { name: x.name || t("profile.unnamed", { id: x.id }), id: x.id })))) : h("li", {}, t("profile.mergeNone")));
      } catch (err) {
        say(this.error, detailOf(err));
      }
    });
    return h("div", { class: "profile-merge" }, form, this.previewBox);
  }

  async #preview(source) {
    say(this.error, "");
    let preview;
    try {
      preview = await api.mergePreview(this.id, source);
    } catch (err) {
      say(this.error, detailOf(err));
      return;
    }
    const { source: left, target: right, result } = preview;
    const value = (name, fields) => name === "date_of_birth" ? (fields[name] ? dateOnly(fields[name]) : t("profile.none"))
      : name === "preferred_language" ? languageName(fields[name])
        : name === "preferred_channel" ? (fields[name] ? t(`channel.${fields[name]}`) : t("profile.none")) : fields[name] || t("profile.none");
    const labels = { name: t("profile.name"), date_of_birth: t("patient.dob"), preferred_language: t("patient.language"),
      preferred_channel: t("profile.channel"), time_zone: t("patient.timeZone") };
    const addresses = (p) => p.contact_points.map((c) => c.kind === "webchat" ? t("contact.visitor") : c.address).join(", ") || t("profile.none");
    const mrns = (list) => list.map((i) => i.value).join(", ") || t("profile.none");
    const rows = FIELDS.map((f) => [labels[f], value(f, right), value(f, left), value(f, result.fields), result.conflicts.includes(f)]);
    rows.push([t("patient.contacts"), addresses(right), addresses(left), result.contact_points.map((c) => c.address).join(", "), false]);
    rows.push([t("profile.mrn"), mrns(right.identifiers), mrns(left.identifiers), mrns(result.identifiers), false]);
    rows.push([t("profile.conversations"), String(preview.target_rows.conversations || 0), String(preview.source_rows.conversations || 0), String(result.conversations), false]);
    rows.push([t("profile.events"), String(preview.target_rows.timeline_events || 0), String(preview.source_rows.timeline_events || 0), String(result.events), false]);
    const table = h("div", { class: "table-wrap" }, h("table", { class: "audit merge-table", "data-testid": "merge-table" },
      h("caption", {}, t("profile.previewCaption", { kept: right.id, merged: left.id })),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("profile.field")),
        h("th", { scope: "col" }, t("profile.keptRecord", { id: right.id })),
        h("th", { scope: "col" }, t("profile.mergedRecord", { id: left.id })),
        h("th", { scope: "col" }, t("profile.result")))),
      h("tbody", {}, rows.map(([label, a, b, c, conflict]) => h("tr", { class: conflict ? "is-conflict" : null },
        h("th", { scope: "row" }, label), h("td", {}, a), h("td", {}, b), h("td", {}, c, conflict ? h("span", { class: "muted" }, ` (${t("profile.conflict")})`) : null))))));
    const [reasonRow, reason] = field(t("profile.mergeReason"), h("input", { type: "text", maxlength: "500", "data-testid": "merge-reason" }));
    const confirm = h("button", { type: "button", class: "button primary", "data-testid": "merge-confirm" },
      t("profile.mergeConfirm", { merged: left.id, kept: right.id }));
    confirm.addEventListener("click", () => this.#act(confirm,
      () => api.merge(this.id, { source_id: left.id, ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) }),
      (out) => t("profile.mergedDone", { merged: out.source_id, kept: out.target_id })));
    const cancel = h("button", { type: "button", class: "button subtle", "data-testid": "merge-cancel",
      onclick: () => replaceChildren(this.previewBox) }, t("profile.cancel"));
    replaceChildren(this.previewBox, h("section", { class: "admin-form", "aria-labelledby": "pf-preview" },
      h("h2", { id: "pf-preview" }, t("profile.preview")), table, reasonRow, h("div", { class: "actions" }, confirm, cancel)));
    confirm.focus();
  }

  #history(p) {
    if (!p.merges.length) return null;
    const rows = p.merges.map((m) => h("li", { "data-testid": "merge-history-item" },
      t(m.agent_name ? "profile.mergeLine" : "profile.mergeLineLink",
        { merged: m.source_id, kept: m.target_id, who: m.agent_name || "", when: longTime(m.created_at) }),
      m.undone_at ? h("span", { class: "badge badge-off" }, t("profile.undone")) : null,
      m.can_undo && this.me.role !== "agent" // supervisors and admins, from either record
        ? h("button", { type: "button", class: "button small", "data-testid": "undo-merge",
          onclick: (ev) => this.#act(ev.currentTarget, () => api.unmerge(m.id), () => t("profile.unmerged", { id: m.id })) },
        t("profile.undoMerge"))
        : null));
    return h("section", { class: "profile-section", "aria-labelledby": "pf-history" },
      h("h2", { id: "pf-history" }, t("profile.history")), h("ul", { class: "profile-list" }, rows));
  }
}
