"""The Litestar application: wiring only."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
from litestar import Litestar, get, post
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.exceptions import ValidationException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from hub.agents.breakglass import BreakGlassController
from hub.agents.controllers import AuthController
from hub.agents.first_admin import admin_from_settings, announce_missing_admin
from hub.agents.presence import PresenceController
from hub.agents.sessions import PrincipalCache, make_session_auth
from hub.agents.staff import StaffController
from hub.agents.teams import TeamController
from hub.agents.throttle import LoginThrottle
from hub.audit.controllers import AuditController
from hub.bot.redflag_routes import RedFlagController
from hub.bot.redflags import ensure_red_flags
from hub.bot.worker import BotWorker
from hub.canned.controllers import CannedController, fill_in_canned
from hub.conversations.controllers import ConversationController
from hub.conversations.snooze import SnoozeWorker
from hub.csat.controllers import CsatController, webchat_csat
from hub.db.engine import (
    is_sqlite,
    make_async_writer_engine,
    make_engine,
    make_sessionmaker,
    make_sqlite_writer_engine,
)
from hub.db.migrate import upgrade
from hub.db.types import utcnow
from hub.db.writer import GreenletRunner, ThreadRunner, Writer
from hub.demo import print_logins, seed_demo
from hub.deps import Hub
from hub.email.views import email_html, email_source
from hub.email.webhooks import mailgun_inbound, sendgrid_inbound
from hub.errors import database_error, internal_error, storage_unavailable, validation_error, write_conflict
from hub.floor.controllers import FloorController
from hub.headers import security_headers
from hub.i18n_routes import web_catalog
from hub.language.controllers import check_language
from hub.media.controllers import media_file
from hub.media.worker import MediaWorker
from hub.openapi import document
from hub.outbox.configured import configured_channels
from hub.outbox.worker import OutboxWorker
from hub.patients.controllers import PatientController
from hub.patients.csv_routes import CsvImportController
from hub.patients.directory_routes import DirectoryController
from hub.patients.fhir.controllers import FhirController
from hub.patients.fhir.worker import FhirImportWorker
from hub.realtime.fanout import Fanout
from hub.realtime.stream import stream
from hub.refusals import Refused, render_refusal
from hub.reports.controllers import ReportsController
from hub.routing.schedule import ScheduleController
from hub.routing.worker import RoutingWorker
from hub.search.backfill import backfill_search_text
from hub.search.controllers import search
from hub.search.index import backfill_index
from hub.settings import Settings, load_settings
from hub.sms.webhooks import sms_inbound, sms_status
from hub.templates.controllers import TemplateController, fill_in
from hub.templates.starter import ensure_starter
from hub.timeline.inbound import api_inbound
from hub.timeline.outbound import delivery_status, outbox
from hub.voice.controllers import playable_file
from hub.voice.upload import upload_voice
from hub.voice.voicemail import voicemail
from hub.voice.worker import VoiceWorker
from hub.webchat.cors import WebchatCORS
from hub.webchat.routes import WebchatController
from hub.webchat.socket import visitor_socket

WEB = Path(__file__).resolve().parent.parent / "web"
PUBLIC = [
    "^/$",
    "^/static/",
    "^/index.html",
    "^/favicon",
    "^/schema",
    "^/api/health",
    "^/bench/",
    "^/api/channels/",
    "^/api/webchat/",
    "^/api/auth/login",
    "^/api/auth/reset",
    "^/api/auth/setup",
    "^/api/i18n/",
]


@get("/api/health", exclude_from_auth=True, sync_to_thread=False)
def health() -> dict[str, bool]:
    return {"ok": True}


@post("/bench/hello", exclude_from_auth=True, exclude_from_csrf=True, skip_session=True, sync_to_thread=False)
def hello(data: dict[str, Any]) -> dict[str, str]:
    """The bare baseline bench/ measures the hub's own routes against."""
    return {"hello": "world"}


def build_hub(settings: Settings, clock: Callable[[], datetime] | None = None) -> Hub:
    """clock: the outbox's and the snooze's (the wall clock unless a test brings its own)."""
    read_engine = make_engine(settings.database)
    read_sessions = make_sessionmaker(read_engine)
    fanout = Fanout(settings.realtime, read_sessions)
    runner = (
        ThreadRunner(make_sqlite_writer_engine(settings.database))
        if is_sqlite(settings.database.url)
        else GreenletRunner(make_async_writer_engine(settings.database))
    )
    writer = Writer(runner)
    outbox = OutboxWorker(settings, writer, clock=clock or utcnow)
    media = MediaWorker(settings, writer)
    bot = BotWorker(settings, writer, read_sessions)
    voice = VoiceWorker(settings, writer, media.store)
    routing = RoutingWorker(settings, writer, read_sessions)  # with the assistant on or off
    fhir = FhirImportWorker(settings, writer, read_sessions)  # the EHR link, when configured
    snooze = SnoozeWorker(writer, read_sessions, clock=clock or utcnow)  # snoozed conversations come back
    writer.subscribe(fanout.publish)  # agents' sockets
    writer.subscribe(outbox.wake)  # a reply may have been queued
    writer.subscribe(media.notice)  # an MMS may have brought media to fetch
    writer.subscribe(bot.notice)  # a patient's message the bot should answer, or a red flag
    writer.subscribe(voice.notice)  # stored audio to check and transcribe
    principals = PrincipalCache(read_sessions)
    fanout.on_staff_changed.append(principals.forget)  # a change made by another hub process
    return Hub(
        settings,
        read_engine,
        read_sessions,
        writer,
        fanout,
        principals,
        outbox,
        media=media,
        bot=bot,
        voice=voice,
        routing=routing,
        fhir=fhir,
        snooze=snooze,
        login_throttle=LoginThrottle(settings.security.max_failures),
    )


def _session_store(settings: Settings) -> Store:
    if settings.realtime.redis_url:
        from litestar.stores.redis import RedisStore

        return RedisStore.with_client(
            url=settings.realtime.redis_url, namespace=f"{settings.realtime.channel_prefix}-sessions"
        )
    return MemoryStore()


def create_app(settings: Settings | None = None, clock: Callable[[], datetime] | None = None) -> Litestar:
    settings = settings or load_settings()
    hub = build_hub(settings, clock)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(upgrade, settings.database.url)
        await hub.fanout.start()
        hub.writer.start()
        await hub.writer.submit(ensure_starter, settings.clinic.languages)
        await hub.writer.submit(ensure_red_flags, None)
        await hub.outbox.start()
        await hub.media.start()
        await hub.bot.start()
        await hub.voice.start()
        await hub.routing.start()
        await hub.fhir.start()
        await hub.snooze.start()
        await hub.floor.start()
        await hub.csat.start()
        await hub.reports.start()  # fills missing report facts first (after migration 0019)
        backfill = asyncio.create_task(backfill_search_text(hub.writer), name="puente-search-backfill")
        indexing = asyncio.create_task(backfill_index(hub.writer, hub.read_engine), name="puente-search-index")
        try:
            await hub.email.start(hub)  # the SMTP listener: mail is taken once the writer can store it
            if settings.server.demo and await seed_demo(hub):
                host = os.environ.get("PUENTE_PUBLIC_HOST", settings.server.host)
                base = f"http://{host}:{os.environ.get('PUENTE_PUBLIC_PORT', settings.server.port)}"
                print_logins(base, settings.security.ingest_keys[0])
            await admin_from_settings(hub)  # the first administrator, from PUENTE_ADMIN_* when there is none
            await announce_missing_admin(hub)
            yield
        finally:
            for task in (backfill, indexing):
                task.cancel()  # carried on at the next start
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await hub.email.stop()  # takes no more mail; messages being stored finish first
            await hub.fhir.stop()  # hands an import in progress back, resumed at the next start
            await hub.snooze.stop()
            await hub.floor.stop()
            await hub.csat.stop()
            await hub.reports.stop()
            await hub.routing.stop()
            await hub.bot.stop()  # a turn in flight finishes through the writer
            await hub.voice.stop()  # abandons transcriptions in flight, hands them back for the next start
            await hub.media.stop()  # hands fetches in flight back, for the next start
            await hub.outbox.stop()  # lets in-flight sends settle
            await hub.writer.stop()  # answers everything submitted, publishes its events
            await hub.fanout.stop()
            await hub.read_engine.dispose()

    def provide(value: Any) -> Provide:
        return Provide(lambda: value, use_cache=True, sync_to_thread=False)

    auth = make_session_auth(hub.principals, settings.security.idle_timeout_s, settings.secure_cookies, PUBLIC)
    handlers: list[Any] = [
        health,
        web_catalog,
        api_inbound,
        sms_inbound,
        sms_status,
        voicemail,
        sendgrid_inbound,
        mailgun_inbound,
        outbox,
        delivery_status,
        media_file,
        playable_file,
        search,
        email_source,
        email_html,
        TemplateController,
        check_language,
        fill_in,
        fill_in_canned,
        CannedController,
        configured_channels,
        stream,
        WebchatController,
        upload_voice,
        visitor_socket,
        AuthController,
        BreakGlassController,
        PresenceController,
        ScheduleController,
        StaffController,
        TeamController,
        ConversationController,
        PatientController,
        DirectoryController,
        CsvImportController,
        FhirController,
        AuditController,
        RedFlagController,
        FloorController,
        CsatController,
        webchat_csat,
        ReportsController,
        create_static_files_router(
            path="/", directories=[WEB], html_mode=True, include_in_schema=False, opt={"exclude_from_auth": True}
        ),
    ]
    if settings.server.bench_routes:
        handlers.append(hello)
    app = Litestar(
        route_handlers=handlers,
        lifespan=[lifespan],
        on_app_init=[auth.on_app_init],
        middleware=[DefineMiddleware(WebchatCORS, allowed=settings.webchat.allowed_origins)],
        before_send=[security_headers(settings.server.public_url.lower().startswith("https://"))],
        stores={"sessions": _session_store(settings)},
        csrf_config=CSRFConfig(
            secret=settings.security.secret,
            cookie_name="puente_csrf",
            header_name="x-csrf-token",
            cookie_samesite="strict",
            cookie_secure=settings.secure_cookies,
        ),
        dependencies={"hub": provide(hub)},
        openapi_config=OpenAPIConfig(title="Puente", version="0.1.0", path="/schema"),
        exception_handlers={
            Refused: render_refusal,
            ValidationException: validation_error,
            OperationalError: storage_unavailable,
            InterfaceError: storage_unavailable,
            SQLAlchemyTimeoutError: storage_unavailable,  # the pool is exhausted
            DBAPIError: database_error,  # asyncpg's killed connection comes as a bare DBAPIError
            ConnectionError: storage_unavailable,  # a refused connect, raised before SQLAlchemy wraps it
            IntegrityError: write_conflict,
            500: internal_error,
        },
        request_max_body_size=settings.server.max_body_bytes,
    )
    app.state.hub = hub
    document(app)
    return app
