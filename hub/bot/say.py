"""What the bot says: a published template (never a literal), in the patient's language, on the
channel the patient last wrote on, stored and queued like any reply."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from sqlalchemy import select

from channels.base import Channel
from hub.db.models import Conversation, Template, TemplateVersion
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.email.outbound import MailIdentity, prepare_reply, queue_reply
from hub.events import AuthorType, EventKind, TimelineEventOut
from hub.outbox.queue import enqueue
from hub.patients.reach import INITIAL_STATUS, default_reply_channel, reply_channels
from hub.refusals import Refused
from hub.templates.content import Content, pick, render_variant
from hub.templates.render import Reader
from hub.timeline.append import append_event
from hub.timeline.views import preview

log = logging.getLogger(__name__)

# How each reply channel's messages leave: the outbox sends these as they are; email is rendered
# into a threaded message first; web chat is fetched by the widget; API-channel replies are pulled.
SENT_BY_OUTBOX = {"sms"}


class Voice(msgspec.Struct, frozen=True):
    """The clinic as the bot speaks for it."""

    clinic_name: str
    clinic_phone: str
    default_language: str
    region: str
    timezone: str
    mail: MailIdentity | None = None  # how replies by email are sent; None: no email set up


def reply_channel(tx: Tx, conv: Conversation) -> str | None:
    """The channel the patient last wrote on when it can reach them, else another that can."""
    reach = {r.channel: r for r in reply_channels(tx.session, conv.patient_id)}
    channel = default_reply_channel(conv, reach)
    return channel if channel in reach and reach[channel].reachable else None


def published(tx: Tx, key: str) -> Content | None:
    content = tx.session.execute(
        select(TemplateVersion.content)
        .join(Template, Template.id == TemplateVersion.template_id)
        .where(Template.key == key, TemplateVersion.state == "published")
    ).scalar_one_or_none()
    return msgspec.convert(content, Content) if content is not None else None


MENU = "bot_menu"


def menu_text(tx: Tx, channel: str, locale: str, voice: Voice, values: dict[str, Any], reader: Reader) -> str | None:
    """The menu (the numbered options, bot_menu) as {menu} in a message that offers the numbers:
    for the same channel and in the same language as that message. None when there is none: the
    message is then not sent (a number offered without the menu is no help)."""
    content = published(tx, MENU)
    picked = pick(content, channel, locale, voice.default_language) if content is not None else None
    if picked is None:
        return None
    rendered = render_variant(picked.channel, picked.variant, {**values, "menu": None}, reader)
    return None if rendered.unresolved else rendered.body


def say(
    tx: Tx,
    conv: Conversation,
    key: str,
    voice: Voice,
    language: str,
    values: dict[str, Any] | None = None,
    author: AuthorType = AuthorType.BOT,
    to: int | None = None,
) -> TimelineEventOut | None:
    """Send template `key` to the patient. Nothing is sent when the template is missing, has no
    text for the channel, or would leave a value blank (the bot never says "[amount due]").
    to: on web chat, the visitor (contact point) it answers; else whoever wrote last."""
    channel = reply_channel(tx, conv)
    content = published(tx, key)
    if channel is None or content is None:
        log.warning(
            "bot cannot say %s: %s", key, "no reachable channel" if channel is None else "no published template"
        )
        return None
    picked = pick(content, channel, language, voice.default_language)
    if picked is None:
        log.warning("bot cannot say %s: no text for %s", key, channel)
        return None
    filled = {"clinic_name": voice.clinic_name, "clinic_phone": voice.clinic_phone, **(values or {})}
    reader = Reader(picked.locale, voice.region, voice.timezone)
    if "menu" not in filled:
        filled["menu"] = menu_text(tx, channel, picked.locale, voice, filled, reader)
    rendered = render_variant(picked.channel, picked.variant, filled, reader)
    if rendered.unresolved:
        log.warning("bot cannot say %s: no value for %s", key, ", ".join(rendered.unresolved))
        return None
    prepared = None
    if channel == "email":  # threaded like an agent's reply, or not sent at all (no silent queue)
        try:
            prepared = prepare_reply(tx, conv, voice.mail)
        except Refused:
            log.warning("bot cannot say %s by email: email is not set up or has no address", key)
            return None
    now = utcnow()
    conv.preview = preview(rendered.body, [])
    conv.last_message_at = now
    data: dict[str, Any] = {"status": INITIAL_STATUS.get(channel, "queued"), "template": key, "locale": picked.locale}
    if picked.missing_translation:
        data["missing_translation"] = True  # shown to staff: the patient's language had no text
    if channel == Channel.WEBCHAT and to is not None:
        data["to"] = to
    event = append_event(
        tx, conv, EventKind.MESSAGE_OUT, author_type=author, text=rendered.body, channel=channel, data=data
    )
    if channel in SENT_BY_OUTBOX:
        enqueue(tx, event.seq, channel)
    elif prepared is not None:
        queue_reply(tx, conv, event.seq, rendered.body, prepared)
    return event
