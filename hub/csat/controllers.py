"""CSAT's routes: admins switch it on or off per channel (audited; supervisors read the switches);
the email survey page's signed link (no sign-in: the token names the conversation, and the page
shows nothing about the patient); the web-chat widget's stars (the visitor's own token)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, JSONBody
from sqlalchemy import select

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.csat.survey import answerable, channel_switches, conversation_of, pending_for_patient, set_switches
from hub.db.models import ContactPoint, Conversation, CsatSurvey
from hub.db.writer import Tx
from hub.deps import HubDep
from hub.i18n import _
from hub.refusals import Refused
from hub.webchat.routes import OPTS, visitor_of

Comment = Annotated[str, msgspec.Meta(max_length=1000)]
Score = Annotated[int, msgspec.Meta(ge=1, le=5)]

NO_SURVEY = _("There is no such survey.")
ANSWERED = _("Thank you: this survey was already answered.")
EXPIRED = _("This survey has closed.")
NOT_ASKED = _("There is no question to answer here.")
REFUSALS = {"already": (409, ANSWERED), "expired": (410, EXPIRED), "not_asked": (404, NOT_ASKED)}


class Switches(msgspec.Struct, forbid_unknown_fields=True):
    sms: bool | msgspec.UnsetType = msgspec.UNSET
    webchat: bool | msgspec.UnsetType = msgspec.UNSET
    email: bool | msgspec.UnsetType = msgspec.UNSET


class AnswerBody(msgspec.Struct, forbid_unknown_fields=True):
    score: Score
    comment: Comment | None = None


class SurveyOut(msgspec.Struct):
    state: Literal["open", "answered", "expired", "not_asked"]
    language: str
    clinic: str


class Thanks(msgspec.Struct):
    answered: bool = True


def _switch(tx: Tx, items: list[tuple[Principal, dict[str, bool], Origin]]) -> list[dict[str, bool]]:
    out = []
    for who, changes, origin in items:
        out.append(set_switches(tx, [changes])[0])
        add_audit(tx, AuditRecord(AuditAction.CSAT_CHANNELS, who.id, origin, detail=changes))
    return out


def _clean(comment: str | None) -> str | None:
    text = (comment or "").replace("\x00", "").strip()
    return text or None


class CsatController(Controller):
    path = "/api/csat"

    @get("/channels", guards=[requires(Role.SUPERVISOR)])
    async def channels(self, hub: HubDep) -> dict[str, bool]:
        """Where the satisfaction question is asked after resolution: sms, webchat, email."""
        async with hub.read_sessions() as s:
            return await s.run_sync(channel_switches)

    @put("/channels", guards=[requires(Role.ADMIN)])
    async def switch(
        self, request: Request[Principal, Any, Any], data: JSONBody[Switches], hub: HubDep
    ) -> dict[str, bool]:
        """Switch CSAT on or off per channel (a channel left out stays as it is)."""
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        return await hub.writer.submit(_switch, (request.user, changes, Origin.of(request)))

    @get("/survey/{token:str}", opt=OPTS, cache=False)
    async def survey(self, token: FromPath[str], hub: HubDep) -> SurveyOut:
        """The email survey page's question: whether it can still be answered, and in which language."""
        cid = conversation_of(hub.csat.key, token[:64])
        async with hub.read_sessions() as s:
            survey = await s.get(CsatSurvey, cid) if cid else None
            if survey is None or survey.channel != "email":
                raise Refused(404, NO_SURVEY)
            language = survey.locale or (await s.get(Conversation, cid)).language or "en"  # type: ignore[union-attr]
        refused = answerable(survey, hub.csat.clock())
        state = "answered" if refused == "already" else refused or "open"
        settings = hub.settings.clinic
        return SurveyOut(state, language.split("-")[0], settings.name)  # type: ignore[arg-type]

    @post("/survey/{token:str}", opt=OPTS, status_code=200)
    async def answer(self, token: FromPath[str], data: JSONBody[AnswerBody], hub: HubDep) -> Thanks:
        """The patient's score (1-5) and optional comment from the email survey page."""
        cid = conversation_of(hub.csat.key, token[:64])
        async with hub.read_sessions() as s:
            survey = await s.get(CsatSurvey, cid) if cid else None
        if survey is None or survey.channel != "email":
            raise Refused(404, NO_SURVEY)
        return await _take(hub, survey.conversation_id, data, "email")


@post("/api/webchat/csat", opt=OPTS, status_code=200)
async def webchat_csat(request: Request[Any, Any, Any], data: JSONBody[AnswerBody], hub: HubDep) -> Thanks:
    """The web-chat widget's stars (and comment), with the visitor's token."""
    visitor = visitor_of(request, hub)
    async with hub.read_sessions() as s:
        patient_id = (
            await s.execute(
                select(ContactPoint.patient_id).where(
                    ContactPoint.kind == visitor.kind, ContactPoint.address == visitor.address
                )
            )
        ).scalar_one_or_none()
        survey = await s.run_sync(pending_for_patient, patient_id, "webchat", hub.csat.clock()) if patient_id else None
    if survey is None:
        raise Refused(404, NOT_ASKED)
    return await _take(hub, survey.conversation_id, data, "webchat")


async def _take(hub: Any, conversation_id: int, data: AnswerBody, channel: str) -> Thanks:
    outcome = await hub.csat.take(hub.csat.answer(conversation_id, data.score, _clean(data.comment), channel))
    if outcome != "answered":
        status, message = REFUSALS[outcome]
        raise Refused(status, message)
    return Thanks()
