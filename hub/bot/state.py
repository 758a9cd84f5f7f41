"""What the assistant is configured with, what it is in the middle of in a conversation, and a turn."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from hub.bot.say import Voice


class BotConfig(msgspec.Struct, frozen=True):
    voice: Voice
    code_key: bytes
    failures: int
    default_team: str
    emergency_team: str
    texts_can_go: bool  # an SMS provider is set up: codes can go to phones
    email_from: str | None  # a mail relay is set up, and the address codes come from
    reply_within_minutes: int = 120  # promised when nobody is free: a reply within this much open time


class BotState(msgspec.Struct, omit_defaults=True):
    """What the assistant is in the middle of in a conversation (Conversation.bot_state)."""

    language: str | None = None  # the conversation's language so far
    failures: int = 0  # messages not understood in a row
    pending: Literal["verify_dob", "verify_code"] | None = None  # the answer it waits for
    dob_attempts: int = 0
    code: str | None = None  # the one-time code's digest, never the code
    code_expires: datetime | None = None
    code_attempts: int = 0
    code_to: str | None = None  # where the code went, masked
    intent: str | None = None  # what the patient asked for, and the team it goes to
    team: str | None = None

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> BotState:
        return msgspec.convert(stored or {}, cls, strict=False)


class Turn(msgspec.Struct, frozen=True):
    conversation_id: int
    config: BotConfig
    since: datetime | None = None  # a catch-up after a start: only messages written since then
