// Every user-facing string of the inbox, in one place, and the language it is shown in.
//
// Keys are stable names for the code; values are the English source strings, marked with _()
// so that babel's JavaScript extractor puts them in the `web` gettext domain
// (locales/web.pot, locales/{en,es}/LC_MESSAGES/web.po; `make catalogs`). The hub serves a
// language's catalog (GET /api/i18n/web?lang=es, English msgid -> translation) and t() looks
// the English source up in it. Placeholders are named ({name}) and filled after translation,
// and whole sentences stay whole: never glue translated pieces together. A plural is an
// {one, other} pair of marked messages, picked with Intl.PluralRules in the current language.

/** Marks a message for extraction (babel looks for `_("...")`); the catalog translates it in t(). */
function _(message) {
  return message;
}

/** The same, for a message whose English is also another message's ("Open" the action, "Open" the
 * status): a gettext context tells them apart, so each language can say each its own way. */
function _p(context, message) {
  return { context, message };
}

export const SUPPORTED = ["en", "es"];
export const DEFAULT_LANGUAGE = "en";

/** Each language by its own name, as the language switcher offers it: never translated. */
export const LANGUAGE_NAMES = { en: "English", es: "Español" };

/** The language the inbox speaks now (a live binding: read it when you need it, do not copy it
 * at module load). Dates and numbers follow it too. */
export let LOCALE = DEFAULT_LANGUAGE;

const MESSAGES = {
  "app.name": _("Puente"),
  "app.title": _("Puente inbox"),
  "app.skip": _("Skip to conversation"),

  "login.heading": _("Sign in"),
  "login.intro": _("Use your clinic staff account."),
  "login.login": _("Login"),
  "login.password": _("Password"),
  "login.submit": _("Sign in"),
  "login.submitting": _("Signing in…"),
  "login.wrong": _("Wrong login or password."),
  "login.failed": _("Could not sign in: {detail}"),
  "login.expired": _("Your session has expired. Please sign in again."),
  "login.signedOut": _("You have signed out."),

  "top.signOut": _("Sign out"),
  "top.language": _("Language"),
  "top.languageFailed": _("Could not change the language: {detail}"),
  "top.user": _("{name}, {role}"),
  "top.sections": _("Sections"),
  "top.inbox": _("Inbox"),
  "top.templates": _("Templates"),
  "top.redFlags": _("Red flags"),
  "top.available": _("Available"),
  "top.away": _("Away"),
  "top.availableHint": _("Conversations handed to people can come to you while this inbox is open. Select to stop."),
  "top.awayHint": _("No conversations are routed to you. Select when you are ready to take them."),

  "alerts.label": _("Alerts"),
  "alerts.open": _p("alert action", "Open"),
  "alerts.dismiss": _("Dismiss"),
  "alerts.noTeam": _("no team"),
  "alerts.handoff": _("{name} needs a person ({team})."),
  "alerts.urgent": _("Urgent: {name} may have an emergency ({team})."),
  "alerts.urgentWaiting": _("Nobody has taken it yet. Waiting: {time}."),
  "alerts.urgentAssigned": _("Assigned to {assignee}, not taken yet. Waiting: {time}."),
  "alerts.take": _("I'll take it"),
  "alerts.hide": _("Hide until the next alert"),
  "alerts.takeFailed": _("Could not take it: {detail}"),
  "alerts.assignedToYou": _("{name} was assigned to you."),
  "role.agent": _("Agent"),
  "role.supervisor": _("Supervisor"),
  "role.admin": _("Admin"),

  "conn.connecting": _("Connecting…"),
  "conn.live": _("Live"),
  "conn.reconnecting": _("Reconnecting…"),
  "conn.paused": _("Paused"),
  "conn.stopped": _("Offline"),

  "list.heading": _("Conversations"),
  "list.filter": _("Show"),
  "list.filterAll": _("All open"),
  "list.filterMine": _("Mine"),
  "list.loading": _("Loading conversations…"),
  "list.empty": _("No open conversations. New messages will appear here."),
  "list.emptyMine": _("No open conversations are assigned to you."),
  "list.unassigned": _("Unassigned"),
  "list.you": _("You"),
  "list.noPreview": _("No messages yet"),
  "list.newActivity": _("New activity"),
  "list.urgent": _("Urgent"),
  "list.bot": _("Assistant"),
  "list.waiting": _("Waiting {time}"),

  "status.open": _p("conversation status", "Open"),
  "status.pending": _("Pending"),
  "status.resolved": _("Resolved"),

  "channel.sms": _("SMS"),
  "channel.email": _("Email"),
  "channel.webchat": _("Web chat"),
  "channel.api": _("API"),
  "channel.voice": _("Voice"),
  "channel.other": _("Other"),

  "time.now": _("now"),
  "time.minutes": { one: _("{n} min"), other: _("{n} min") },
  "time.hours": { one: _("{n} h"), other: _("{n} h") },
  "time.yesterday": _("Yesterday"),

  "detail.emptyTitle": _("No conversation selected"),
  "detail.empty": _("Pick a conversation on the left to see the patient's history across every channel."),
  "detail.back": _("Conversations"),
  "detail.loading": _("Loading conversation…"),
  "detail.failed": _("Could not load this conversation: {detail}"),
  "detail.patientTyping": _("{name} is typing…"),
  "detail.staffTyping": _("{name} is typing…"),

  "patient.language": _("Language"),
  "patient.dob": _("Born"),
  "patient.timeZone": _("Time zone"),
  "patient.contacts": _("Contacts"),
  "patient.unknownLanguage": _("Not set"),
  "contact.phone": _("Phone"),
  "contact.email": _("Email"),
  "contact.webchat": _("Web chat"),
  "contact.portal": _("Patient portal"),
  "contact.visitor": _("visitor"),
  "contact.visitorUnverified": _("visitor, identity not verified"),
  "contact.other": _("Contact"),
  "contact.optedOut": _("opted out"),
  "contact.verified": _("verified"),

  "conv.heading": _("Conversation #{id}"),
  "conv.assignedTo": _("Assigned to {name}"),
  "conv.unassigned": _("Unassigned"),
  "conv.actions": _("Conversation actions"),
  "conv.assignToMe": _("Assign to me"),
  "conv.unassign": _("Unassign"),
  "conv.resolve": _("Resolve"),
  "conv.reopen": _("Reopen"),
  "conv.takeOver": _("Take over"),
  "conv.handBack": _("Hand back to assistant"),
  "conv.transfer": _("Transfer"),
  "conv.transferTeam": _("Team"),
  "conv.transferAgent": _("Agent"),
  "conv.transferAnyone": _("Anyone available in the team"),
  "conv.memberAvailable": _("{name} (available)"),
  "conv.transferNote": _("Note for them (optional)"),
  "conv.transferSubmit": _("Transfer"),
  "conv.urgent": _("Urgent"),
  "conv.withAssistant": _("With the assistant"),
  "conv.verified": _("Identity verified"),
  "conv.verifiedHint": _("The assistant checked the date of birth and a one-time code."),

  "timeline.heading": _("Timeline"),
  "timeline.loadEarlier": _("Load earlier"),
  "timeline.loadingEarlier": _("Loading…"),
  "timeline.start": _("Start of this patient's history"),
  "timeline.empty": _("No events yet."),
  "timeline.patient": _("Patient"),
  "timeline.bot": _("Assistant"),
  "timeline.system": _("System"),
  "timeline.staff": _("Staff"),
  "timeline.note": _("Internal note"),
  "timeline.noteHint": _("Not sent to the patient"),
  "timeline.assigned": _("{actor} assigned the conversation to {assignee}"),
  "timeline.tookOver": _("{actor} took the conversation"),
  "timeline.unassigned": _("{actor} unassigned the conversation"),
  "timeline.resolved": _("{actor} resolved the conversation"),
  "timeline.reopened": _("{actor} reopened the conversation"),
  "timeline.pending": _("{actor} marked the conversation as pending"),
  "timeline.delivery": _("Delivery update: {status}"),
  "timeline.deliveryFailed": _("Delivery update: {status}. {reason}"),
  "timeline.reopenedByEmail": _("The patient replied by email: the conversation was reopened"),
  "timeline.consentRevoked": _("The patient opted out of text messages to {address}: no SMS can be sent there until they reply START. Use another channel."),
  "timeline.consentGranted": _("The patient opted back in to text messages at {address}."),
  "timeline.contactVerified": _("The web-chat visitor proved {address} is theirs with a one-time code."),
  "timeline.contactVerifiedMerged": _("The web-chat visitor proved {address} is theirs with a one-time code; their chat joined this patient's record."),
  "timeline.otherConversation": _("Conversation #{id}"),
  "timeline.attachment": _("Attachment: {name}"),
  "timeline.attachmentType": _("attachment ({type})"),

  "media.fetching": _("Fetching attachment…"),
  "media.failed": _("Attachment could not be fetched: {reason}"),
  "media.failedNoReason": _("Attachment could not be fetched."),
  "media.imageAlt": _("Image sent by the patient"),
  "media.openFull": _("Open full size"),
  "media.audio": _("Audio sent by the patient"),
  "media.video": _("Video sent by the patient"),
  "media.download": _("Download attachment ({type})"),
  "media.downloadSized": _("Download attachment ({type}, {size})"),
  "media.downloadNamed": _("Download {name}"),
  "media.downloadNamedSized": _("Download {name} ({size})"),
  "media.sizeBytes": _("{n} bytes"),
  "media.sizeKB": _("{n} KB"),
  "media.sizeMB": _("{n} MB"),

  "voice.player": _("Voice note from the patient"),
  "voice.length": _("Length of the recording"),
  "voice.transcribing": _("Transcribing…"),
  "voice.transcript": _("Automatic transcript"),
  "voice.lowConfidence": _("Low confidence"),
  "voice.lowConfidenceHint": _("The transcription engine is unsure of these words: listen to the recording before acting on it."),
  "voice.noWords": _("No words were recognised. Listen to the recording."),
  "voice.failed": _("Transcription failed: {reason} Listen to the recording."),
  "voice.reason.too_big": _("the recording is larger than the hub transcribes."),
  "voice.reason.too_long": _("the recording is longer than the hub transcribes."),
  "voice.reason.undecodable": _("the recording could not be decoded: it is damaged or not audio."),
  "voice.reason.no_audio": _("the file holds no sound."),
  "voice.reason.missing": _("the recording's file is missing from the hub's storage."),
  "voice.reason.engine": _("the transcription engine failed."),
  "voice.reason.crashed": _("the audio decoder stopped unexpectedly."),
  "voice.reason.timeout": _("it took too long."),
  "voice.reason.interrupted": _("it was interrupted too many times."),

  "timeline.announceMessage": _("New message from {name}: {text}"),
  "timeline.announceNote": _("New internal note from {name}"),

  "msgstatus.queued": _("Queued"),
  "msgstatus.sending": _("Sending"),
  "msgstatus.undelivered": _("Not delivered"),
  "msgstatus.sent": _("Sent"),
  "msgstatus.delivered": _("Delivered"),
  "msgstatus.read": _("Read"),
  "msgstatus.failed": _("Failed"),
  "msgstatus.failedBecause": _("Failed: {reason}"),

  "email.subject": _("Subject: {subject}"),
  "email.autoReply": _("Auto-reply"),
  "email.autoReplyHint": _("An automatic answer (out of office, vacation): the assistant never replies to it."),
  "email.quoteHidden": _("Quoted earlier messages and the signature are hidden."),
  "email.follows": _("Follows conversation #{id}, which was resolved."),
  "email.viewOriginal": _("View original"),
  "email.viewFormatted": _("View formatted"),
  "email.defect.no_from": _("No sender line: the address the mail server gave is shown."),
  "email.defect.no_message_id": _("The email had no Message-ID."),
  "email.defect.broken_mime": _("The email was damaged: what could be read is shown."),
  "email.defect.undecodable_text": _("Some characters could not be read and were replaced."),
  "email.defect.unknown_charset": _("The email named an unknown character set: it was read as UTF-8."),
  "email.defect.truncated": _("The email is longer than shown: view the original for all of it."),
  "email.defect.too_many_attachments": _("The email had more attachments than are kept."),

  "composer.label": _("Message"),
  "composer.modeReply": _("Reply"),
  "composer.modeNote": _("Internal note"),
  "composer.replyPlaceholder": _("Write a reply to {name}…"),
  "composer.notePlaceholder": _("Write a note for your team. The patient will not see it."),
  "composer.channel": _("Send via"),
  "composer.channelOptedOut": _("{channel} (opted out)"),
  "composer.send": _("Send reply"),
  "composer.addNote": _("Add note"),
  "composer.sending": _("Sending…"),
  "composer.hint": _("Ctrl+Enter to send"),
  "composer.template": _("Insert template"),
  "composer.templateSearch": _("Search templates"),
  "composer.templateLoading": _("Loading templates…"),
  "composer.templateNone": _("No published template matches."),
  "composer.templateFailed": _("Could not insert the template: {detail}"),
  "composer.templateNoTranslation": _("This template has no {language} version, so it was inserted in {used}. Translate it before sending."),
  "composer.templateFillIn": _("Fill in before sending: {fields}."),
  "composer.fillInFirst": _("Replace {fields} with the real details before sending."),
  "composer.plainSuggestion": _("Plain words: “{term}” → “{plain}”"),
  "composer.plainUse": _("Use them"),

  "error.network": _("Cannot reach the server. Check your connection and try again."),
  "error.server": _("The server answered {status}."),
  "error.reply": _("Reply not sent: {detail}"),
  "error.note": _("Note not saved: {detail}"),
  "error.assign": _("Could not assign the conversation: {detail}"),
  "error.status": _("Could not change the status: {detail}"),
  "error.transfer": _("Could not transfer the conversation: {detail}"),
  "error.handBack": _("Could not hand the conversation back: {detail}"),
  "error.list": _("Could not load conversations: {detail}"),
  "error.earlier": _("Could not load earlier events: {detail}"),
  "error.dismiss": _("Dismiss"),

  "tpl.heading": _("Templates"),
  "tpl.new": _("New template"),
  "tpl.key": _("Key"),
  "tpl.keyHint": _("Lower-case letters, digits and _ (for example flu_shots). It cannot change later."),
  "tpl.purpose": _("What it is for"),
  "tpl.create": _("Create draft"),
  "tpl.pick": _("Pick a template on the left, or make a new one."),
  "tpl.failed": _("Could not load the templates: {detail}"),
  "tpl.publishedN": _("Published v{n}"),
  "tpl.draftN": _("Draft v{n}"),
  "tpl.statePublished": _("Published: version {n}, by {who}, {when}"),
  "tpl.stateDraft": _("Draft: version {n}, last edited by {who}, {when}"),
  "tpl.neverPublished": _("Not published yet"),
  "tpl.system": _("Puente (starter set)"),
  "tpl.channels": _("Channels"),
  "tpl.addChannel": _("+ {channel}"),
  "tpl.insertPlaceholder": _("Insert a placeholder"),
  "tpl.sample": _("Sample: {sample}"),
  "tpl.missing": _("Missing"),
  "tpl.subject": _("Subject"),
  "tpl.subjectIn": _("Subject in {language}"),
  "tpl.textIn": _("Text in {language}"),
  "tpl.preview": _("Preview with sample data"),
  "tpl.noPreview": _("The preview shows here once the text is complete and valid."),
  "tpl.smsInfo": _("Text message: {segments} segment(s), {encoding}, {units} characters"),
  "tpl.readability": _("Readability: {label} ({score})"),
  "tpl.suggestion": _("Plain words: “{term}” → “{plain}”"),
  "tpl.usePlain": _("Use them"),
  "tpl.checkFailed": _("Could not check the text: {detail}"),
  "tpl.problemsElsewhere": _("Other channels need fixing too: {channels}."),
  "tpl.note": _("Note about this change"),
  "tpl.notePlaceholder": _("Note about this change (optional)"),
  "tpl.saveDraft": _("Save draft"),
  "tpl.publish": _("Publish"),
  "tpl.fixFirst": _("Fix what is marked first: every language must be complete and valid."),
  "tpl.discard": _("Discard draft"),
  "tpl.saved": _("Draft version {n} saved."),
  "tpl.published": _("Version {n} is published: agents and the assistant use it from now on."),
  "tpl.discarded": _("The draft was discarded."),
  "tpl.restored": _("Version {n} was copied into draft {draft}: review it, then publish."),
  "tpl.saveFailed": _("Could not save the draft: {detail}"),
  "tpl.publishFailed": _("Could not publish: {detail}"),
  "tpl.history": _("History"),
  "tpl.versionN": _("Version {n}"),
  "tpl.publishedBy": _("published by {who}, {when}"),
  "tpl.writtenBy": _("written by {who}, {when}"),
  "tpl.restoredFrom": _("restored from version {n}"),
  "tpl.restore": _("Restore"),
  "tpl.state.draft": _("Draft"),
  "tpl.state.published": _("Published"),
  "tpl.state.retired": _("Earlier"),
  "tpl.state.discarded": _("Discarded"),

  "rf.heading": _("Red flags"),
  "rf.intro": _("When a patient's message or voice note has one of these phrases, the assistant answers at once with the emergency numbers (911, or 988 for suicide and self-harm) in the patient's language, and the conversation goes to people ahead of everyone else, with supervisors alerted."),
  "rf.negation": _("Phrases are found in either language, in any case, with or without accents and with small typos. “No chest pain” raises the flag too: a false alarm costs a look, a miss can cost a life."),
  "rf.readOnly": _("Only administrators can change this list."),
  "rf.loading": _("Loading the red-flag list…"),
  "rf.failed": _("Could not load the red-flag list: {detail}"),
  "rf.search": _("Search phrases"),
  "rf.showInactive": _("Show deactivated phrases"),
  "rf.count": { one: _("{n} phrase in force"), other: _("{n} phrases in force") },
  "rf.addHeading": _("Add a phrase"),
  "rf.phrase": _("Words to look for"),
  "rf.phraseHint": _("As patients write them, for example “me duele el pecho”. Short phrases catch more ways of saying it."),
  "rf.language": _("Language"),
  "rf.category": _("Category"),
  "rf.add": _("Add"),
  "rf.added": _("“{phrase}” was added: the assistant looks for it from now on."),
  "rf.call": _("Call {numbers}"),
  "rf.none": _("No phrase matches."),
  "rf.addedBy": _("Added by {who}, {when}"),
  "rf.starting": _("Starting list"),
  "rf.deactivatedBy": _("Deactivated by {who}, {when}"),
  "rf.deactivated": _("Deactivated"),
  "rf.deactivate": _("Deactivate"),
  "rf.reactivate": _("Reactivate"),
  "rf.deactivatedNotice": _("“{phrase}” was deactivated: the assistant no longer looks for it. It stays listed for the record."),
  "rf.reactivated": _("“{phrase}” is in force again."),
  "rf.changeFailed": _("Could not change the list: {detail}"),

  "timeline.autoAssigned": _("Assigned to {assignee} automatically"),
  "timeline.handedBack": _("{actor} handed the conversation back to the assistant"),
  "timeline.handoffTo": _("Handed to people: {team}. {why}"),
  "timeline.handoffUrgent": _("Urgent, to {team}: {why}"),
  "timeline.urgentTeam": _("Urgent alert to the emergency team and supervisors ({n} signed in)."),
  "timeline.urgentFloor": _("Urgent alert to supervisors and every available agent ({n} signed in)."),
  "timeline.urgentEveryone": _("Urgent alert to everyone signed in ({n})."),
  "timeline.urgentNobody": _("Urgent, but nobody is signed in to alert: the first person who signs in will be."),
  "timeline.urgentNotTaken": _("Not taken after {time}."),
  "timeline.tookUrgent": _("{actor} took the urgent conversation"),
  "timeline.noTeam": _("no team"),
  "timeline.noteSaid": _("Note: {text}"),
  "timeline.transferToTeam": _("{actor} transferred the conversation to {team}"),
  "timeline.transferToAgent": _("{actor} transferred the conversation to {assignee} ({team})"),
  "timeline.identityVerified": _("The assistant verified the patient's identity (date of birth and a code sent to {to})"),
  "timeline.identityExpired": _("The identity check has expired: it holds for an hour."),
  "timeline.identityOtherSender": _("The identity check no longer applies: this message came from another address or channel."),
  "reason.red_flag": _("The message may describe an emergency."),
  "reason.asked_for_a_person": _("The patient asked for a person."),
  "reason.not_understood": _("The assistant did not understand twice."),
  "reason.attachment": _("The patient sent a file or a photo."),
  "reason.voice_unclear": _("The voice note could not be understood reliably."),
  "reason.cannot_verify": _("There is nothing on file to verify the patient with."),
  "reason.verification_failed": _("The patient's identity could not be verified."),
  "reason.verified": _("The patient's identity is verified."),
  "reason.appointment_request": _("Wants an appointment."),
  "reason.appointment_reschedule": _("Wants to change an appointment."),
  "reason.appointment_cancel": _("Wants to cancel an appointment."),
  "reason.billing": _("Has a question about a bill."),
  "reason.refill": _("Needs a prescription refill."),
  "reason.results": _("Asks about test results."),
  "reason.new_patient": _("Wants to become a patient."),
  "reason.other": _("A person is needed."),

  "top.staff": _("Staff"),
  "top.teams": _("Teams"),
  "top.audit": _("Audit"),
  "top.ehr": _("EHR link"),
  "top.breakGlass": _("Break-glass"),
  "top.account": _("Account"),
  "admin.notAllowedHeading": _("Not available"),
  "admin.notAllowed": _("This page is for administrators."),
  "login.haveCode": _("Have a reset code?"),
  "login.noAdmin": _("This hub has no administrator yet, so nobody can sign in. On the server, run: puente create-admin"),
  "login.codeHeading": _("Enter your code"),
  "login.codeIntro": _("Type the 6-digit code your authenticator app shows, or one of your recovery codes."),
  "login.code": _("Code"),
  "login.verify": _("Verify"),
  "login.startAgain": _("Start again"),
  "login.resetHeading": _("Set a new password"),
  "login.resetIntro": _("Use the one-time code an administrator gave you."),
  "login.resetCode": _("Reset code"),
  "login.newPassword": _("New password"),
  "login.setPassword": _("Set password"),
  "login.passwordSet": _("Your password was changed. Sign in with it."),
  "password.rules": _("At least 12 characters; not a common password, your login or your name. A few unrelated words work well."),
  "mfa.setUpHeading": _("Set up two-factor sign-in"),
  "mfa.required": _("Your role must sign in with a code from an authenticator app. Set it up now."),
  "mfa.scan": _("Scan this code with your authenticator app (for example Google Authenticator, Microsoft Authenticator or FreeOTP)."),
  "mfa.qrAlt": _("QR code to add Puente to your authenticator app"),
  "mfa.orType": _("Or type this key:"),
  "mfa.code": _("Code from the app"),
  "mfa.confirm": _("Turn on"),
  "mfa.recoveryHeading": _("Your recovery codes"),
  "mfa.recoveryNote": _("Each code signs you in once if you lose your phone. Keep them somewhere safe: they are shown only now."),
  "mfa.continue": _("I have saved them: continue"),
  "mfa.heading": _("Two-factor sign-in"),
  "mfa.enrolled": _("On. Recovery codes left: {n}."),
  "mfa.off": _("Off."),
  "mfa.requiredOff": _("Off, but your role needs it: you will set it up at your next sign-in, or now."),
  "mfa.start": _("Set up"),
  "mfa.replace": _("Use a new phone or app"),
  "mfa.on": _("Two-factor sign-in is on."),
  "account.heading": _("Your account"),
  "account.password": _("Change your password"),
  "account.current": _("Current password"),
  "account.new": _("New password"),
  "account.change": _("Change password"),
  "account.changed": _("Your password was changed. Your other sessions were signed out."),
  "staff.heading": _("Staff"),
  "staff.everyone": _("Everyone"),
  "staff.requireMfa": _("Require two-factor sign-in for"),
  "staff.policySaved": _("Saved: people without two-factor sign-in set it up at their next sign-in."),
  "staff.new": _("Add a staff member"),
  "staff.login": _("Login"),
  "staff.loginHint": _("Lower-case letters, digits, . _ or -."),
  "staff.name": _("Name"),
  "staff.password": _("First password"),
  "staff.role": _("Role"),
  "staff.teams": _("Teams"),
  "staff.create": _("Add"),
  "staff.created": _("{name} was added."),
  "staff.summary": _("{role} · teams: {teams} · languages: {languages} · up to {capacity} conversations"),
  "staff.noTeam": _("none"),
  "staff.mfaOn": _("Two-factor on"),
  "staff.inactive": _("Deactivated"),
  "staff.edit": _("Edit"),
  "staff.editing": _("Editing {name}"),
  "staff.languages": _("Languages"),
  "staff.languagesHint": _("Codes separated by commas, for example es, en."),
  "staff.capacity": _("Conversations at once"),
  "staff.save": _("Save"),
  "staff.saved": _("{name} was saved."),
  "staff.deactivate": _("Deactivate"),
  "staff.reactivate": _("Reactivate"),
  "staff.deactivated": _("{name} was deactivated: signed out everywhere, and their open conversations went back to the queue."),
  "staff.reactivated": _("{name} can sign in again."),
  "staff.resetPassword": _("Make a reset code"),
  "staff.resetCodeFor": _("Reset code for {name}"),
  "staff.resetCodeNote": _("Give it to them in person or by phone. They choose a new password with it on the sign-in page (login {login}) until {until}. It is shown only now."),
  "staff.resetMfa": _("Reset two-factor"),
  "staff.mfaReset": _("{name}'s two-factor sign-in was reset: they were signed out and set it up again at their next sign-in."),
  "teams.heading": _("Teams"),
  "teams.new": _("Add a team"),
  "teams.name": _("Name"),
  "teams.nameEs": _("Name in Spanish"),
  "teams.create": _("Add team"),
  "teams.created": _("The team {name} was added."),
  "teams.rename": _("Rename"),
  "teams.renameLabel": _("Rename {name}"),
  "teams.saved": _("Saved: {name}."),
  "teams.hours": _("Opening hours"),
  "teams.hoursOf": _("Opening hours of {name}"),
  "teams.day": _("Day"),
  "teams.from": _("Opens"),
  "teams.to": _("Closes"),
  "teams.opens": _("{day}: opens"),
  "teams.closes": _("{day}: closes"),
  "teams.hoursHint": _("Leave a day empty when the team is closed. Times are the clinic's."),
  "teams.saveHours": _("Save hours"),
  "teams.hoursSaved": _("The hours of {name} were saved."),
  "teams.holiday": _("Closed on"),
  "teams.holidayName": _("Why"),
  "teams.addHoliday": _("Add holiday"),
  "teams.holidaysOf": _("Holidays of {name}"),
  "teams.holidayAdded": _("A holiday was added for {name}."),
  "teams.closedOn": _("Closed {day}: {name}"),
  "day.mon": _("Monday"),
  "day.tue": _("Tuesday"),
  "day.wed": _("Wednesday"),
  "day.thu": _("Thursday"),
  "day.fri": _("Friday"),
  "day.sat": _("Saturday"),
  "day.sun": _("Sunday"),
  "ehr.heading": _("EHR link"),
  "ehr.linkHeading": _("Connection"),
  "ehr.connectedSmart": _("Reads patients and appointments from {server} with SMART Backend Services."),
  "ehr.connectedBearer": _("Reads patients and appointments from {server} with a bearer token."),
  "ehr.notConfigured": _("Not set up. The hub's settings say:"),
  "ehr.lastSync": _("The last import finished {when}."),
  "ehr.neverSynced": _("No import has finished yet."),
  "ehr.syncEvery": _("An import starts by itself every {minutes} minutes."),
  "ehr.syncManual": _("Imports start only when an administrator starts one."),
  "ehr.startHeading": _("Import from the EHR"),
  "ehr.startHint": _("Reads what changed in the EHR since the last import: patients first, then appointments."),
  "ehr.full": _("Read everything again, not only what changed"),
  "ehr.start": _("Start import"),
  "ehr.started": _("Import {id} started."),
  "ehr.alreadyRunning": _("Import {id} is already under way."),
  "ehr.resumed": _("Import {id} goes on from where it stopped."),
  "ehr.resume": _("Resume"),
  "ehr.runsHeading": _("Imports"),
  "ehr.noRuns": _("No import yet."),
  "ehr.runTitle": _("Import {id}, {when}"),
  "ehr.fullRun": _("everything"),
  "ehr.status.queued": _("Waiting to start"),
  "ehr.status.running": _("Running"),
  "ehr.status.done": _("Finished"),
  "ehr.status.failed": _("Stopped"),
  "ehr.phase.patients": _("Patients"),
  "ehr.phase.appointments": _("Appointments"),
  "ehr.phase.done": _("Done"),
  "ehr.progress": _("{phase}: {done} read"),
  "ehr.progressOf": _("{phase}: {done} of {total} read"),
  "ehr.count.patientsCreated": _("New patients"),
  "ehr.count.patientsUpdated": _("Patients updated"),
  "ehr.count.patientsMatched": _("Matched to existing records"),
  "ehr.count.patientsUnchanged": _("Patients unchanged"),
  "ehr.count.appointmentsCreated": _("New appointments"),
  "ehr.count.appointmentsUpdated": _("Appointments updated"),
  "ehr.count.appointmentsUnchanged": _("Appointments unchanged"),
  "ehr.count.errors": _("Records skipped"),
  "ehr.count.invalidContacts": _("Unusable phones or emails"),
  "ehr.count.conflicts": _("Numbers or addresses already on another patient"),
  "ehr.failedBecause": _("Why it stopped:"),
  "ehr.problems": _("Records it could not read ({n})"),

  "audit.heading": _("Audit trail"),
  "audit.filters": _("Filters"),
  "audit.person": _("Person"),
  "audit.anyone": _("Anyone"),
  "audit.patient": _("Patient number"),
  "audit.patientHint": _("The patient's record number."),
  "audit.action": _("Action"),
  "audit.actionHint": _("For example patient.break_glass, or auth. for every sign-in action."),
  "audit.since": _("From"),
  "audit.until": _("Until"),
  "audit.show": _("Show"),
  "audit.export": _("Export CSV"),
  "audit.more": _("Show older"),
  "audit.none": _("Nothing matches."),
  "audit.system": _("System"),
  "audit.when": _("When"),
  "audit.who": _("Who"),
  "audit.what": _("Action"),
  "audit.patientCol": _("Patient"),
  "audit.detail": _("Detail"),
  "bg.heading": _("Break-glass access"),
  "bg.formHeading": _("Open a patient outside your teams"),
  "bg.intro": _("Only when a patient needs it now. You can read their record for a limited time; your reason is recorded and supervisors are told at once."),
  "bg.patient": _("Patient's phone, email or record number"),
  "bg.patientHint": _("Exactly as on file, for example (650) 555-0134."),
  "bg.reason": _("Reason"),
  "bg.reasonHint": _("At least 10 characters: why you need this record now."),
  "bg.open": _("Open the record"),
  "bg.granted": _("Break-glass access to {name} until {until}. Reason: {reason}"),
  "bg.alert": _("{name} opened {patient}'s record with break-glass until {until}. Reason: {reason}"),
};

let catalog = {};
let plurals = null;
let numbers = null;

/** Use `messages` (English msgid -> translation) for `language` from now on. */
export function useCatalog(language, messages) {
  LOCALE = SUPPORTED.includes(language) ? language : DEFAULT_LANGUAGE;
  catalog = messages || {};
  plurals = null;
  numbers = null;
}

/** The first supported language among BCP 47 tags (es-MX -> es), else null. */
export function pickLanguage(tags) {
  for (const tag of tags || []) {
    const language = String(tag || "").trim().toLowerCase().split(/[-_]/)[0];
    if (SUPPORTED.includes(language)) return language;
  }
  return null;
}

/** The browser's preferred supported language, else English. */
export function browserLanguage() {
  const tags = navigator.languages?.length ? navigator.languages : [navigator.language];
  return pickLanguage(tags) ?? DEFAULT_LANGUAGE;
}

/** The tag to format dates and numbers with: the browser's own variant of the current language
 * when it has one (es-MX: 12-hour clock), else the language itself. */
export function formattingLocale() {
  const tags = navigator.languages?.length ? navigator.languages : [navigator.language];
  return tags.find((tag) => pickLanguage([tag]) === LOCALE) ?? LOCALE;
}

/** Fetch `language`'s catalog from the hub and use it; returns the language now in use. When the
 * hub cannot be reached the inbox keeps the language it has (English source strings at first). */
export async function loadLanguage(language) {
  try {
    const response = await fetch(`/api/i18n/web?lang=${encodeURIComponent(language)}`, {
      credentials: "same-origin", headers: { accept: "application/json" },
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const data = await response.json();
    useCatalog(data.language, data.messages);
  } catch (err) {
    console.warn(`puente: could not load the ${language} strings (${err})`);
  }
  return LOCALE;
}

function show(value) {
  if (typeof value !== "number") return String(value);
  // Numbers in the reader's language (1,5 in Spanish); never grouped, so ids stay as they are.
  numbers ??= new Intl.NumberFormat(formattingLocale(), { useGrouping: false, maximumFractionDigits: 2 });
  return numbers.format(value);
}

function fill(template, params) {
  return template.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? show(params[name]) : whole);
}

function lookup(key) {
  const source = MESSAGES[key];
  if (source === undefined) {
    console.warn(`puente: no string named ${key}`);
    return key;
  }
  return source;
}

/** A source string (or a {context, message} pair) in the current language. */
function translated(source) {
  if (typeof source === "string") return catalog[source] || source;
  return catalog[`${source.context}\u0004${source.message}`] || source.message;
}

/** The string `key` in the current language, with its {placeholders} filled from `params`. */
export function t(key, params = {}) {
  const source = lookup(key);
  return fill(translated(typeof source === "string" || source.context ? source : source.other), params);
}

/** A plural string: picks the form for `n`, which is also available as {n}. */
export function tn(key, n, params = {}) {
  const source = lookup(key);
  const forms = typeof source === "string" ? { other: source } : source;
  plurals ??= new Intl.PluralRules(LOCALE);
  const form = forms[plurals.select(n)] ?? forms.other;
  return fill(translated(form), { n, ...params });
}
