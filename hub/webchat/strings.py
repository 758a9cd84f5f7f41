"""Every string the web-chat widget shows, marked for the gettext catalogs in locales/.

The widget fetches them translated (GET /api/webchat/strings?lang=es), so patients read the
same reviewed translations as every other system message. Placeholders are named.
"""

from __future__ import annotations

from hub.i18n import _

WIDGET: dict[str, str] = {
    "launcher": _("Chat with us"),
    "title": _("Chat with {clinic}"),
    "close": _("Close chat"),
    "intro": _(
        "Ask us about appointments, bills, refills or anything else. "
        "A person from our team answers during office hours."
    ),
    "emergency": _("In an emergency, call 911. If you are thinking about hurting yourself, call or text 988."),
    "name": _("Your name"),
    "contact": _("Mobile phone or email (optional)"),
    "contactHint": _("To link this chat to your records, we will send you a code."),
    "start": _("Start chat"),
    "starting": _("Starting…"),
    "nameNeeded": _("Please tell us your name."),
    "placeholder": _("Write a message…"),
    "send": _("Send"),
    "you": _("You"),
    "assistant": _("Assistant"),
    "team": _("{clinic} team"),
    "sending": _("Sending…"),
    "sent": _("Sent"),
    "read": _("Read"),
    "failed": _("Not sent. Select to try again."),
    "typing": _("{name} is typing…"),
    "typingSomeone": _("Someone is typing…"),
    "connecting": _("Connecting…"),
    "offline": _("You are offline. Your messages will be sent when you are back online."),
    "codePrompt": _("We sent a 6-digit code to {to}. Enter it to link this chat to your records."),
    "code": _("Code"),
    "verify": _("Verify"),
    "resend": _("Send a new code"),
    "skip": _("Not now"),
    "verified": _("Thank you. This chat is now linked to your records."),
    "link": _("Link to my records"),
    "linkPrompt": _("Your mobile phone or email on file with us"),
    "sendCode": _("Send code"),
    "end": _("End chat"),
    "endConfirm": _("End this chat on this device? Its messages will no longer show here."),
    "language": _("Language"),
    "error": _("Something went wrong: {detail}"),
    "network": _("Cannot reach the clinic right now. Please try again."),
    "empty": _("Write your question below. We will answer here."),
    "record": _("Record a voice message"),
    "recording": _("Recording… {elapsed} of {limit} at most"),
    "stopSend": _("Stop and send"),
    "cancelRecording": _("Cancel"),
    "voiceMessage": _("Voice message"),
    "voiceMessageLength": _("Voice message ({length})"),
    "micAsking": _("Allow the microphone when your browser asks."),
    "micDenied": _("The microphone is blocked. Allow it in your browser's settings to send a voice message."),
    "micMissing": _("No microphone was found on this device."),
    "voiceLimit": _("The recording reached the limit of {limit} and was sent."),
    # The satisfaction question after resolution (hub/csat/): stars under the clinic's message.
    "csatQuestion": _("How did we do?"),
    "csatStars": _("{n} of 5 stars"),
    "csatComment": _("Comment (optional)"),
    "csatSend": _("Send rating"),
    "csatChoose": _("Choose 1 to 5 stars first."),
    "csatThanks": _("Thank you for your rating."),
    "csatAlready": _("You already rated this conversation. Thank you!"),
}
