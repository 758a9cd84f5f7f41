// Every user-facing string of the inbox, in one place.
//
// Keys are stable names for the code; values are the English source strings, which are
// what a gettext catalog will use as msgids. Placeholders are named ({name}), and whole
// sentences stay whole: never glue translated pieces together. Plural strings are
// {one, other} objects picked with Intl.PluralRules.

export const LOCALE = "en";

const MESSAGES = {
  "app.name": "Puente",
  "app.title": "Puente inbox",
  "app.skip": "Skip to conversation",

  "login.heading": "Sign in",
  "login.intro": "Use your clinic staff account.",
  "login.login": "Login",
  "login.password": "Password",
  "login.submit": "Sign in",
  "login.submitting": "Signing in…",
  "login.wrong": "Wrong login or password.",
  "login.failed": "Could not sign in: {detail}",
  "login.expired": "Your session has expired. Please sign in again.",
  "login.signedOut": "You have signed out.",

  "top.signOut": "Sign out",
  "top.user": "{name}, {role}",
  "role.agent": "Agent",
  "role.supervisor": "Supervisor",
  "role.admin": "Admin",

  "conn.connecting": "Connecting…",
  "conn.live": "Live",
  "conn.reconnecting": "Reconnecting…",
  "conn.paused": "Paused",
  "conn.stopped": "Offline",

  "list.heading": "Conversations",
  "list.filter": "Show",
  "list.filterAll": "All open",
  "list.filterMine": "Mine",
  "list.loading": "Loading conversations…",
  "list.empty": "No open conversations. New messages will appear here.",
  "list.emptyMine": "No open conversations are assigned to you.",
  "list.unassigned": "Unassigned",
  "list.you": "You",
  "list.noPreview": "No messages yet",
  "list.newActivity": "New activity",

  "status.open": "Open",
  "status.pending": "Pending",
  "status.resolved": "Resolved",

  "channel.sms": "SMS",
  "channel.email": "Email",
  "channel.webchat": "Web chat",
  "channel.api": "API",
  "channel.voice": "Voice",
  "channel.other": "Other",

  "time.now": "now",
  "time.minutes": { one: "{n} min", other: "{n} min" },
  "time.hours": { one: "{n} h", other: "{n} h" },
  "time.yesterday": "Yesterday",

  "detail.emptyTitle": "No conversation selected",
  "detail.empty": "Pick a conversation on the left to see the patient's history across every channel.",
  "detail.back": "Conversations",
  "detail.loading": "Loading conversation…",
  "detail.failed": "Could not load this conversation: {detail}",
  "detail.patientTyping": "{name} is typing…",
  "detail.staffTyping": "{name} is typing…",

  "patient.language": "Language",
  "patient.dob": "Born",
  "patient.timeZone": "Time zone",
  "patient.contacts": "Contacts",
  "patient.unknownLanguage": "Not set",
  "contact.phone": "Phone",
  "contact.email": "Email",
  "contact.webchat": "Web chat",
  "contact.portal": "Patient portal",
  "contact.visitor": "visitor",
  "contact.visitorUnverified": "visitor, identity not verified",
  "contact.other": "Contact",
  "contact.optedOut": "opted out",
  "contact.verified": "verified",

  "conv.heading": "Conversation #{id}",
  "conv.assignedTo": "Assigned to {name}",
  "conv.unassigned": "Unassigned",
  "conv.actions": "Conversation actions",
  "conv.assignToMe": "Assign to me",
  "conv.unassign": "Unassign",
  "conv.resolve": "Resolve",
  "conv.reopen": "Reopen",

  "timeline.heading": "Timeline",
  "timeline.loadEarlier": "Load earlier",
  "timeline.loadingEarlier": "Loading…",
  "timeline.start": "Start of this patient's history",
  "timeline.empty": "No events yet.",
  "timeline.patient": "Patient",
  "timeline.bot": "Assistant",
  "timeline.system": "System",
  "timeline.staff": "Staff",
  "timeline.note": "Internal note",
  "timeline.noteHint": "Not sent to the patient",
  "timeline.assigned": "{actor} assigned the conversation to {assignee}",
  "timeline.tookOver": "{actor} took the conversation",
  "timeline.unassigned": "{actor} unassigned the conversation",
  "timeline.resolved": "{actor} resolved the conversation",
  "timeline.reopened": "{actor} reopened the conversation",
  "timeline.pending": "{actor} marked the conversation as pending",
  "timeline.handoff": "{actor} handed the conversation over",
  "timeline.handoffText": "{actor} handed the conversation over: {text}",
  "timeline.delivery": "Delivery update: {status}",
  "timeline.consentRevoked": "The patient opted out of text messages to {address}: no SMS can be sent there until they reply START. Use another channel.",
  "timeline.consentGranted": "The patient opted back in to text messages at {address}.",
  "timeline.contactVerified": "The web-chat visitor proved {address} is theirs with a one-time code.",
  "timeline.contactVerifiedMerged": "The web-chat visitor proved {address} is theirs with a one-time code; their chat joined this patient's record.",
  "timeline.otherConversation": "Conversation #{id}",
  "timeline.attachment": "Attachment: {name}",
  "timeline.attachmentType": "attachment ({type})",

  "media.fetching": "Fetching attachment…",
  "media.failed": "Attachment could not be fetched: {reason}",
  "media.failedNoReason": "Attachment could not be fetched.",
  "media.imageAlt": "Image sent by the patient",
  "media.openFull": "Open full size",
  "media.audio": "Audio sent by the patient",
  "media.video": "Video sent by the patient",
  "media.download": "Download attachment ({type})",
  "media.downloadSized": "Download attachment ({type}, {size})",
  "media.sizeBytes": "{n} bytes",
  "media.sizeKB": "{n} KB",
  "media.sizeMB": "{n} MB",

  "timeline.announceMessage": "New message from {name}: {text}",
  "timeline.announceNote": "New internal note from {name}",

  "msgstatus.queued": "Queued",
  "msgstatus.sending": "Sending",
  "msgstatus.undelivered": "Not delivered",
  "msgstatus.sent": "Sent",
  "msgstatus.delivered": "Delivered",
  "msgstatus.read": "Read",
  "msgstatus.failed": "Failed",

  "composer.label": "Message",
  "composer.modeReply": "Reply",
  "composer.modeNote": "Internal note",
  "composer.replyPlaceholder": "Write a reply to {name}…",
  "composer.notePlaceholder": "Write a note for your team. The patient will not see it.",
  "composer.channel": "Send via",
  "composer.channelOptedOut": "{channel} (opted out)",
  "composer.send": "Send reply",
  "composer.addNote": "Add note",
  "composer.sending": "Sending…",
  "composer.hint": "Ctrl+Enter to send",

  "error.network": "Cannot reach the server. Check your connection and try again.",
  "error.server": "The server answered {status}.",
  "error.reply": "Reply not sent: {detail}",
  "error.note": "Note not saved: {detail}",
  "error.assign": "Could not assign the conversation: {detail}",
  "error.status": "Could not change the status: {detail}",
  "error.list": "Could not load conversations: {detail}",
  "error.earlier": "Could not load earlier events: {detail}",
  "error.dismiss": "Dismiss",
};

// A gettext catalog (msgid -> translation) can be installed here later.
let catalog = {};

export function setCatalog(messages) {
  catalog = messages || {};
}

function fill(template, params) {
  return template.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole);
}

function lookup(key) {
  const source = MESSAGES[key];
  if (source === undefined) {
    console.warn(`puente: no string named ${key}`);
    return key;
  }
  return source;
}

/** The string `key` with its {placeholders} filled from `params`. */
export function t(key, params = {}) {
  const source = lookup(key);
  const text = typeof source === "string" ? source : source.other;
  return fill(catalog[text] ?? text, params);
}

const plurals = new Intl.PluralRules(LOCALE);

/** A plural string: picks the form for `n`, which is also available as {n}. */
export function tn(key, n, params = {}) {
  const source = lookup(key);
  const forms = typeof source === "string" ? { other: source } : source;
  const form = forms[plurals.select(n)] ?? forms.other;
  return fill(catalog[form] ?? form, { n, ...params });
}
