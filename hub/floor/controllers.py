"""The live floor's routes (supervisors and admins): the floor as it is now, and setting an agent
Away. The floor carries no patient data (hub/floor/figures.py), so reading it is not audited;
setting someone Away is, and their inbox is told at once (a presence frame)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from sqlalchemy import update

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.bounds import IdPath
from hub.db.models import Agent
from hub.db.writer import Tx
from hub.deps import HubDep
from hub.events import PresenceFrame, PresenceSignal
from hub.floor.figures import FloorAgent, FloorOut
from hub.i18n import _
from hub.refusals import Refused

NO_AGENT = _("There is no active staff member {id}.")


def set_away(tx: Tx, items: list[tuple[Principal, int, Origin]]) -> list[PresenceFrame | None]:
    """A batch function: each agent set Away by a supervisor, audited in the same transaction
    (None: no such active staff member)."""
    out: list[PresenceFrame | None] = []
    for who, agent_id, origin in items:
        agent = tx.session.get(Agent, agent_id)
        if agent is None or not agent.active:
            out.append(None)
            continue
        was = agent.available
        tx.session.execute(update(Agent).where(Agent.id == agent_id).values(available=False))
        add_audit(
            tx,
            AuditRecord(
                AuditAction.AGENT_SET_AWAY, who.id, origin, detail={"agent_id": agent_id, "was_available": was}
            ),
        )
        out.append(PresenceFrame(agent_id=agent_id, available=False, by_id=who.id, by_name=who.display_name))
    return out


class FloorController(Controller):
    path = "/api/floor"
    guards = [requires(Role.SUPERVISOR)]

    @get("/")
    async def show(self, hub: HubDep) -> FloorOut:
        """Per team: waiting, longest wait, urgent not yet taken, who is online, available or away
        with their load; the assistant's share. Live after this: `floor` frames on the stream."""
        return await hub.floor.read()

    @post("/agents/{agent_id:int}/away", status_code=200)
    async def away(self, request: Request[Principal, Any, Any], agent_id: IdPath, hub: HubDep) -> FloorAgent:
        """Set a staff member Away: no new conversations come to them; what they hold stays theirs."""
        frame = await hub.writer.submit(set_away, (request.user, agent_id, Origin.of(request)))
        if frame is None:
            raise Refused(404, NO_AGENT, id=agent_id)
        hub.fanout.signal(PresenceSignal(frame))  # committed: their inbox and every floor are told
        floor = await hub.floor.read()
        return next(a for a in floor.agents if a.id == agent_id)
