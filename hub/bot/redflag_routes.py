"""The red-flag list's routes: supervisors read it, admins add and deactivate phrases (hub/bot/redflags.py
keeps the list; the assistant reads it from there)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.params import JSONBody

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import Origin
from hub.bot.redflags import (
    MAX_PHRASE_CHARS,
    CategoryOut,
    Deactivation,
    NewPhrase,
    NewRedFlagBody,
    RedFlagOut,
    RedFlagsOut,
    add_phrases,
    check_new,
    deactivate_phrases,
    forget_active_phrases,
    read_all,
    tidy,
)
from hub.bot.understand import RED_FLAG_CATEGORIES
from hub.bounds import IdPath
from hub.deps import HubDep
from hub.i18n import SUPPORTED, language_of


class RedFlagController(Controller):
    path = "/api/red-flags"

    @get("/", guards=[requires(Role.SUPERVISOR)])
    async def index(self, request: Request[Principal, Any, Any], hub: HubDep) -> RedFlagsOut:
        lang = language_of(request)
        async with hub.read_sessions() as s:
            phrases = await s.run_sync(read_all)
        categories = [
            CategoryOut(c.key, c.label.get(lang) or c.label.get("en") or c.key, list(c.call))
            for c in RED_FLAG_CATEGORIES.values()
        ]
        return RedFlagsOut(categories, list(SUPPORTED), MAX_PHRASE_CHARS, phrases)

    @post("/", status_code=201, guards=[requires(Role.ADMIN)])
    async def add(
        self, request: Request[Principal, Any, Any], data: JSONBody[NewRedFlagBody], hub: HubDep
    ) -> RedFlagOut:
        phrase = tidy(data.phrase)
        check_new(data.language, phrase, data.category)
        item = NewPhrase(data.language, phrase, data.category, request.user, Origin.of(request))
        try:
            return await hub.writer.submit(add_phrases, item)
        finally:
            forget_active_phrases()
            await hub.bot.reload_phrases()  # the very next message is checked against it

    @delete("/{flag_id:int}", status_code=200, guards=[requires(Role.ADMIN)])
    async def deactivate(self, request: Request[Principal, Any, Any], flag_id: IdPath, hub: HubDep) -> RedFlagOut:
        try:
            return await hub.writer.submit(deactivate_phrases, Deactivation(flag_id, request.user, Origin.of(request)))
        finally:
            forget_active_phrases()
            await hub.bot.reload_phrases()
