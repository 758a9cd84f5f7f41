// The agents' inbox: sign-in, the live conversation list, and the open conversation.

import { AccountView, AuditView, BreakGlassView, StaffView, TeamsView, breakGlassRecord } from "./admin-view.js";
import { Alerts } from "./alerts.js";
import { ApiError, api, setUnauthorizedHandler } from "./api.js";
import { ConversationListView, Conversations, alertedAbout, countsMayChange, defaultQuery, mayStillSee } from "./conversation-list.js";
import { Notifier } from "./notifications.js";
import { ConversationView } from "./conversation-view.js";
import { PatientView } from "./patient-view.js";
import { EhrView } from "./ehr-view.js";
import { h, replaceChildren } from "./dom.js";
import { loginView } from "./login-view.js";
import { RedFlagsView } from "./red-flags-view.js";
import { SearchView } from "./search-view.js";
import { FloorView } from "./floor-view.js";
import { ReportsView } from "./reports-view.js";
import { State, Stream } from "./stream.js";
import { TemplatesView } from "./templates-view.js";
import { DirectoryView } from "./directory-view.js";
import { ImportView } from "./import-view.js";
import { installShortcuts } from "./shortcuts.js";
import { knowTeams, longTime, relativeTime, teamName, teamNameOf } from "./format.js";
import { LANGUAGE_NAMES, LOCALE, browserLanguage, loadLanguage, t } from "./strings.js";

const root = document.getElementById("app");
const LIST_RETRY_MS = 3000;
const CLOCK_MS = 15000;

/** The signed-in inbox, or null on the sign-in page. */
let inbox = null;

class Inbox {
  constructor(me) {
    this.me = me;
    this.filter = defaultQuery(); // the list's view and filters (conversation-list.js)
    this.nextBefore = null; // the view's next page
    this.listToken = 0;
    this.listNotice = t("list.loading");
    this.conversations = new Conversations();
    this.renderQueued = false;
    this.closed = false;
    this.selectedId = null;
    this.available = false;
    this.teamNames = new Map();
    this.hiddenUrgent = new Map(); // conversation id -> seq of the urgent alert hidden
    this.lastUrgentAlert = new Map(); // conversation id -> seq of its newest urgent alert
    this.wasLive = false;

    this.notifier = new Notifier({ onOpen: (id) => this.navigate(id) });
    this.list = new ConversationListView({ onFilter: (f) => this.setFilter(f), onOpen: (id) => this.navigate(id),
      onMore: () => this.loadMore().catch(() => {}), settings: this.notifier.element });
    this.view = new ConversationView({
      me,
      onConversation: (c) => this.#upsert(c),
      onTyping: (conversationId) => this.stream.send({ type: "typing", conversation_id: conversationId }),
    });
    this.stream = new Stream({
      onEvent: (frame) => this.#onFrame(frame),
      onTyping: (frame) => this.view.showTyping(frame),
      onViewing: (frame) => this.view.showViewing(frame),
      onResync: () => this.#resync(),
      onState: (state) => this.#onStreamState(state),
      onBreakGlass: (frame) => this.#breakGlassAlert(frame),
      checkSession: () => api.whoami(),
    });
    this.connection = h("span", { class: "conn", role: "status", "data-testid": "connection-status" });
    this.layout = h("div", { class: "inbox", "data-view": "list" }, this.list.element, this.view.element);
    // Supervisors propose template changes and admins publish them; agents only use templates.
    this.templates = me.role === "agent" ? null : new TemplatesView({ me });
    // Supervisors read the red-flag list; admins edit it.
    this.redFlags = me.role === "agent" ? null : new RedFlagsView({ me });
    this.directory = new DirectoryView(); // #/patients: everyone finds patients (agents see less of them)
    this.importer = me.role === "admin" ? new ImportView() : null; // #/import: patients from a CSV file
    this.alerts = new Alerts({ onOpen: (id) => this.navigate(id) });
    // Setting the clinic up: administrators manage staff, teams and read the audit trail; everyone has
    // their account (password, MFA) and break-glass.
    const admin = me.role === "admin";
    this.sections = {
      staff: admin ? new StaffView({ me }) : null,
      teams: admin ? new TeamsView() : null,
      audit: admin ? new AuditView() : null,
      ehr: admin ? new EhrView() : null,
      account: new AccountView({ me }),
      search: new SearchView(),
      floor: me.role === "agent" ? null : new FloorView({ me }), // #/floor: the live floor
      reports: me.role === "agent" ? null : new ReportsView({ me }), // #/reports: KPIs (docs/kpis.md)
      "break-glass": new BreakGlassView({ showPatient: (grant) => this.#showGrant(grant) }),
    };
    this.patientView = new PatientView({ me }); // #/patients/<id>: a patient's record
    this.bgAlerts = h("div", { class: "bg-alerts", "data-testid": "break-glass-alerts" });
    this.availability = h("button", { type: "button", class: "button small availability", "aria-pressed": "false",
      "data-testid": "availability", onclick: () => this.#toggleAvailability() }, t("top.away"));
    this.availabilityNote = h("span", { class: "sr-only", role: "status", "data-testid": "availability-note" });
    // The alerts come first: the section after the top bar is always the shell's last child.
    this.element = h("div", { class: "shell" }, this.alerts.element, this.bgAlerts, this.#topbar(), this.layout);
    this.#renderConnection(State.CONNECTING);
    this.clock = setInterval(() => this.renderList(), CLOCK_MS);
    // A supervisor set this agent Away from the live floor (or another tab of theirs changed it).
    window.addEventListener("puente:frame", (ev) => {
      if (ev.detail?.type === "presence" && ev.detail.agent_id === this.me.id && !this.closed) {
        this.#renderAvailability(ev.detail.available);
        if (ev.detail.by_id !== this.me.id) this.availabilityNote.textContent = t("top.setAwayBy", { name: ev.detail.by_name });
      }
    });
  }

  #topbar() {
    const signOut = h("button", { type: "button", class: "button subtle", "data-testid": "sign-out",
      onclick: () => signOutAndShowLogin() }, t("top.signOut"));
    return h("header", { class: "topbar" },
      h("a", { class: "brand", href: "#/" }, h("img", { class: "brand-mark", src: "/favicon.svg", alt: "" }), t("app.name")),
      this.connection,
      h("nav", { class: "topnav", "aria-label": t("top.sections") },
        h("a", { href: "#/", "data-testid": "nav-inbox" }, t("top.inbox")),
        h("a", { href: "#/search", "data-testid": "nav-search", "aria-keyshortcuts": "/" }, t("top.search")),
        h("a", { href: "#/patients", "data-testid": "nav-patients" }, t("top.patients")),
        this.sections.floor ? h("a", { href: "#/floor", "data-testid": "nav-floor" }, t("top.floor")) : null,
        this.sections.reports ? h("a", { href: "#/reports", "data-testid": "nav-reports" }, t("top.reports")) : null,
        this.importer ? h("a", { href: "#/import", "data-testid": "nav-import" }, t("top.import")) : null,
        this.templates ? h("a", { href: "#/templates", "data-testid": "nav-templates" }, t("top.templates")) : null,
        this.redFlags ? h("a", { href: "#/red-flags", "data-testid": "nav-red-flags" }, t("top.redFlags")) : null,
        this.sections.staff ? h("a", { href: "#/staff", "data-testid": "nav-staff" }, t("top.staff")) : null,
        this.sections.teams ? h("a", { href: "#/teams", "data-testid": "nav-teams" }, t("top.teams")) : null,
        this.sections.audit ? h("a", { href: "#/audit", "data-testid": "nav-audit" }, t("top.audit")) : null,
        this.sections.ehr ? h("a", { href: "#/ehr", "data-testid": "nav-ehr" }, t("top.ehr")) : null,
        h("a", { href: "#/break-glass", "data-testid": "nav-break-glass" }, t("top.breakGlass")),
        h("a", { href: "#/account", "data-testid": "nav-account" }, t("top.account"))),
      h("span", { class: "topbar-spacer" }),
      h("span", { class: "current-user", "data-testid": "current-user" },
        h("span", { class: "avatar", "aria-hidden": "true" }, initials(this.me.display_name)),
        h("span", { class: "current-user-text" },
          t("top.user", { name: this.me.display_name, role: t(`role.${this.me.role}`) }))),
      this.availability,
      this.availabilityNote,
      this.#languageSwitcher(),
      signOut);
  }

  /** English / Español: saves the choice on the account and draws the inbox again in it. */
  #languageSwitcher() {
    const select = h("select", { id: "ui-language", class: "language-select", "data-testid": "language-select" },
      Object.entries(LANGUAGE_NAMES).map(([code, name]) =>
        h("option", { value: code, lang: code, selected: code === LOCALE }, name)));
    const failed = h("span", { class: "form-error", role: "alert", "data-testid": "language-error", hidden: true });
    select.addEventListener("change", async () => {
      select.disabled = true;
      failed.hidden = true;
      try {
        const me = await api.updateMe({ ui_language: select.value });
        await loadLanguage(me.ui_language || browserLanguage());
        showLanguage();
        showInbox(me);
        document.getElementById("ui-language")?.focus();
      } catch (err) {
        select.value = LOCALE;
        select.disabled = false;
        failed.textContent = t("top.languageFailed", { detail: err instanceof ApiError ? err.detail : t("error.network") });
        failed.hidden = false;
      }
    });
    return h("span", { class: "language-switch" },
      h("label", { class: "sr-only", for: "ui-language" }, t("top.language")), select, failed);
  }

  async start() {
    // The teams first (with the list): the timeline and alerts name them in the reader's language.
    const teams = api.teams().then((list) => {
      knowTeams(list);
      this.teamNames = new Map(list.map((team) => [team.id, teamName(team)]));
      this.list.setTeams(list);
      this.renderList();
    }).catch(() => {});
    const lastSeq = await this.#loadListUntilItWorks();
    await teams;
    if (this.closed) return;
    this.stream.start(lastSeq);
    this.route();
    api.presence().then((p) => this.#renderAvailability(p.available)).catch(() => {});
  }

  /** After a reconnect the list is read again: a conversation that left this inbox's reach while
   * it was offline sends it no frame, so only a fresh list drops its row. */
  #onStreamState(state) {
    this.#renderConnection(state);
    if (state !== State.LIVE) return;
    this.#sayViewing(); // a new socket: the server knows nothing of what this inbox shows
    if (this.wasLive) this.loadList().catch(() => {});
    this.wasLive = true;
  }

  /** Available: handed-off conversations may be routed to you (while this inbox is open). */
  async #toggleAvailability() {
    const wanted = this.availability.getAttribute("aria-pressed") !== "true";
    this.availability.disabled = true;
    try {
      const presence = await api.setPresence(wanted);
      this.#renderAvailability(presence.available);
    } catch {
      // unchanged; the button says what is true
    } finally {
      this.availability.disabled = false;
    }
  }

  #renderAvailability(available) {
    this.availability.setAttribute("aria-pressed", String(available));
    this.availability.classList.toggle("is-available", available);
    this.availability.textContent = available ? t("top.available") : t("top.away");
    this.availability.title = available ? t("top.availableHint") : t("top.awayHint");
    this.available = available;
    this.renderList();
  }

  /** Conversations handed to people, and ones routed to you, as they happen (not in a backfill).
   * Urgent ones are drawn from the conversations' state instead (#renderUrgent). */
  #alert(event, conversation) {
    if (event.kind === "urgent_alert") this.lastUrgentAlert.set(conversation.id, event.seq);
    if (this.stream.state !== State.LIVE) return;
    const name = conversation.patient_name;
    const data = event.data || {};
    if (event.kind === "handoff" && data.to !== "bot" && !data.urgent) {
      const team = teamNameOf(data.team_id, data.team_name) || t("alerts.noTeam");
      if (conversation.assignee_id !== null && conversation.assignee_id !== this.me.id) return;
      this.alerts.show({ conversationId: conversation.id, text: t("alerts.handoff", { name, team }) });
    } else if (event.kind === "assignment" && data.automatic && data.assignee_id === this.me.id && !conversation.urgent_since) {
      this.alerts.show({ conversationId: conversation.id, text: t("alerts.assignedToYou", { name }) });
    }
  }

  /** An alert for every urgent conversation nobody has taken that this user is alerted about (the
   * circles of hub/routing/urgent.py), with how long the patient has waited; hidden ones come back at
   * the conversation's next alert. Alerts about conversations this user may no longer open go. */
  #renderUrgent(now) {
    this.alerts.retain((id) => {
      const c = this.conversations.get(id);
      return !c || mayStillSee(this.me, c);
    });
    const items = [];
    for (const c of this.conversations.byId.values()) {
      if (!alertedAbout(this.me, c, this.available) || c.status === "resolved") continue;
      const hidden = this.hiddenUrgent.get(c.id);
      if (hidden !== undefined && (this.lastUrgentAlert.get(c.id) ?? 0) <= hidden) continue;
      const team = this.teamNames.get(c.team_id) || t("alerts.noTeam");
      const time = relativeTime(c.urgent_since, now);
      items.push({
        conversationId: c.id,
        since: c.urgent_since,
        text: t("alerts.urgent", { name: c.patient_name, team }),
        detail: c.assignee_id !== null
          ? t("alerts.urgentAssigned", { assignee: c.assignee_id === this.me.id ? t("list.you") : c.assignee_name, time })
          : t("alerts.urgentWaiting", { time }),
        onTake: () => this.#take(c.id),
        onHide: () => this.hiddenUrgent.set(c.id, this.lastUrgentAlert.get(c.id) ?? 0),
      });
    }
    items.sort((a, b) => String(a.since).localeCompare(String(b.since)));
    this.alerts.setUrgent(items);
  }

  /** Supervisors and admins: someone opened a patient outside their reach (break-glass). */
  #breakGlassAlert(frame) {
    const text = t("bg.alert", { name: frame.agent_name, patient: frame.patient_name, reason: frame.reason,
      until: longTime(frame.expires_at) });
    const alert = h("div", { class: "bg-alert", role: "alert", "data-testid": "break-glass-alert" },
      h("p", {}, text),
      h("button", { type: "button", class: "button small", onclick: () => alert.remove() }, t("alerts.dismiss")));
    this.bgAlerts.append(alert);
  }

  async #showGrant(grant) {
    const view = this.sections["break-glass"];
    await breakGlassRecord(view.record, grant, (e) =>
      `${longTime(e.created_at)} · ${e.author_name || t(`timeline.${e.author_type === "agent" ? "staff" : e.author_type}`)}`
      + ` · ${e.text || e.kind}`);
  }

  /** "I'll take it": assigned to me, unless someone else took it first (409, said in the alert). */
  async #take(id) {
    try {
      await api.take(id, this.me.id);
      this.#upsert(await api.conversation(id)); // the stream brings the event; the alert goes now
      this.navigate(id);
      return null;
    } catch (err) {
      return err instanceof ApiError ? err.detail : t("error.network");
    }
  }

  close() {
    this.closed = true;
    this.stream.stop();
    clearInterval(this.clock);
    this.list.close();
    this.notifier.close();
  }

  /** Reload the list over REST; returns the last_seq it was read at. */
  async loadList() {
    const token = ++this.listToken;
    const query = this.filter;
    // The view's first page, and every urgent conversation (the alerts are drawn from them).
    const [data, urgent] = await Promise.all([
      api.conversationView(query),
      query.view === "urgent" ? null : api.conversationView({ view: "urgent" }).catch(() => null),
    ]);
    this.list.refreshCounts();
    if (token !== this.listToken) return data.last_seq; // another view was chosen meanwhile
    this.conversations.load([...data.conversations, ...(urgent?.conversations || [])], data.last_seq);
    this.nextBefore = data.next_before;
    this.listNotice = "";
    this.renderList();
    return data.last_seq;
  }

  /** The view's next page (keyset: older activity than the last row). */
  async loadMore() {
    if (this.nextBefore === null) return;
    const token = this.listToken;
    const data = await api.conversationView({ ...this.filter, before: this.nextBefore });
    if (token !== this.listToken) return;
    for (const c of data.conversations) this.conversations.upsert(c);
    this.nextBefore = data.next_before;
    this.renderList();
  }

  async #loadListUntilItWorks() {
    for (;;) {
      try {
        return await this.loadList();
      } catch (err) {
        if (this.closed) return 0;
        this.listNotice = t("error.list", { detail: err instanceof ApiError ? err.detail : t("error.network") });
        this.renderList();
        await new Promise((resolve) => setTimeout(resolve, LIST_RETRY_MS));
      }
    }
  }

  async #resync() {
    const lastSeq = await this.loadList();
    if (this.selectedId !== null) this.view.open(this.selectedId);
    return lastSeq;
  }

  setFilter(filter) {
    this.filter = filter;
    this.renderList();
    this.loadList().catch(() => {}); // "Mine" may include conversations older than the first page
  }

  #upsert(conversation) {
    if (this.conversations.upsert(conversation)) this.scheduleRender();
  }

  #onFrame(frame) {
    const { event, conversation } = frame;
    if (countsMayChange(this.conversations.get(conversation.id), conversation)) this.list.refreshCounts();
    this.conversations.upsert(conversation);
    this.#alert(event, conversation);
    if (this.stream.state === State.LIVE) {
      this.notifier.onFrame(frame, { me: this.me, alerted: (c) => alertedAbout(this.me, c, this.available),
        selectedId: this.selectedId });
    }
    if (event.kind === "message_in" && conversation.id !== this.selectedId) {
      this.conversations.unread.add(conversation.id);
    }
    this.view.applyFrame(frame);
    this.scheduleRender();
  }

  /** Many frames can arrive at once (a reconnect's backfill): draw the list once per frame. */
  scheduleRender() {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      this.renderList();
    });
  }

  renderList() {
    if (this.closed) return;
    this.#renderUrgent(new Date());
    this.list.render({
      items: this.conversations.shown(this.filter, this.me),
      selectedId: this.selectedId,
      filter: this.filter,
      meId: this.me.id,
      unread: this.conversations.unread,
      notice: this.listNotice,
      more: this.nextBefore !== null,
    });
  }

  #renderConnection(state) {
    this.connection.textContent = t(`conn.${state}`);
    this.connection.className = `conn conn-${state}`;
    this.connection.dataset.state = state;
  }

  /** Open conversation `id`; opening the one already open reloads it. */
  navigate(id) {
    const hash = `#/c/${id}`;
    if (location.hash === hash) this.route();
    else location.hash = hash;
  }

  /** The page shows one section at a time: the inbox, the templates or the red flags (for those who see them). */
  #show(section) {
    const current = this.element.lastChild;
    if (current !== section) current.replaceWith(section);
    const named = Object.entries(this.sections).find(([, view]) => view?.element === section)?.[0];
    const shown = section === this.directory.element ? "nav-patients" : section === this.importer?.element ? "nav-import"
      : section === this.layout ? "nav-inbox" : section === this.redFlags?.element ? "nav-red-flags"
      : named ? `nav-${named}` : section === this.templates?.element ? "nav-templates" : null;
    for (const link of this.element.querySelectorAll(".topnav a")) {
      const active = link.dataset.testid === shown;
      if (active) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }

  route() {
    this.#route();
    this.#sayViewing();
  }

  /** Tells the stream which conversation this inbox shows (none when another screen is shown):
   * colleagues who may see it read "… is viewing". */
  #sayViewing() {
    const id = this.element.lastChild === this.layout ? this.selectedId : null;
    this.stream.send({ type: "viewing", conversation_id: id });
    // The live floor's frames come only while it is shown (hub/floor/live.py).
    if (this.sections.floor) this.stream.send({ type: "floor", watching: this.element.lastChild === this.sections.floor.element });
  }

  #route() {
    if (location.hash === "#/patients" || location.hash === "#/import") {
      const view = location.hash === "#/import" ? this.importer : this.directory;
      this.#show(view ? view.element : h("main", { class: "admin-page", "data-testid": "not-allowed" },
        h("h1", { class: "admin-title" }, t("admin.notAllowedHeading")), h("p", {}, t("admin.notAllowed"))));
      view?.open();
      return;
    }
    const patient = /^#\/patients\/(\d+)$/.exec(location.hash);
    if (patient) {
      this.#show(this.patientView.element);
      this.patientView.open(Number(patient[1]));
      return;
    }
    const search = /^#\/search(?:\?q=(.*))?$/.exec(location.hash);
    if (search) {
      this.#show(this.sections.search.element);
      this.sections.search.open(search[1] === undefined ? null : decodeQuery(search[1]));
      return;
    }
    const section = /^#\/(staff|teams|audit|ehr|account|break-glass|floor|reports)$/.exec(location.hash);
    if (section) {
      const view = this.sections[section[1]];
      if (!view) {
        this.#show(h("main", { class: "admin-page", "data-testid": "not-allowed" },
          h("h1", { class: "admin-title" }, t("admin.notAllowedHeading")), h("p", {}, t("admin.notAllowed"))));
        return;
      }
      this.#show(view.element);
      view.open();
      return;
    }
    if (location.hash === "#/red-flags" && this.redFlags) {
      this.#show(this.redFlags.element);
      this.redFlags.open();
      return;
    }
    const templates = /^#\/templates(?:\/([a-z0-9_]+))?$/.exec(location.hash);
    if (templates && this.templates) {
      this.#show(this.templates.element);
      this.templates.open(templates[1] || null);
      return;
    }
    this.#show(this.layout);
    const match = /^#\/c\/(\d+)(?:\/at\/(\d+))?$/.exec(location.hash); // at: an event (a search result)
    if (match) {
      const id = Number(match[1]);
      this.selectedId = id;
      this.conversations.unread.delete(id);
      this.notifier.seen(id);
      this.alerts.clear(id);
      this.layout.dataset.view = "detail";
      this.view.open(id, match[2] ? Number(match[2]) : null);
    } else {
      this.selectedId = null;
      this.layout.dataset.view = "list";
      this.view.showEmpty();
    }
    this.renderList();
  }
}

function decodeQuery(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function initials(name) {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join("");
}

function showLogin(notice = "") {
  if (inbox) inbox.close();
  inbox = null;
  window.puenteInbox = null;
  replaceChildren(root, loginView({ onSignedIn: enterInbox, notice }));
}

/** The page speaks the language the strings are in. */
function showLanguage() {
  document.documentElement.lang = LOCALE;
  document.title = t("app.title");
}

/** After signing in: the inbox in the user's saved language, else the browser's. */
async function enterInbox(me) {
  const wanted = me.ui_language || browserLanguage();
  if (wanted !== LOCALE) {
    await loadLanguage(wanted);
    showLanguage();
  }
  showInbox(me);
}

function showInbox(me) {
  if (inbox) inbox.close();
  const current = (inbox = new Inbox(me));
  replaceChildren(root, current.element);
  // A debug and test hook: the stream and its socket (e.g. close it to exercise reconnects).
  window.puenteInbox = {
    get stream() { return current.stream; },
    get socket() { return current.stream.socket; },
    get lastSeq() { return current.stream.lastSeq; },
    get state() { return current.stream.state; },
  };
  current.start();
}

async function signOutAndShowLogin() {
  // Stop the live stream first: the server closes it when the session ends, and a reconnect
  // racing the sign-out would only be refused.
  if (inbox) inbox.close();
  try {
    await api.logout();
  } catch {
    // signed out already, or offline: the page forgets the session either way
  }
  history.replaceState(null, "", location.pathname);
  showLogin(t("login.signedOut"));
}

setUnauthorizedHandler(() => {
  if (inbox) showLogin(t("login.expired"));
});

window.addEventListener("hashchange", () => inbox?.route());

// Sessions end after an idle timeout (HIPAA automatic logoff). Watching the live stream is
// not activity; the agent's own input is, so it renews the session, at most once a minute.
let lastActivityPing = 0;
for (const type of ["keydown", "pointerdown"]) {
  window.addEventListener(type, () => {
    const now = Date.now();
    if (!inbox || now - lastActivityPing < 60_000) return;
    lastActivityPing = now;
    api.whoami().catch(() => {}); // a 401 goes to the sign-in form via the unauthorized handler
  }, { passive: true, capture: true });
}

// "/" opens search from anywhere but a field being typed in.
window.addEventListener("keydown", (ev) => {
  if (ev.key !== "/" || ev.ctrlKey || ev.metaKey || ev.altKey || !inbox || inbox.closed) return;
  const target = ev.target;
  if (target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
  ev.preventDefault();
  if (location.hash.startsWith("#/search")) inbox.sections.search.open();
  else location.hash = "#/search";
});

installShortcuts({ active: () => Boolean(inbox && !inbox.closed) }); // j/k, r, Esc, g i, ? (web/shortcuts.js)

async function boot() {
  let me = null;
  let failure = null;
  try {
    me = await api.me();
  } catch (err) {
    failure = err;
  }
  // The strings before the first render: the user's saved language, else the browser's.
  await loadLanguage(me?.ui_language || browserLanguage());
  showLanguage();
  if (failure) showLogin(failure instanceof ApiError && failure.status ? failure.detail : t("error.network"));
  else if (me) showInbox(me);
  else showLogin();
}

boot();
