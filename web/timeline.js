// A patient's unified timeline: every channel and conversation, in seq order, each event once.

import { channelBadge } from "./badges.js";
import { h, safeUrl } from "./dom.js";
import { eventTime, longTime, teamNameOf } from "./format.js";
import { t, tn } from "./strings.js";

// Delivery only moves forward (the server applies the same ranks); a message shows its best.
const STATUS_RANK = { queued: 0, sending: 1, sent: 2, undelivered: 3, failed: 3, delivered: 4, read: 5 };
const MESSAGE_STATUSES = new Set(Object.keys(STATUS_RANK));
// Media the hub fetched and keeps: images shown inline, audio and video played in place.
const INLINE_IMAGES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);
const PLAYABLE = new Set(["audio/ogg", "audio/mpeg", "audio/aac", "audio/mp4", "audio/wav", "audio/webm",
  "video/mp4", "video/webm"]);
const MEDIA_FINAL = new Set(["stored", "failed"]);
// A voice note's transcript: pending, then transcribing (checked and playable), then done or failed.
const VOICE_RANK = { pending: 0, transcribing: 1, done: 2, failed: 2 };
const VOICE_REASONS = new Set(["too_big", "too_long", "undecodable", "no_audio", "missing", "engine", "crashed",
  "timeout", "interrupted"]);
// Shown where they matter (in their message's attachment, on the message itself), not as lines of their own.
const APPLIED = new Set(["media_status", "voice_note", "transcript", "delivery_status"]);

export class Timeline {
  /** context: {patientName, conversationId} used to label events. */
  constructor(context) {
    this.context = context;
    this.bySeq = new Map();
    this.seqs = []; // ascending
    this.pendingDelivery = new Map(); // message seq -> its best report, for a message not loaded yet (an older page)
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
      if (this.pendingDelivery.has(event.seq)) this.#applyDelivery(this.pendingDelivery.get(event.seq));
      if (event.kind === "delivery_status") this.#applyDelivery(event.data || {});
      if (event.kind === "media_status") this.#applyMedia(event.data || {});
      if (event.kind === "voice_note" || event.kind === "transcript") this.#applyVoice(event);
    }
    return added;
  }

  /** A delivery report updates the status on its message, forward only (a report whose message is
   * not loaded yet waits for it). */
  #applyDelivery(report) {
    const { message_seq: seq, status, error } = report;
    if (!MESSAGE_STATUSES.has(status)) return;
    const message = this.bySeq.get(seq);
    if (!message) {
      const waiting = this.pendingDelivery.get(seq);
      if (!waiting || STATUS_RANK[status] > STATUS_RANK[waiting.status]) this.pendingDelivery.set(seq, report);
      return;
    }
    this.pendingDelivery.delete(seq);
    const footer = message.querySelector("[data-testid=message-status]");
    if (!footer) return;
    if (STATUS_RANK[status] <= STATUS_RANK[footer.dataset.status]) return;
    footer.dataset.status = status;
    footer.className = `msg-status msg-status-${status}`;
    footer.textContent = statusText(status, error);
    footer.title = error || "";
  }

  /** A media item was stored or finally failed: its attachment in the message changes in place. */
  #applyMedia({ message_seq: seq, media_id: id, state, content_type: type, size, error }) {
    const message = this.bySeq.get(seq);
    const item = message?.querySelector(`[data-testid=attachment][data-media-id="${Number(id)}"]`);
    if (!item || !MEDIA_FINAL.has(state) || item.dataset.state === state) return;
    item.replaceWith(renderAttachment({
      content_type: type || item.dataset.type, size, media_id: Number(id), state, error, url: item.dataset.url,
      voice: item.attachment?.voice,
    }));
  }

  /** A voice note was checked (its length, a copy to play) or transcribed: shown in place, and a
   * player the agent is listening to keeps playing. */
  #applyVoice(event) {
    const d = event.data || {};
    const message = this.bySeq.get(d.message_seq);
    const item = message?.querySelector(`[data-testid=attachment][data-media-id="${Number(d.media_id)}"]`);
    if (!item?.attachment) return;
    const before = item.attachment.voice || { state: "pending" };
    const voice = event.kind === "transcript"
      ? { ...before, state: d.state === "done" ? "done" : "failed", text: event.text, language: d.language,
        confidence: d.confidence, low_confidence: d.low_confidence, error_code: d.reason_code, error: d.reason,
        duration_s: d.duration_s ?? before.duration_s }
      : { ...before, state: "transcribing", duration_s: d.duration_s, playable_url: d.playable_url };
    if ((VOICE_RANK[before.state] ?? 0) >= VOICE_RANK[voice.state]) return; // forward only
    item.attachment = { ...item.attachment, voice };
    const playing = item.querySelector("audio");
    const block = item.querySelector("[data-testid=voice-transcript]");
    if (playing && !playing.paused && block) {
      block.replaceWith(transcriptBlock(voice));
      return;
    }
    item.replaceWith(renderAttachment(item.attachment));
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
  const item = h("li", {
    class: `attachment attachment-${state}`, "data-testid": "attachment", "data-media-id": a.media_id,
    "data-state": state, "data-type": a.content_type, "data-url": url,
  }, ...mediaBody(a, state, url));
  item.attachment = a; // what it shows, for updates in place
  return item;
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
  if (a.voice && type.startsWith("audio/")) return voiceBody(a, url);
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

/** A voice note: a player (the hub's copy every browser plays, when the original is not such a
 * file; else the original), its length, and its transcript as it comes. */
function voiceBody(a, url) {
  const v = a.voice;
  const sources = [];
  const copy = v.playable_url ? safeUrl(v.playable_url) : null;
  if (copy) sources.push(h("source", { src: copy, type: "audio/mp4" }));
  if (PLAYABLE.has(a.content_type)) sources.push(h("source", { src: url, type: a.content_type }));
  const player = sources.length ? h("audio", { class: "attachment-audio", controls: true, preload: "metadata",
    "aria-label": t("voice.player"), "data-testid": "attachment-audio" }, ...sources) : null;
  const length = typeof v.duration_s === "number"
    ? h("span", { class: "voice-length", "data-testid": "voice-length", title: t("voice.length") },
      clock(v.duration_s))
    : null;
  return [h("div", { class: "voice-note", "data-testid": "voice-note" },
    h("div", { class: "voice-player" }, player, length),
    transcriptBlock(v)), downloadLink(a, url)];
}

function transcriptBlock(v) {
  const attrs = { class: `voice-transcript voice-${v.state}`, "data-testid": "voice-transcript", "data-state": v.state };
  if (v.state === "done") {
    return h("div", attrs,
      h("span", { class: "voice-label" }, t("voice.transcript")),
      v.low_confidence ? h("span", { class: "voice-low", "data-testid": "voice-low-confidence",
        title: t("voice.lowConfidenceHint") }, t("voice.lowConfidence")) : null,
      h("p", { class: "voice-text", "data-testid": "voice-text", lang: v.language || null },
        v.text || t("voice.noWords")));
  }
  if (v.state === "failed") {
    const reason = VOICE_REASONS.has(v.error_code) ? t(`voice.reason.${v.error_code}`) : (v.error || "");
    return h("div", attrs, h("span", { class: "voice-error", "data-testid": "voice-error", title: v.error || "" },
      t("voice.failed", { reason })));
  }
  return h("div", attrs, h("span", { class: "voice-wait" }, t("voice.transcribing")));
}

/** 75.4 -> "1:15" */
function clock(seconds) {
  const whole = Math.max(0, Math.round(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

function downloadLink(a, url) {
  const sized = a.size !== undefined && a.size !== null;
  const label = a.name // an email attachment's file name says more than its type
    ? t(sized ? "media.downloadNamedSized" : "media.downloadNamed", { name: a.name, size: sized ? sizeText(a.size) : "" })
    : sized
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
  const mail = event.channel === "email" && event.data?.email ? event.data.email : null;
  return shell(event, outbound ? "msg msg-out" : "msg msg-in",
    h("article", { class: "bubble" },
      h("header", { class: "event-head" },
        h("span", { class: "event-author", "data-testid": "event-author" }, authorName(event, context)),
        event.channel ? channelBadge(event.channel, { "data-testid": "event-channel" }) : null,
        event.data?.auto_reply ? h("span", { class: "badge badge-auto", "data-testid": "auto-reply",
          title: t("email.autoReplyHint") }, t("email.autoReply")) : null,
        otherConversationTag(event, context),
        stamp(event)),
      mail?.subject ? h("p", { class: "email-subject", "data-testid": "email-subject" },
        t("email.subject", { subject: mail.subject })) : null,
      event.text ? h("p", { class: "event-text", "data-testid": "event-text" }, event.text) : null,
      mail ? emailFooter(event, mail) : null,
      attachments(event),
      status ? h("footer", { class: `msg-status msg-status-${status}`, "data-testid": "message-status",
        "data-status": status, title: event.data?.error || "" }, statusText(status, event.data?.error)) : null));
}

function statusText(status, error) {
  return status === "failed" && error ? t("msgstatus.failedBecause", { reason: error }) : t(`msgstatus.${status}`);
}

// What the hub noted about a damaged email (hub: channels/email/mime.py), in words.
const EMAIL_DEFECTS = new Set(["no_from", "no_message_id", "broken_mime", "undecodable_text", "unknown_charset",
  "truncated", "too_many_attachments"]);

/** An email's notes (quoted history hidden, damage repaired) and its original, viewable by staff
 * only through the hub: the source as plain text, the HTML only as sanitised by the hub. */
function emailFooter(event, mail) {
  const notes = [];
  if (mail.quote_stripped) notes.push(t("email.quoteHidden"));
  if (mail.follows_conversation) notes.push(t("email.follows", { id: mail.follows_conversation }));
  for (const code of mail.defects || []) if (EMAIL_DEFECTS.has(code)) notes.push(t(`email.defect.${code}`));
  const base = `/api/email/messages/${Number(event.seq)}`;
  const link = (href, label, testid) => h("a", { href, target: "_blank", rel: "noopener noreferrer",
    class: "email-link", "data-testid": testid }, label);
  return h("div", { class: "email-meta", "data-testid": "email-meta" },
    ...notes.map((n) => h("span", { class: "email-note", "data-testid": "email-note" }, n)),
    link(`${base}/source`, t("email.viewOriginal"), "email-original"),
    mail.html ? link(`${base}/html`, t("email.viewFormatted"), "email-formatted") : null);
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
      if (data.took_urgent) return t("timeline.tookUrgent", { actor });
      if (data.automatic) return t("timeline.autoAssigned", { assignee: data.assignee_name || t("timeline.staff") });
      return data.assignee_id === null || data.assignee_id === undefined
        ? t("timeline.unassigned", { actor })
        : data.assignee_id === event.author_id && event.author_type === "agent"
          ? t("timeline.tookOver", { actor })
          : t("timeline.assigned", { actor, assignee: data.assignee_name || t("timeline.staff") });
    case "status_change":
      if (data.to === "resolved") return t("timeline.resolved", { actor });
      if (data.to === "pending") return t("timeline.pending", { actor });
      if (data.reason === "email_reply") return t("timeline.reopenedByEmail");
      return t("timeline.reopened", { actor });
    case "handoff": {
      if (data.to === "bot") return t("timeline.handedBack", { actor });
      const why = REASONS.has(data.reason) ? t(`reason.${data.reason}`) : t("reason.other");
      const team = teamNameOf(data.team_id, data.team_name) || t("timeline.noTeam");
      const line = data.urgent ? t("timeline.handoffUrgent", { team, why }) : t("timeline.handoffTo", { team, why });
      return event.text ? `${line} ${t("timeline.noteSaid", { text: event.text })}` : line;
    }
    case "urgent_alert": {
      const n = data.alerted ?? 0;
      const line = n === 0 ? t("timeline.urgentNobody")
        : data.circle >= 3 ? t("timeline.urgentEveryone", { n })
          : data.circle === 2 ? t("timeline.urgentFloor", { n }) : t("timeline.urgentTeam", { n });
      if (data.reason !== "not_taken") return line;
      const waited = Math.max(1, Math.round((data.waiting_s ?? 0) / 60));
      return `${t("timeline.urgentNotTaken", { time: tn("time.minutes", waited) })} ${line}`;
    }
    case "transfer": {
      const line = data.assignee_name
        ? t("timeline.transferToAgent", { actor, assignee: data.assignee_name, team: teamNameOf(data.team_id, data.team_name) || t("timeline.noTeam") })
        : t("timeline.transferToTeam", { actor, team: teamNameOf(data.team_id, data.team_name) || t("timeline.noTeam") });
      return event.text ? `${line} ${t("timeline.noteSaid", { text: event.text })}` : line;
    }
    case "identity_verified":
      if (data.dropped === "expired") return t("timeline.identityExpired");
      if (data.dropped) return t("timeline.identityOtherSender");
      return t("timeline.identityVerified", { to: data.code_to || "" });
    case "consent_change":
      return data.granted
        ? t("timeline.consentGranted", { address: data.address || "" })
        : t("timeline.consentRevoked", { address: data.address || "" });
    case "contact_verified":
      return data.merged_from
        ? t("timeline.contactVerifiedMerged", { address: data.address || "" })
        : t("timeline.contactVerified", { address: data.address || "" });
    case "profile_change":
      return t("timeline.profileChanged", { actor });
    case "patient_merged":
      return t("timeline.patientMerged", { actor, merged: data.source_id, kept: data.target_id });
    case "patient_unmerged":
      return t("timeline.patientUnmerged", { actor, merged: data.source_id, kept: data.target_id });
    case "snoozed":
      return t("timeline.snoozed", { actor, time: longTime(data.until) });
    case "snooze_ended":
      if (data.reason === "staff") return t("timeline.snoozeEnded", { actor });
      return data.reason === "patient_wrote" ? t("timeline.snoozePatientWrote") : t("timeline.snoozeWoke");
    case "delivery_status": {
      const status = MESSAGE_STATUSES.has(data.status) ? t(`msgstatus.${data.status}`) : String(data.status ?? "");
      if (data.error && (data.status === "failed" || data.status === "undelivered")) {
        return t("timeline.deliveryFailed", { status, reason: data.error });
      }
      return t("timeline.delivery", { status });
    }
    default:
      return event.text || event.kind;
  }
}

// Why a conversation went to people: the bot's reasons and the requests it recognised.
const REASONS = new Set(["red_flag", "asked_for_a_person", "not_understood", "attachment", "cannot_verify",
  "verification_failed", "verified", "appointment_request", "appointment_reschedule", "appointment_cancel", "billing",
  "refill", "results", "new_patient", "voice_unclear"]);

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
  if (APPLIED.has(event.kind)) { // shown where it matters: in its message's attachment, or its status
    const node = shell(event, `system system-${event.kind.replace("_", "-")}`);
    node.hidden = true;
    return node;
  }
  return renderSystem(event, context);
}
