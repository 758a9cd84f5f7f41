"""The hub's long-lived parts, handed to handlers by dependency injection."""

from __future__ import annotations

from dataclasses import dataclass, field

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.agents.sessions import PrincipalCache
from hub.agents.throttle import LoginThrottle
from hub.bot.worker import BotWorker
from hub.conversations.snooze import SnoozeWorker
from hub.csat.worker import CsatWorker
from hub.db.writer import Writer
from hub.email.service import EmailService
from hub.floor.live import FloorWorker
from hub.media.worker import MediaWorker
from hub.outbox.worker import OutboxWorker
from hub.patients.fhir.worker import FhirImportWorker
from hub.realtime.fanout import Fanout
from hub.reports.rollup import ReportsWorker
from hub.routing.worker import RoutingWorker
from hub.settings import Settings
from hub.timeline.door import Door
from hub.voice.worker import VoiceWorker
from hub.webchat.limits import WebchatLimits


@dataclass
class Hub:
    settings: Settings
    read_engine: AsyncEngine
    read_sessions: async_sessionmaker[AsyncSession]
    writer: Writer
    fanout: Fanout
    principals: PrincipalCache
    outbox: OutboxWorker
    media: MediaWorker
    bot: BotWorker
    voice: VoiceWorker
    routing: RoutingWorker
    fhir: FhirImportWorker  # imports from the EHR (idle without PUENTE_FHIR_BASE_URL)
    snooze: SnoozeWorker  # wakes snoozed conversations when their time comes
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)
    webchat_limits: WebchatLimits = field(init=False)
    email: EmailService = field(init=False)
    door: Door = field(init=False)  # the one way a patient's message enters the timeline
    floor: FloorWorker = field(init=False)  # the live floor, pushed to supervisors (hub/floor/)
    csat: CsatWorker = field(init=False)  # the satisfaction question after resolution (hub/csat/)
    reports: ReportsWorker = field(init=False)  # KPI facts kept up to date after each commit (hub/reports/)

    def __post_init__(self) -> None:
        self.webchat_limits = WebchatLimits(self.settings.webchat)
        self.email = EmailService(self.settings)
        self.door = Door(self.writer, self.settings.clinic.default_region, self.settings.bot.first_handler)
        self.floor = FloorWorker(self.writer, self.read_sessions, self.fanout, clock=self.outbox.clock)
        self.csat = CsatWorker(self.settings, self.writer, self.read_sessions, clock=self.outbox.clock)
        self.writer.subscribe(self.csat.notice)  # conversations resolved, answers by SMS
        self.reports = ReportsWorker(self.settings, self.writer, self.read_sessions, clock=self.outbox.clock)
        self.writer.subscribe(self.reports.notice)  # the conversations each commit touched


# Handlers take the one `hub` dependency: Litestar resolves several dependencies through a
# task group (tasks spawned on every request), a single one by a plain await.
HubDep = NamedDependency[Hub]
