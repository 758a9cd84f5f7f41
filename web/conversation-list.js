// The left pane: what the agent can pick up, newest activity first, kept current by the stream.

import { channelBadge, statusBadge } from "./badges.js";
import { h, replaceChildren } from "./dom.js";
import { longTime, relativeTime } from "./format.js";
import { t } from "./strings.js";

const OPEN_STATUSES = new Set(["open", "pending"]);
const URGENT = 10; // a red flag: ahead of everyone in its queue

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

  /** Open and pending conversations `me` may still see, for the filter ("all" or "mine"),
   * newest activity first. The server decides visibility the same way; this only drops a row
   * the moment a frame (say, a reassignment) takes the conversation out of the agent's reach.
   * Urgent ones (red flags) come first. */
  shown(filter, me) {
    return [...this.byId.values()]
      .filter((c) => OPEN_STATUSES.has(c.status) && mayStillSee(me, c) && (filter !== "mine" || c.assignee_id === me.id))
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

/** The list pane's DOM. Rows are keyed by conversation id and reused, so focus survives updates. */
export class ConversationListView {
  constructor({ onFilter, onOpen }) {
    this.onFilter = onFilter;
    this.onOpen = onOpen;
    this.rows = new Map();
    this.filterButtons = {
      all: this.#filterButton("all", t("list.filterAll")),
      mine: this.#filterButton("mine", t("list.filterMine")),
    };
    this.list = h("ul", { class: "conv-list", "data-testid": "conversation-list", "aria-labelledby": "list-heading" });
    this.notice = h("p", { class: "list-notice", "data-testid": "list-notice", role: "status" });
    this.element = h("nav", { class: "list-pane", "aria-labelledby": "list-heading" },
      h("div", { class: "list-head" },
        h("h1", { id: "list-heading", class: "list-title" }, t("list.heading")),
        h("div", { class: "segmented", role: "group", "aria-label": t("list.filter") },
          this.filterButtons.all, this.filterButtons.mine)),
      this.notice,
      this.list);
  }

  #filterButton(filter, label) {
    return h("button", {
      type: "button", class: "segment", "data-testid": `filter-${filter}`, "aria-pressed": "false",
      onclick: () => this.onFilter(filter),
    }, label);
  }

  /**
   * items: conversations to show in order; selectedId; filter; meId; unread: Set of ids;
   * notice: a message instead of (or above) the rows, e.g. loading or an error.
   */
  render({ items, selectedId, filter, meId, unread, notice = "" }) {
    for (const [key, button] of Object.entries(this.filterButtons)) {
      button.setAttribute("aria-pressed", String(key === filter));
    }
    const emptyText = filter === "mine" ? t("list.emptyMine") : t("list.empty");
    this.notice.textContent = notice || (items.length === 0 ? emptyText : "");
    this.notice.hidden = !this.notice.textContent;

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
        conv.handler === "bot" ? h("span", { class: "badge is-bot", "data-testid": "row-bot" }, t("list.bot")) : null,
        conv.queued_at && conv.assignee_id === null
          ? h("span", { class: "badge is-waiting", "data-testid": "row-waiting", title: longTime(conv.queued_at) },
            t("list.waiting", { time: relativeTime(conv.queued_at, now) }))
          : null,
        h("span", { class: `conv-assignee${conv.assignee_id === null ? " is-unassigned" : ""}`,
          "data-testid": "row-assignee" }, assignee)));
  }
}
