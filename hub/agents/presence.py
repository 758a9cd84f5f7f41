"""Whether an agent can take conversations now: they say so in the inbox ("available"), and their
inbox is open (its live stream keeps last_seen_at fresh, so a closed laptop stops new work)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, put
from litestar.params import JSONBody
from sqlalchemy import func, select, update

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.db.models import Agent, Conversation
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.deps import HubDep
from hub.events import ConversationStatus, PresenceFrame, PresenceSignal
from hub.routing.queues import assign_waiting

SEEN_EVERY_S = 60  # how often an open stream says its agent is still there


def touch(tx: Tx, agent_ids: list[int]) -> list[None]:
    """A batch function: these agents' inboxes are open now."""
    tx.session.execute(update(Agent).where(Agent.id.in_(set(agent_ids))).values(last_seen_at=utcnow()))
    return [None] * len(agent_ids)


class Presence(msgspec.Struct):
    available: bool
    capacity: int
    open_conversations: int


class PresenceBody(msgspec.Struct, forbid_unknown_fields=True):
    available: bool


def _presence(tx_or_session: Any, agent: Agent) -> Presence:
    open_count = tx_or_session.execute(
        select(func.count()).where(
            Conversation.assignee_id == agent.id, Conversation.status != ConversationStatus.RESOLVED
        )
    ).scalar_one()
    return Presence(agent.available, agent.capacity, open_count)


def set_available(tx: Tx, items: list[tuple[Principal, bool, Origin]]) -> list[Presence]:
    out = []
    for who, available, origin in items:
        agent = tx.session.get(Agent, who.id)
        assert agent is not None
        if agent.available != available:
            add_audit(tx, AuditRecord(AuditAction.AGENT_PREFERENCES, who.id, origin, detail={"available": available}))
        agent.available, agent.last_seen_at = available, utcnow()
        out.append(_presence(tx.session, agent))
    return out


class PresenceController(Controller):
    path = "/api/presence"
    guards = [requires(Role.AGENT)]

    @get("/")
    async def show(self, request: Request[Principal, Any, Any], hub: HubDep) -> Presence:
        async with hub.read_sessions() as s:
            agent = await s.get(Agent, request.user.id)
            assert agent is not None
            return await s.run_sync(lambda sync: _presence(sync, agent))

    @put("/")
    async def change(
        self, request: Request[Principal, Any, Any], data: JSONBody[PresenceBody], hub: HubDep
    ) -> Presence:
        """Available: conversations waiting in the agent's teams may come to them at once."""
        presence = await hub.writer.submit(set_available, (request.user, data.available, Origin.of(request)))
        who = request.user  # committed: their other inboxes and the live floor are told
        hub.fanout.signal(PresenceSignal(PresenceFrame(who.id, data.available, who.id, who.display_name)))
        if data.available:
            await hub.writer.submit(assign_waiting, None)
        return presence
