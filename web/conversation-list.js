// The left pane: the inbox's views (open, waiting for me, mine, my team's, urgent, snoozed, resolved,
// all) with their counts, filters, and the conversations of the view, newest activity first, kept
// current by the stream.

import { api } from "./api.js";
import { channelBadge, statusBadge } from "./badges.js";
import { h, replaceChildren } from "./dom.js";
import { longTime, relativeTime, teamName } from "./format.js";
import { LANGUAGE_NAMES, t, tn } from "./strings.js";

const OPEN_STATUSES = new Set(["open", "pending"]);
const URGENT = 10; // a red flag: ahead of everyone in its queue
const COUNTS_EVERY_MS = 1000; // each read scans the reach once: at most one a second per inbox

/** The views, as the server names them (hub/conversations/lists.py, View), with their labels. "open"
 * and "mine" keep the test ids of the two tabs the list had before them. */
export const VIEWS = ["open", "waiting", "mine", "team", "urgent", "snoozed", "resolved", "all"];
const VIEW_LABELS = {
  open: "list.viewOpen", waiting: "list.viewWaiting", mine: "list.filterMine", team: "list.viewTeam",
  urgent: "list.viewUrgent", snoozed: "list.viewSnoozed", resolved: "list.viewResolved", all: "list.viewAll",
};
const VIEW_TESTIDS = { open: "filter-all", mine: "filter-mine", all: "filter-everything" };
const CHANNELS = ["sms", "email", "webchat", "api"];
const STATUSES = ["open", "pending", "snoozed", "resolved"];
const FILTERS = ["channel", "team", "language", "status"];

/** What the list shows: a view and its filters ("" or absent: any). */
export function defaultQuery() {
  return { view: "open", channel: "", team: "", language: "", status: "" };
}

const time = (value) => (value ? new Date(value).getTime() : null);

/** Whether `c` belongs to `view` for `me`: as the server decides it (hub/conversations/lists.py, in_view). */
export function inView(view, c, me) {
  const active = OPEN_STATUSES.has(c.status) && !c.snoozed_until;
  const mine = c.assignee_id === me.id;
  switch (view) {
    case "open": return active;
    case "waiting": {
      const inbound = time(c.last_inbound_at);
      return active && mine && c.handler === "agent" && inbound !== null && inbound >= (time(c.last_message_at) ?? 0);
    }
    case "mine": return active && mine;
    case "team": return active && (me.team_ids || []).includes(c.team_id);
    case "urgent": return Boolean(c.urgent_since) && c.status !== "resolved";
    case "snoozed": return Boolean(c.snoozed_until) && c.status !== "resolved";
    case "resolved": return c.status === "resolved";
    default: return true;
  }
}

/** Whether `c` passes the filters of `query` (hub/conversations/lists.py, matching). */
export function matchesFilters(query, c) {
  if (query.channel && c.channel !== query.channel) return false;
  if (query.team && c.team_id !== Number(query.team)) return false;
  if (query.language) {
    const lang = (c.language || "").toLowerCase();
    if (lang !== query.language && !lang.startsWith(`${query.language}-`)) return false;
  }
  switch (query.status) {
    case "open": case "pending": return c.status === query.status && !c.snoozed_until;
    case "snoozed": return Boolean(c.snoozed_until) && c.status !== "resolved";
    case "resolved": return c.status === "resolved";
    default: return true;
  }
}

// What decides a conversation's views and filters: when a frame changes none of it, no count moves.
const COUNTED = ["status", "assignee_id", "team_id", "handler", "snoozed_until", "urgent_since", "escalation",
  "channel", "language", "last_inbound_at", "last_message_at"];

/** Whether a conversation's new state may move the counts (unknown before: it may). */
export function countsMayChange(before, after) {
  return !before || COUNTED.some((key) => before[key] !== after[key]);
}

/** Conversations known to the inbox: REST snapshots merged with stream updates. */
export class Conversations {
  constructor() {
    this.byId = new Map();
    this.unread = new Set();
  }

  /** A REST snapshot read at `lastSeq` replaces what we knew, except what the stream has moved past it. */
  load(conversations, lastSeq) {
    const next = new Map(conversations.map((c) => [c.id, c]));
    for (const [id, known] of this.byId) {
      const fresh = next.get(id);
      if (known.last_event_seq > lastSeq && (!fresh || fresh.last_event_seq < known.last_event_seq)) next.set(id, known);
    }
    this.byId = next;
  }

  /** A conversation's state (from a frame or a fetch). A state older than the one held is ignored. */
  upsert(conversation) {
    const known = this.byId.get(conversation.id);
    if (known && known.last_event_seq > conversation.last_event_seq) return false;
    this.byId.set(conversation.id, conversation);
    return true;
  }

  get(id) {
    return this.byId.get(id);
  }

  /** The conversations of the view `query` (a string: "all" or "mine", as the two tabs were) that `me`
   * may still see, newest activity first, urgent ones (red flags) first. The server decides
   * visibility the same way; this drops a row the moment a frame (say, a reassignment) takes the
   * conversation out of the agent's reach, or out of the view. */
  shown(query, me) {
    const q = typeof query === "string" ? { ...defaultQuery(), view: query === "mine" ? "mine" : "open" } : query;
    return [...this.byId.values()]
      .filter((c) => mayStillSee(me, c) && inView(q.view, c, me) && matchesFilters(q, c))
      .sort((a, b) => (b.priority >= URGENT) - (a.priority >= URGENT) || b.last_event_seq - a.last_event_seq);
  }
}

const FLOOR = 2; // hub.events.Circle: an urgent conversation's alert has reached every available agent
const EVERYONE = 3;

/** As the server's visibility rule (hub/timeline/reads.py, visible). */
export function mayStillSee(me, c) {
  if (me.role !== "agent") return true;
  return c.team_id === null || me.team_ids.includes(c.team_id) || c.assignee_id === me.id
    || (c.escalation ?? 0) >= FLOOR;
}

/** Whether `me` is alerted about this urgent conversation nobody has taken (hub/routing/urgent.py, in_circle). */
export function alertedAbout(me, c, available) {
  if (!c.urgent_since) return false;
  if (me.role !== "agent" || c.assignee_id === me.id || c.escalation >= EVERYONE) return true;
  if (!available) return false;
  return c.escalation >= FLOOR || me.team_ids.includes(c.team_id);
}

/** The list pane's DOM. Rows are keyed by conversation id and reused, so focus survives updates.
 * onFilter(query): another view or filter was chosen; onMore(): the view's next page; settings: an
 * element for the head (the notification switches). */
export class ConversationListView {
  constructor({ onFilter, onOpen, onMore = () => {}, settings = null }) {
    this.onFilter = onFilter;
    this.onOpen = onOpen;
    this.onMore = onMore;
    this.rows = new Map();
    this.query = defaultQuery();
    this.counts = null;
    this.countsTimer = null;
    this.countsAsked = 0;
    this.viewButtons = Object.fromEntries(VIEWS.map((view) => [view, this.#viewButton(view)]));
    // The two tabs the list had before its views, under the names other code and tests know them by.
    this.filterButtons = { all: this.viewButtons.open, mine: this.viewButtons.mine };
    this.selects = {
      channel: this.#select("channel", "list.filterChannel", CHANNELS.map((c) => [c, t(`channel.${c}`)])),
      team: this.#select("team", "list.filterTeam", []),
      language: this.#select("language", "list.filterLanguage", Object.entries(LANGUAGE_NAMES)),
      status: this.#select("status", "list.filterStatus", STATUSES.map((s) => [s, t(`status.${s}`)])),
    };
    this.filtersSummary = h("summary", { class: "list-filters-summary", "data-testid": "filters-toggle" }, t("list.filters"));
    this.clearButton = h("button", { type: "button", class: "button subtle small", "data-testid": "filters-clear",
      onclick: () => this.#setQuery({ ...defaultQuery(), view: this.query.view }) }, t("list.clearFilters"));
    this.filters = h("details", { class: "list-filters", "data-testid": "list-filters" },
      this.filtersSummary,
      h("div", { class: "list-filters-body" },
        FILTERS.map((name) => this.selects[name].field), this.clearButton));
    this.list = h("ul", { class: "conv-list", "data-testid": "conversation-list", "aria-labelledby": "list-heading" });
    this.notice = h("p", { class: "list-notice", "data-testid": "list-notice", role: "status" });
    this.moreButton = h("button", { type: "button", class: "button subtle small list-more", "data-testid": "list-more",
      hidden: true, onclick: () => this.onMore() }, t("list.more"));
    this.element = h("nav", { class: "list-pane", "aria-labelledby": "list-heading" },
      h("div", { class: "list-head" },
        h("h1", { id: "list-heading", class: "list-title" }, t("list.heading")),
        settings),
      h("div", { class: "views", role: "group", "aria-label": t("list.views"), "data-testid": "views" },
        VIEWS.map((view) => this.viewButtons[view])),
      this.filters,
      this.notice,
      this.list,
      this.moreButton);
  }

  #viewButton(view) {
    return h("button", {
      type: "button", class: "segment view", "data-testid": VIEW_TESTIDS[view] || `filter-${view}`,
      "data-view": view, "aria-pressed": "false",
      onclick: () => this.#setQuery({ ...this.query, view }),
    }, t(VIEW_LABELS[view]));
  }

  #select(name, labelKey, options) {
    const id = `list-filter-${name}`;
    const select = h("select", { id, class: "filter-select", "data-testid": `filter-by-${name}` });
    select.addEventListener("change", () => this.#setQuery({ ...this.query, [name]: select.value }));
    const field = h("span", { class: "filter-field" }, h("label", { for: id }, t(labelKey)), select);
    const item = { select, field };
    this.#fillOptions(item, options);
    return item;
  }

  #fillOptions({ select }, options) {
    const value = select.value;
    select.replaceChildren(h("option", { value: "" }, t("list.filterAny")),
      ...options.map(([v, label]) => h("option", { value: String(v) }, label)));
    select.value = options.some(([v]) => String(v) === value) ? value : "";
  }

  /** The clinic's teams, for the team filter. */
  setTeams(teams) {
    this.#fillOptions(this.selects.team, teams.map((team) => [team.id, teamName(team)]));
  }

  #setQuery(query) {
    this.query = query;
    this.refreshCounts();
    this.onFilter({ ...query });
  }

  /** Counts per view, read again shortly: the stream says when. Frames come in bursts, so one read
   * serves all that arrive meanwhile; under a steady flow counts still move every COUNTS_EVERY_MS. */
  refreshCounts() {
    if (this.countsTimer !== null) return;
    this.countsTimer = setTimeout(() => {
      this.countsTimer = null;
      this.#loadCounts();
    }, COUNTS_EVERY_MS);
  }

  async #loadCounts() {
    const asked = ++this.countsAsked;
    const { channel, team, language, status } = this.query;
    try {
      const data = await api.conversationCounts({ channel, team, language, status });
      if (asked === this.countsAsked) this.#renderCounts(data.counts);
    } catch {
      // the next frame or reload asks again
    }
  }

  #renderCounts(counts) {
    this.counts = counts;
    for (const view of VIEWS) {
      const button = this.viewButtons[view];
      const n = counts[view] ?? 0;
      // Shown after the label by CSS (::after), so the button's text stays its label; read with it.
      button.dataset.count = String(n);
      button.title = tn("list.countHint", n);
    }
  }

  close() {
    clearTimeout(this.countsTimer);
    this.countsTimer = null;
    this.countsAsked += 1;
  }

  /**
   * items: conversations to show in order; selectedId; filter: the query shown; meId; unread: Set of ids;
   * notice: a message instead of (or above) the rows, e.g. loading or an error; more: a next page exists.
   */
  render({ items, selectedId, filter, meId, unread, notice = "", more = false }) {
    const query = typeof filter === "string" ? { ...defaultQuery(), view: filter === "mine" ? "mine" : "open" } : filter;
    for (const [view, button] of Object.entries(this.viewButtons)) {
      button.setAttribute("aria-pressed", String(view === query.view));
    }
    for (const name of FILTERS) {
      if (this.selects[name].select.value !== (query[name] || "")) this.selects[name].select.value = query[name] || "";
    }
    const on = FILTERS.filter((name) => query[name]).length;
    this.filtersSummary.textContent = on ? tn("list.filtersOn", on) : t("list.filters");
    this.clearButton.hidden = on === 0;
    const emptyText = on ? t("list.emptyView")
      : query.view === "open" ? t("list.empty") : query.view === "mine" ? t("list.emptyMine") : t("list.emptyView");
    this.notice.textContent = notice || (items.length === 0 ? emptyText : "");
    this.notice.hidden = !this.notice.textContent;
    this.moreButton.hidden = !more;

    const keep = new Set(items.map((c) => c.id));
    for (const [id, row] of this.rows) {
      if (!keep.has(id)) {
        row.remove();
        this.rows.delete(id);
      }
    }
    const now = new Date();
    let cursor = this.list.firstElementChild;
    for (const conv of items) {
      let row = this.rows.get(conv.id);
      if (!row) {
        row = h("li", { class: "conv-row" });
        this.rows.set(conv.id, row);
      }
      this.#fill(row, conv, { selected: conv.id === selectedId, meId, unread: unread.has(conv.id), now });
      if (row !== cursor) this.list.insertBefore(row, cursor); // moves only rows out of place
      else cursor = cursor.nextElementSibling;
    }
  }

  #fill(row, conv, { selected, meId, unread, now }) {
    let link = row.firstElementChild;
    if (!link) {
      link = h("a", { class: "conv", "data-testid": "conversation-item" });
      link.addEventListener("click", (ev) => {
        if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
        ev.preventDefault();
        this.onOpen(Number(link.dataset.conversationId));
      });
      row.append(link);
    }
    link.href = `#/c/${conv.id}`;
    link.dataset.conversationId = String(conv.id);
    link.dataset.patientId = String(conv.patient_id);
    link.classList.toggle("is-unread", unread);
    if (selected) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");

    const when = conv.last_message_at || conv.opened_at;
    const assignee = conv.assignee_id === null ? t("list.unassigned")
      : conv.assignee_id === meId ? t("list.you") : conv.assignee_name || t("list.unassigned");
    replaceChildren(link,
      h("span", { class: "conv-top" },
        h("span", { class: "conv-name", "data-testid": "row-name" }, conv.patient_name),
        unread ? h("span", { class: "unread-dot", title: t("list.newActivity") },
          h("span", { class: "sr-only" }, t("list.newActivity"))) : null,
        h("time", { class: "conv-time", datetime: when, title: longTime(when) }, relativeTime(when, now))),
      h("span", { class: "conv-preview", "data-testid": "row-preview" }, conv.preview || t("list.noPreview")),
      h("span", { class: "conv-meta" },
        conv.priority >= URGENT ? h("span", { class: "badge is-urgent", "data-testid": "row-urgent" }, t("list.urgent")) : null,
        channelBadge(conv.last_inbound_channel || conv.channel, { "data-testid": "row-channel" }),
        statusBadge(conv.status),
        conv.snoozed_until && conv.status !== "resolved"
          ? h("span", { class: "badge is-snoozed", "data-testid": "row-snoozed", title: longTime(conv.snoozed_until) },
            t("list.snoozedUntil", { time: longTime(conv.snoozed_until) }))
          : null,
        conv.handler === "bot" ? h("span", { class: "badge is-bot", "data-testid": "row-bot" }, t("list.bot")) : null,
        conv.queued_at && conv.assignee_id === null
          ? h("span", { class: "badge is-waiting", "data-testid": "row-waiting", title: longTime(conv.queued_at) },
            t("list.waiting", { time: relativeTime(conv.queued_at, now) }))
          : null,
        h("span", { class: `conv-assignee${conv.assignee_id === null ? " is-unassigned" : ""}`,
          "data-testid": "row-assignee" }, assignee)));
  }
}
