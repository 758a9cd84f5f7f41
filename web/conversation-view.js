// The right pane: who the patient is, their whole timeline, and what the agent can do.

import { ApiError, api } from "./api.js";
import { statusBadge } from "./badges.js";
import { Composer } from "./composer.js";
import { h, replaceChildren } from "./dom.js";
import { dateOnly, languageLabel, teamName } from "./format.js";
import { LOCALE, t } from "./strings.js";
import { Timeline } from "./timeline.js";
import { SnoozeControl } from "./snooze.js";

const PAGE = 50;
const NEAR_BOTTOM_PX = 120;
const TYPING_EVERY_MS = 2000;
const TYPING_SHOWN_MS = 6000;
const VIEWING_SWEEP_MS = 5000;
const CANCELLED = Symbol("cancelled"); // the agent chose not to send after all

function detailOf(err) {
  return err instanceof ApiError ? err.detail : t("error.network");
}

export class ConversationView {
  /** me: the signed-in staff member; onConversation(conv): a fresher state of a conversation;
   * onTyping(conversationId): the agent is writing a reply there. */
  constructor({ me, onConversation, onTyping = () => {} }) {
    this.me = me;
    this.onConversation = onConversation;
    this.onTyping = onTyping;
    this.lastTypingSent = 0;
    this.typingTimer = null;
    this.viewers = new Map(); // viewer (another inbox) -> { conversationId, agentId, name, until }
    this.draftStart = null; // the newest event in view when the agent began writing this reply
    setInterval(() => this.#renderViewing(), VIEWING_SWEEP_MS);
    this.readReported = new Map(); // conversation id -> newest seq reported read
    this.conversation = null;
    this.patient = null;
    this.timeline = null;
    this.token = 0;
    this.buffer = null; // frames that arrive while a conversation loads
    this.element = h("main", { class: "detail-pane", id: "detail", "data-testid": "detail", tabindex: "-1" });
    this.composer = new Composer({
      onReply: (text, channel) => this.#reply(text, channel),
      onNote: (text) => this.#act("error.note", () => api.note(this.conversation.id, text)),
      onTyping: () => this.#typing(),
      onTemplate: (key, channel) => api.fillTemplate(this.conversation.id, key, channel),
      onCheck: (text, language) => api.checkLanguage(text, language),
    });
    document.addEventListener("visibilitychange", () => this.#markRead());
    this.showEmpty();
  }

  #typing() {
    this.draftStart ??= this.timeline?.newestSeq ?? null;
    const now = Date.now();
    if (!this.conversation || now - this.lastTypingSent < TYPING_EVERY_MS) return;
    this.lastTypingSent = now;
    this.onTyping(this.conversation.id);
  }

  /** Someone else is writing in a conversation: shown under the open one's timeline for a moment. */
  showTyping(frame) {
    if (!this.conversation || frame.conversation_id !== this.conversation.id || !this.typingLine) return;
    this.typingLine.textContent = frame.agent_id === null
      ? t("detail.patientTyping", { name: this.timeline.context.patientName })
      : t("detail.staffTyping", { name: frame.name || t("timeline.staff") });
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.#clearTyping(), TYPING_SHOWN_MS);
  }

  /** Another staff member opened or left a conversation: "Ben is viewing" on the open one while it lasts. */
  showViewing(frame) {
    if (frame.viewing) {
      this.viewers.set(frame.viewer, { conversationId: frame.conversation_id, agentId: frame.agent_id, name: frame.name,
        until: Date.now() + frame.expires_in * 1000 });
    } else {
      this.viewers.delete(frame.viewer);
    }
    this.#renderViewing();
  }

  #renderViewing() {
    const now = Date.now();
    const names = new Map();
    for (const [viewer, v] of this.viewers) {
      if (v.until < now) this.viewers.delete(viewer);
      else if (v.conversationId === this.conversation?.id) names.set(v.agentId, v.name);
    }
    if (!this.viewingLine) return;
    const shown = [...names.values()];
    const text = shown.length === 0 ? ""
      : shown.length === 1 ? t("detail.viewingOne", { name: shown[0] })
        : t("detail.viewingMany", { names: new Intl.ListFormat(LOCALE, { type: "conjunction" }).format(shown) });
    if (this.viewingLine.textContent !== text) this.viewingLine.textContent = text;
    this.viewingLine.hidden = !text;
  }

  /** A reply. If a colleague replied since the agent began writing (409), their reply is shown and the
   * agent sends anyway or not; true once sent. */
  async #reply(text, channel) {
    this.lastTypingSent = 0;
    const id = this.conversation.id;
    const drafted = this.draftStart ?? this.timeline?.newestSeq ?? null;
    const send = (confirm) => api.reply(id, text, channel, this.timeline?.newestSeq, { drafted_after: drafted, confirm });
    const ok = await this.#act("error.reply", async () => {
      try {
        return await send(false);
      } catch (err) {
        const collision = err instanceof ApiError && err.status === 409
          ? err.problems?.find((p) => p.code === "replied_since") : null;
        if (!collision) throw err;
        if (!(await this.#confirmCollision(collision))) throw CANCELLED;
        return send(true);
      }
    });
    if (ok) this.draftStart = null;
    return ok;
  }

  /** "Ben replied after you started. Send anyway?" with Ben's reply; resolves true to send. */
  #confirmCollision(problem) {
    const reply = problem.reply || {};
    return new Promise((resolve) => {
      const done = (send) => {
        this.pendingCollision = null;
        this.collisionBox.hidden = true;
        this.collisionBox.replaceChildren();
        resolve(send);
      };
      const sendButton = h("button", { type: "button", class: "button primary small", "data-testid": "collision-send",
        onclick: () => done(true) }, t("detail.collisionSend"));
      this.collisionBox.replaceChildren(
        h("p", { class: "collision-question", id: "collision-question", role: "alert" }, problem.message),
        reply.text ? h("blockquote", { class: "collision-reply", "data-testid": "collision-reply" },
          h("span", { class: "collision-author" }, t("detail.collisionTheirs", { name: reply.author_name || "" })), " ",
          reply.text) : null,
        h("div", { class: "collision-actions" },
          sendButton,
          h("button", { type: "button", class: "button subtle small", "data-testid": "collision-cancel",
            onclick: () => done(false) }, t("detail.collisionCancel"))));
      this.collisionBox.onkeydown = (ev) => {
        if (ev.key === "Escape") {
          ev.preventDefault();
          ev.stopPropagation();
          done(false);
        }
      };
      this.pendingCollision = done;
      this.collisionBox.hidden = false;
      sendButton.focus();
    });
  }

  #clearTyping() {
    clearTimeout(this.typingTimer);
    if (this.typingLine) this.typingLine.textContent = "";
  }

  /** The agent has the conversation in view: the patient's web chat may show "Read". */
  #markRead() {
    const c = this.conversation;
    if (!c || document.visibilityState !== "visible") return;
    if (c.last_event_seq <= (this.readReported.get(c.id) || 0)) return;
    this.readReported.set(c.id, c.last_event_seq);
    api.markRead(c.id, c.last_event_seq).catch(() => this.readReported.delete(c.id));
  }

  get conversationId() {
    return this.conversation?.id ?? null;
  }

  showEmpty() {
    this.token += 1;
    this.conversation = this.patient = this.timeline = this.buffer = null;
    replaceChildren(this.element,
      h("div", { class: "empty-state", "data-testid": "detail-empty" },
        h("div", { class: "empty-mark", "aria-hidden": "true" }),
        h("h2", {}, t("detail.emptyTitle")),
        h("p", {}, t("detail.empty"))));
  }

  /** Open (or reload) conversation `id`: its state, the patient, and the latest timeline page;
   * with `at`, scrolled to that event (a search result). */
  async open(id, at = null) {
    const token = ++this.token;
    this.buffer = [];
    if (this.conversationId !== id) {
      replaceChildren(this.element, h("p", { class: "detail-loading", role: "status" }, t("detail.loading")));
    }
    try {
      const conversation = await api.conversation(id);
      const [patient, page] = await Promise.all([
        api.patient(conversation.patient_id),
        api.timeline(conversation.patient_id, { limit: PAGE }),
      ]);
      if (token !== this.token) return;
      this.onConversation(conversation);
      this.#build(conversation, patient, page);
      const buffered = this.buffer;
      this.buffer = null;
      for (const frame of buffered) this.applyFrame(frame);
      if (at === null) this.#scrollToEnd();
      else await this.reveal(at, token);
      this.#markRead();
    } catch (err) {
      if (token !== this.token) return;
      this.buffer = null;
      this.conversation = null;
      replaceChildren(this.element,
        h("div", { class: "empty-state" },
          h("p", { class: "error-banner", role: "alert", "data-testid": "detail-error" },
            t("detail.failed", { detail: detailOf(err) }))));
    }
  }

  /** A stream frame: update the open conversation and add the patient's new events. */
  applyFrame(frame) {
    if (this.buffer) {
      this.buffer.push(frame);
      return;
    }
    if (!this.conversation) return;
    if (frame.conversation.id === this.conversation.id && frame.conversation.patient_id !== this.patient.id) {
      this.open(this.conversation.id); // the visitor proved who they are: show their whole record
      return;
    }
    if (frame.conversation.id === this.conversation.id) this.#setConversation(frame.conversation);
    if (frame.event.patient_id === this.patient.id && this.#addEvents([frame.event])) {
      this.#announce(frame.event);
      if (frame.event.kind === "message_in") this.#clearTyping();
    }
    if (frame.conversation.id === this.conversation.id) this.#markRead();
  }

  /** Screen readers hear about messages and notes that arrive while the conversation is open. */
  #announce(event) {
    if (event.author_type === "agent" && event.author_id === this.me.id) return; // their own action
    const name = event.author_type === "patient" ? this.timeline.context.patientName : event.author_name || t("timeline.staff");
    if (event.kind === "message_in" || event.kind === "message_out") {
      this.announcer.textContent = t("timeline.announceMessage", { name, text: event.text || "" });
    } else if (event.kind === "note") {
      this.announcer.textContent = t("timeline.announceNote", { name });
    }
  }

  #build(conversation, patient, page) {
    this.patient = patient;
    this.conversation = conversation;
    const patientName = patient.name || conversation.patient_name;
    this.timeline = new Timeline({ patientName, conversationId: conversation.id });
    this.timeline.add(page.events);
    this.hasMore = page.has_more;

    this.errorBox = h("div", { class: "error-banner", role: "alert", "data-testid": "action-error", hidden: true });
    this.typingLine = h("p", { class: "typing-line", "aria-live": "polite", "data-testid": "typing-indicator" });
    this.viewingLine = h("p", { class: "viewing-line", "data-testid": "viewing-indicator", hidden: true });
    this.collisionBox = h("div", { class: "collision", role: "group", "aria-labelledby": "collision-question",
      "data-testid": "collision", hidden: true });
    this.draftStart = null;
    this.pendingCollision?.(false); // a question about the conversation no longer shown
    this.announcer = h("p", { class: "sr-only", role: "status", "aria-live": "polite" });
    this.earlier = h("div", { class: "timeline-start" });
    this.scroller = h("div", { class: "timeline-scroll", tabindex: "0", role: "region",
      "aria-label": t("timeline.heading"), "data-testid": "timeline-scroll" },
      this.earlier, this.timeline.element);
    this.statusSlot = h("span", { class: "conv-status-slot" });
    this.assigneeText = h("span", { class: "conv-assignee-text", "data-testid": "conversation-assignee" });
    this.assignButton = h("button", { type: "button", class: "button", "data-testid": "assign-me",
      onclick: () => this.#toggleAssign() });
    this.statusButton = h("button", { type: "button", class: "button", "data-testid": "status-toggle",
      onclick: () => this.#toggleStatus() });
    this.handBackButton = h("button", { type: "button", class: "button subtle", "data-testid": "hand-back",
      onclick: () => this.#busy(this.handBackButton, () => this.#act("error.handBack", () => api.handBack(this.conversation.id))) },
      t("conv.handBack"));
    this.transferButton = h("button", { type: "button", class: "button subtle", "data-testid": "transfer",
      "aria-expanded": "false", onclick: () => this.#toggleTransfer() }, t("conv.transfer"));
    this.transferForm = h("form", { class: "transfer-form", "data-testid": "transfer-form", hidden: true });
    this.flags = h("span", { class: "conv-flags" });
    this.snooze = new SnoozeControl({ act: (run) => this.#act("error.snooze", run), conversationId: () => this.conversation.id });

    replaceChildren(this.element,
      h("header", { class: "detail-head" },
        h("a", { class: "back-link", href: "#/", "data-testid": "back" }, t("detail.back")),
        h("div", { class: "patient-card" },
          h("h2", { class: "patient-name", id: "patient-name", "data-testid": "patient-name" }, patientName),
          this.#facts(patient),
          this.#contacts(patient),
          h("a", { class: "profile-link", href: `#/patients/${patient.id}`, "data-testid": "patient-profile-link" },
            t("patient.openProfile"))),
        h("div", { class: "conv-bar", role: "group", "aria-label": t("conv.actions") },
          h("span", { class: "conv-number" }, t("conv.heading", { id: conversation.id })),
          this.statusSlot,
          this.flags,
          this.snooze.flag,
          this.assigneeText,
          h("span", { class: "conv-bar-spacer" }),
          this.handBackButton,
          this.transferButton,
          this.assignButton,
          this.snooze.element,
          this.statusButton),
        this.transferForm,
        this.snooze.menu,
        this.viewingLine),
      this.errorBox,
      this.announcer,
      this.scroller,
      this.typingLine,
      this.collisionBox,
      this.composer.element);
    this.element.setAttribute("aria-labelledby", "patient-name");
    this.composer.reset(conversation, patient);
    this.#renderConversation();
    this.#renderEarlier();
    this.#renderViewing();
  }

  #facts(patient) {
    const fact = (label, value, testid) => h("div", { class: "fact" },
      h("dt", {}, label), h("dd", { "data-testid": testid }, value));
    return h("dl", { class: "patient-facts" },
      fact(t("patient.language"), languageLabel(patient.preferred_language), "patient-language"),
      patient.date_of_birth ? fact(t("patient.dob"), dateOnly(patient.date_of_birth), "patient-dob")
        : patient.date_of_birth_masked ? fact(t("patient.dob"), t("profile.dobMasked"), "patient-dob") : null,
      patient.time_zone ? fact(t("patient.timeZone"), patient.time_zone, "patient-timezone") : null,
      patient.identifiers?.length
        ? fact(t("patient.mrn"), patient.identifiers.map((i) => i.value).join(", "), "patient-mrn") : null);
  }

  #contacts(patient) {
    const kinds = { phone: "contact.phone", email: "contact.email", webchat: "contact.webchat", portal: "contact.portal" };
    return h("ul", { class: "contacts", "aria-label": t("patient.contacts"), "data-testid": "patient-contacts" },
      patient.contact_points.map((c) => h("li", { class: `contact${c.opted_out_at ? " is-opted-out" : ""}` },
        h("span", { class: "contact-kind" }, t(kinds[c.kind] || "contact.other")),
        // A web-chat visitor id means nothing to a person; whether the visitor proved who they are does.
        c.kind === "webchat"
          ? h("span", { class: "contact-address", title: c.address },
            t(this.#proven(patient) ? "contact.visitor" : "contact.visitorUnverified"))
          : h("span", { class: "contact-address" }, c.address),
        c.verified ? h("span", { class: "contact-flag" }, t("contact.verified")) : null,
        c.opted_out_at ? h("span", { class: "contact-flag is-warning" }, t("contact.optedOut")) : null)));
  }

  /** Whether the patient proved an address or signed in through the portal (else: a name typed in a chat). */
  #proven(patient) {
    return patient.contact_points.some((c) => c.verified || c.kind === "phone" || c.kind === "email");
  }

  #setConversation(conversation) {
    if (conversation.last_event_seq < this.conversation.last_event_seq) return;
    this.conversation = conversation;
    this.composer.update(conversation);
    this.#renderConversation();
  }

  #renderConversation() {
    const c = this.conversation;
    replaceChildren(this.statusSlot, statusBadge(c.status, { "data-testid": "conversation-status" }));
    this.assigneeText.textContent = c.assignee_id === null
      ? t("conv.unassigned") : t("conv.assignedTo", { name: c.assignee_name || "" });
    const mine = c.assignee_id === this.me.id;
    const bot = c.handler === "bot";
    // "Take over" a conversation the assistant holds: it stops writing the moment you do.
    this.assignButton.textContent = mine ? t("conv.unassign") : bot ? t("conv.takeOver") : t("conv.assignToMe");
    this.assignButton.dataset.testid = mine ? "unassign" : bot ? "take-over" : "assign-me";
    this.handBackButton.hidden = bot || c.status === "resolved" || (c.assignee_id !== null && !mine && this.me.role === "agent");
    replaceChildren(this.flags,
      c.priority >= 10 ? h("span", { class: "badge is-urgent", "data-testid": "conversation-urgent" }, t("conv.urgent")) : null,
      bot ? h("span", { class: "badge is-bot", "data-testid": "conversation-bot" }, t("conv.withAssistant")) : null,
      c.verified_at ? h("span", { class: "badge is-verified", "data-testid": "conversation-verified",
        title: t("conv.verifiedHint") }, t("conv.verified")) : null);
    const resolved = c.status === "resolved";
    this.statusButton.textContent = resolved ? t("conv.reopen") : t("conv.resolve");
    this.statusButton.dataset.testid = resolved ? "reopen" : "resolve";
    this.statusButton.classList.toggle("primary", !resolved);
    this.snooze.update(c);
  }

  #renderEarlier() {
    if (this.hasMore) {
      const button = h("button", { type: "button", class: "button subtle", "data-testid": "load-earlier",
        onclick: () => this.#loadEarlier(button) }, t("timeline.loadEarlier"));
      replaceChildren(this.earlier, button);
    } else {
      replaceChildren(this.earlier, h("p", { class: "timeline-origin", "data-testid": "timeline-start" },
        this.timeline.seqs.length ? t("timeline.start") : t("timeline.empty")));
    }
  }

  async #loadEarlier(button) {
    const token = this.token;
    button.disabled = true;
    button.textContent = t("timeline.loadingEarlier");
    try {
      const page = await api.timeline(this.patient.id, { before: this.timeline.oldestSeq, limit: PAGE });
      if (token !== this.token) return;
      const before = this.scroller.scrollHeight - this.scroller.scrollTop;
      this.timeline.add(page.events);
      this.hasMore = page.has_more;
      this.#renderEarlier();
      this.scroller.scrollTop = this.scroller.scrollHeight - before; // keep the reader's place
    } catch (err) {
      if (token !== this.token) return;
      button.disabled = false;
      button.textContent = t("timeline.loadEarlier");
      this.#showError(t("error.earlier", { detail: detailOf(err) }));
    }
  }

  /** Adds events not shown yet; returns how many were new. */
  #addEvents(events, { follow = false } = {}) {
    const s = this.scroller;
    const nearBottom = s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
    const added = this.timeline.add(events);
    if (added && (nearBottom || follow)) this.#scrollToEnd();
    if (added && !this.hasMore) this.#renderEarlier();
    return added;
  }

  #scrollToEnd() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  /** Scrolls to event `seq`, loading earlier pages until it is there, and marks and focuses it. */
  async reveal(seq, token = this.token) {
    for (let pages = 0; !this.timeline.has(seq) && this.hasMore && pages < 40; pages += 1) {
      const page = await api.timeline(this.patient.id, { before: this.timeline.oldestSeq, limit: PAGE });
      if (token !== this.token) return;
      this.timeline.add(page.events);
      this.hasMore = page.has_more;
    }
    this.#renderEarlier();
    const node = this.timeline.element.querySelector(`[data-seq="${Number(seq)}"]`);
    if (!node) return this.#scrollToEnd();
    this.timeline.element.querySelector(".is-found")?.classList.remove("is-found");
    node.classList.add("is-found");
    node.dataset.found = "true";
    node.tabIndex = -1;
    node.scrollIntoView({ block: "center" });
    node.focus({ preventScroll: true });
  }

  #showError(message) {
    this.errorBox.replaceChildren(
      h("span", {}, message),
      h("button", { type: "button", class: "button subtle small", onclick: () => { this.errorBox.hidden = true; } },
        t("error.dismiss")));
    this.errorBox.hidden = false;
  }

  /** Runs an action; shows the server's reason on failure; true when it succeeded. */
  async #act(errorKey, action) {
    const token = this.token;
    const id = this.conversation.id;
    this.errorBox.hidden = true;
    try {
      const event = await action();
      if (token !== this.token) return true;
      this.#addEvents([event], { follow: true });
      await this.#refresh(token, id);
      return true;
    } catch (err) {
      if (token !== this.token || err === CANCELLED) return false;
      if (err instanceof ApiError && err.status === 401) return false; // back to sign-in
      this.#showError(t(errorKey, { detail: detailOf(err) }));
      if (err instanceof ApiError) await this.#refresh(token, id); // the page may have been out of date
      return false;
    }
  }

  /** The stream brings a conversation's new state too; fetching it also covers a stream that is down. */
  async #refresh(token, id) {
    try {
      const conversation = await api.conversation(id);
      this.onConversation(conversation);
      if (token === this.token) this.#setConversation(conversation);
    } catch {
      // the stream will bring it
    }
  }

  async #toggleAssign() {
    const mine = this.conversation.assignee_id === this.me.id;
    await this.#busy(this.assignButton, () => this.#act("error.assign", () => api.assign(this.conversation.id, mine ? null : this.me.id)));
  }

  /** Transfer: to a team's queue (someone free there takes it), or to a colleague. */
  async #toggleTransfer() {
    const open = this.transferForm.hidden;
    this.transferForm.hidden = !open;
    this.transferButton.setAttribute("aria-expanded", String(open));
    if (!open) return;
    let teams;
    try {
      teams = await api.teams();
    } catch (err) {
      this.#showError(t("error.transfer", { detail: detailOf(err) }));
      return;
    }
    const team = h("select", { name: "team", "data-testid": "transfer-team", "aria-label": t("conv.transferTeam") },
      teams.map((tm) => h("option", { value: tm.id, selected: tm.id === this.conversation.team_id }, teamName(tm))));
    const agent = h("select", { name: "agent", "data-testid": "transfer-agent", "aria-label": t("conv.transferAgent") });
    const fillAgents = () => {
      const chosen = teams.find((tm) => String(tm.id) === team.value);
      agent.replaceChildren(h("option", { value: "" }, t("conv.transferAnyone")),
        ...(chosen?.members || []).filter((m) => m.id !== this.me.id).map((m) => h("option", { value: m.id },
          m.available ? t("conv.memberAvailable", { name: m.display_name }) : m.display_name)));
    };
    team.addEventListener("change", fillAgents);
    fillAgents();
    const note = h("input", { name: "note", maxlength: "500", "data-testid": "transfer-note",
      placeholder: t("conv.transferNote"), "aria-label": t("conv.transferNote") });
    const submit = h("button", { type: "submit", class: "button primary small", "data-testid": "transfer-submit" },
      t("conv.transferSubmit"));
    this.transferForm.replaceChildren(team, agent, note, submit);
    this.transferForm.onsubmit = async (ev) => {
      ev.preventDefault();
      const ok = await this.#act("error.transfer", () => api.transfer(this.conversation.id, {
        teamId: Number(team.value), agentId: agent.value ? Number(agent.value) : null, note: note.value.trim() || null,
      }));
      if (ok) {
        this.transferForm.hidden = true;
        this.transferButton.setAttribute("aria-expanded", "false");
      }
    };
    team.focus();
  }

  async #toggleStatus() {
    const next = this.conversation.status === "resolved" ? "open" : "resolved";
    await this.#busy(this.statusButton, () => this.#act("error.status", () => api.setStatus(this.conversation.id, next)));
  }

  async #busy(button, run) {
    button.disabled = true;
    try {
      await run();
    } finally {
      button.disabled = false;
    }
  }
}
