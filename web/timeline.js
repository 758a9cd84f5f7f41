// A patient's unified timeline: every channel and conversation, in seq order, each event once.

import { channelBadge } from "./badges.js";
import { h, safeUrl } from "./dom.js";
import { eventTime, longTime } from "./format.js";
import { t } from "./strings.js";

// Delivery only moves forward (the server applies the same ranks); a message shows its best.
const STATUS_RANK = { queued: 0, sending: 1, sent: 2, undelivered: 3, failed: 3, delivered: 4, read: 5 };
const MESSAGE_STATUSES = new Set(Object.keys(STATUS_RANK));
// Media the hub fetched and keeps: images shown inline, audio and video played in place.
const INLINE_IMAGES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);
const PLAYABLE = new Set(["audio/ogg", "audio/mpeg", "audio/aac", "audio/mp4", "audio/wav", "audio/webm",
  "video/mp4", "video/webm"]);
const MEDIA_FINAL = new Set(["stored", "failed"]);

export class Timeline {
  /** context: {patientName, conversationId} used to label events. */
  constructor(context) {
    this.context = context;
    this.bySeq = new Map();
    this.seqs = []; // ascending
    this.element = h("ol", { class: "timeline", "data-testid": "timeline", "aria-label": t("timeline.heading") });
  }

  get oldestSeq() {
    return this.seqs.length ? this.seqs[0] : null;
  }

  get newestSeq() {
    return this.seqs.length ? this.seqs[this.seqs.length - 1] : null;
  }

  has(seq) {
    return this.bySeq.has(seq);
  }

  /** Adds events not already shown, each at its place in seq order. Returns how many were new. */
  add(events) {
    let added = 0;
    for (const event of events) {
      if (this.bySeq.has(event.seq)) continue;
      const node = renderEvent(event, this.context);
      const at = this.#insertionIndex(event.seq);
      const before = at < this.seqs.length ? this.bySeq.get(this.seqs[at]) : null;
      this.element.insertBefore(node, before);
      this.seqs.splice(at, 0, event.seq);
      this.bySeq.set(event.seq, node);
      added += 1;
      if (event.kind === "delivery_status") this.#applyDelivery(event.data || {});
      if (event.kind === "media_status") this.#applyMedia(event.data || {});
    }
    return added;
  }

  /** A delivery report updates its message's status line, forward only. */
  #applyDelivery({ message_seq: seq, status }) {
    const message = this.bySeq.get(seq);
    const footer = message?.querySelector("[data-testid=message-status]");
    if (!footer || !MESSAGE_STATUSES.has(status)) return;
    if (STATUS_RANK[status] <= STATUS_RANK[footer.dataset.status]) return;
    footer.dataset.status = status;
    footer.className = `msg-status msg-status-${status}`;
    footer.textContent = t(`msgstatus.${status}`);
  }

  /** A media item was stored or finally failed: its attachment in the message changes in place. */
  #applyMedia({ message_seq: seq, media_id: id, state, content_type: type, size, error }) {
    const message = this.bySeq.get(seq);
    const item = message?.querySelector(`[data-testid=attachment][data-media-id="${Number(id)}"]`);
    if (!item || !MEDIA_FINAL.has(state) || item.dataset.state === state) return;
    item.replaceWith(renderAttachment({
      content_type: type || item.dataset.type, size, media_id: Number(id), state, error, url: item.dataset.url,
    }));
  }

  #insertionIndex(seq) {
    let lo = 0;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.seqs[mid] < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function authorName(event, context) {
  switch (event.author_type) {
    case "patient": return context.patientName || t("timeline.patient");
    case "agent": return event.author_name || t("timeline.staff");
    case "bot": return t("timeline.bot");
    default: return t("timeline.system");
  }
}

function stamp(event) {
  return h("time", { class: "event-time", datetime: event.created_at, title: longTime(event.created_at) },
    eventTime(event.created_at));
}

function otherConversationTag(event, context) {
  if (event.conversation_id === context.conversationId) return null;
  return h("span", { class: "conv-tag" }, t("timeline.otherConversation", { id: event.conversation_id }));
}

function attachments(event) {
  if (!event.attachments || event.attachments.length === 0) return null;
  return h("ul", { class: "attachments" }, event.attachments.map(renderAttachment));
}

function renderAttachment(a) {
  if (!a.media_id) { // a link as the sender gave it (an integration's)
    const label = a.name ? t("timeline.attachment", { name: a.name }) : t("timeline.attachmentType", { type: a.content_type });
    const href = a.url ? safeUrl(a.url) : null;
    return h("li", {}, href ? h("a", { href, target: "_blank", rel: "noopener noreferrer" }, label) : label);
  }
  const state = MEDIA_FINAL.has(a.state) ? a.state : "pending";
  const url = safeUrl(a.url || `/api/media/${a.media_id}`);
  return h("li", {
    class: `attachment attachment-${state}`, "data-testid": "attachment", "data-media-id": a.media_id,
    "data-state": state, "data-type": a.content_type, "data-url": url,
  }, ...mediaBody(a, state, url));
}

function mediaBody(a, state, url) {
  if (state === "pending") {
    return [h("span", { class: "attachment-note", "data-testid": "attachment-note" }, t("media.fetching"))];
  }
  if (state === "failed" || !url) {
    return [h("span", { class: "attachment-note attachment-error", "data-testid": "attachment-note" },
      a.error ? t("media.failed", { reason: a.error }) : t("media.failedNoReason"))];
  }
  const type = a.content_type || "";
  if (INLINE_IMAGES.has(type)) {
    const link = h("a", { href: url, target: "_blank", rel: "noopener noreferrer", class: "attachment-thumb",
      title: t("media.openFull") });
    const img = h("img", { src: url, alt: t("media.imageAlt"), loading: "lazy", "data-testid": "attachment-image",
      onerror: () => link.replaceWith(downloadLink(a, url)) });
    link.append(img);
    return [link];
  }
  if (PLAYABLE.has(type)) {
    const video = type.startsWith("video/");
    return [h(video ? "video" : "audio", {
      class: video ? "attachment-video" : "attachment-audio", controls: true, preload: "metadata", src: url,
      "aria-label": t(video ? "media.video" : "media.audio"),
      "data-testid": video ? "attachment-video" : "attachment-audio",
    }), downloadLink(a, url)];
  }
  return [downloadLink(a, url)];
}

function downloadLink(a, url) {
  const label = a.size !== undefined && a.size !== null
    ? t("media.downloadSized", { type: a.content_type, size: sizeText(a.size) })
    : t("media.download", { type: a.content_type });
  return h("a", { href: url, download: "", class: "attachment-download", "data-testid": "attachment-download" }, label);
}

function sizeText(n) {
  if (n >= 1024 * 1024) return t("media.sizeMB", { n: (n / (1024 * 1024)).toFixed(1) });
  if (n >= 1024) return t("media.sizeKB", { n: Math.round(n / 1024) });
  return t("media.sizeBytes", { n });
}

function shell(event, className, ...children) {
  return h("li", {
    class: `event ${className}`, "data-testid": "timeline-event", "data-seq": event.seq, "data-kind": event.kind,
    "data-conversation-id": event.conversation_id,
  }, ...children);
}

function renderMessage(event, context) {
  const outbound = event.kind === "message_out";
  const status = outbound && MESSAGE_STATUSES.has(event.data?.status) ? event.data.status : null;
  return shell(event, outbound ? "msg msg-out" : "msg msg-in",
    h("article", { class: "bubble" },
      h("header", { class: "event-head" },
        h("span", { class: "event-author", "data-testid": "event-author" }, authorName(event, context)),
        event.channel ? channelBadge(event.channel, { "data-testid": "event-channel" }) : null,
        otherConversationTag(event, context),
        stamp(event)),
      event.text ? h("p", { class: "event-text", "data-testid": "event-text" }, event.text) : null,
      attachments(event),
      status ? h("footer", { class: `msg-status msg-status-${status}`, "data-testid": "message-status",
        "data-status": status }, t(`msgstatus.${status}`)) : null));
}

function renderNote(event, context) {
  return shell(event, "note",
    h("article", { class: "note-card", "aria-label": t("timeline.note") },
      h("header", { class: "event-head" },
        h("span", { class: "note-label" }, t("timeline.note")),
        h("span", { class: "event-author", "data-testid": "event-author" }, authorName(event, context)),
        otherConversationTag(event, context),
        stamp(event)),
      h("p", { class: "event-text", "data-testid": "event-text" }, event.text || ""),
      h("footer", { class: "note-hint" }, t("timeline.noteHint"))));
}

function systemText(event, context) {
  const actor = authorName(event, context);
  const data = event.data || {};
  switch (event.kind) {
    case "assignment":
      return data.assignee_id === null || data.assignee_id === undefined
        ? t("timeline.unassigned", { actor })
        : data.assignee_id === event.author_id && event.author_type === "agent"
          ? t("timeline.tookOver", { actor })
          : t("timeline.assigned", { actor, assignee: data.assignee_name || t("timeline.staff") });
    case "status_change":
      if (data.to === "resolved") return t("timeline.resolved", { actor });
      if (data.to === "pending") return t("timeline.pending", { actor });
      return t("timeline.reopened", { actor });
    case "handoff":
      return event.text ? t("timeline.handoffText", { actor, text: event.text }) : t("timeline.handoff", { actor });
    case "consent_change":
      return data.granted
        ? t("timeline.consentGranted", { address: data.address || "" })
        : t("timeline.consentRevoked", { address: data.address || "" });
    case "contact_verified":
      return data.merged_from
        ? t("timeline.contactVerifiedMerged", { address: data.address || "" })
        : t("timeline.contactVerified", { address: data.address || "" });
    case "delivery_status": {
      const status = MESSAGE_STATUSES.has(data.status) ? t(`msgstatus.${data.status}`) : String(data.status ?? "");
      return t("timeline.delivery", { status });
    }
    default:
      return event.text || event.kind;
  }
}

function renderSystem(event, context) {
  return shell(event, `system system-${event.kind.replace("_", "-")}`,
    h("p", { class: "system-line" },
      h("span", { class: "system-text", "data-testid": "event-text" }, systemText(event, context)),
      otherConversationTag(event, context),
      stamp(event)));
}

export function renderEvent(event, context) {
  if (event.kind === "message_in" || event.kind === "message_out") return renderMessage(event, context);
  if (event.kind === "note") return renderNote(event, context);
  if (event.kind === "media_status") { // shown where it matters: in its message's attachment
    const node = shell(event, "system system-media-status");
    node.hidden = true;
    return node;
  }
  return renderSystem(event, context);
}
