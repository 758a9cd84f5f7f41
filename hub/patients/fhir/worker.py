"""Imports from the EHR, on the hub's one job loop (hub/job_worker.py): a page per turn.

Each turn claims the import to work on (queued, or running but left by a dead process), fetches the
page its cursor points at, maps it, and writes its records with the cursor after it in one writer
transaction. Patients first, then appointments; each search asks for what changed since the last
finished import (`_lastUpdated=gt...`), unless the import was started as a full one. A hub killed
mid-import resumes at the page it was on; a stopping hub hands the import back. With
PUENTE_FHIR_SYNC_INTERVAL_S set, an import starts by itself that often."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db.models import ImportRun
from hub.db.types import utcnow
from hub.db.writer import Writer
from hub.job_worker import WorkerLoop
from hub.patients.fhir.client import FhirClient, FhirError, Page, configured, search_url
from hub.patients.fhir.mapping import Malformed, appointment_record, patient_record, resource_id
from hub.patients.fhir.runs import (
    KINDS,
    Finish,
    NewRun,
    Owner,
    RunSnapshot,
    claim_run,
    finish_run,
    release_run,
    start_run,
)
from hub.patients.fhir.store import LostRun, PageWrite, Problem, apply_page
from hub.settings import Settings

log = logging.getLogger(__name__)


class Stopping(Exception):
    """The hub is stopping: the page under way is abandoned (its cursor is where it was)."""


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class FhirImportWorker(WorkerLoop):
    kind = "fhir"

    def __init__(
        self,
        settings: Settings,
        writer: Writer,
        read_sessions: async_sessionmaker[AsyncSession],
        http: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(writer)
        self.settings = settings.fhir
        self._region = settings.clinic.default_region
        self._read_sessions = read_sessions
        self._given_http = http
        self._http: httpx.AsyncClient | None = None
        self._client: FhirClient | None = None
        self.owner = Owner.here(uuid.uuid4().hex[:8])
        self._run: RunSnapshot | None = None
        self._ahead: tuple[str, asyncio.Task[Page]] | None = None  # the next page, read while one is written
        self._halt = asyncio.Event()
        self.problem = configured(self.settings)  # why the link cannot run, or None
        if self.settings.sync_interval_s > 0:  # look at least as often as a sync falls due
            self.idle_poll_s = min(self.idle_poll_s, max(1.0, self.settings.sync_interval_s / 2))  # type: ignore[misc]

    async def start(self) -> None:
        if self.problem is not None:
            return  # no EHR link: nothing to run (the admin screen says why)
        self._http = self._given_http or httpx.AsyncClient(follow_redirects=False)
        self._client = FhirClient(self.settings, self._http, self._sleep)
        await self.start_loop()

    async def stop(self) -> None:
        if self._client is None:
            return
        self._halt.set()  # a wait for Retry-After or a backoff ends now
        await self.stop_loop()
        self._drop_ahead()
        try:
            await self._writer.submit(release_run, self.owner.claimant)
        except Exception as exc:  # the next start takes it over as a dead process's
            log.error("fhir release failed: %s", type(exc).__name__)
        if self._given_http is None and self._http is not None:
            await self._http.aclose()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._halt.wait(), seconds)
        if self._halt.is_set():
            raise Stopping

    async def start_import(self, started_by: int | None, full: bool, origin: Any = None) -> tuple[int, bool]:
        """A new import (or the one already active, and False)."""
        out = await self._writer.submit(start_run, NewRun("fhir", started_by, full, origin))
        self.wake()
        return out

    # --- the loop -------------------------------------------------------------------------------

    async def turn(self) -> float | None:
        if self._run is None:
            self._run = await self._writer.submit(claim_run, self.owner)
            if self._run is None:
                await self._maybe_sync()
                return None
        try:
            self._run = await self._page(self._run)
        except Stopping:
            self._run = None
            self._drop_ahead()
            return None
        except LostRun:
            self._run = None
            self._drop_ahead()
            return 0.0
        except FhirError as exc:
            run, self._run = self._run, None
            self._drop_ahead()
            log.warning("fhir import %d failed: %s", run.id, exc)
            await self._writer.submit(finish_run, Finish(run.id, self.owner.claimant, str(exc)))
            return None
        if self._run is not None and self._run.state.get("phase") == "done":
            log.info("fhir import %d done", self._run.id)
            self._run = None
        return 0.0  # the next page at once

    async def _maybe_sync(self) -> None:
        every = self.settings.sync_interval_s
        if every <= 0:
            return
        async with self._read_sessions() as s:
            last = (await s.execute(select(func.max(ImportRun.created_at)).where(ImportRun.kind == "fhir"))).scalar()
        if last is None or last <= utcnow() - timedelta(seconds=every):
            await self._writer.submit(start_run, NewRun("fhir", None, False))
            self.wake()

    async def _page(self, run: RunSnapshot) -> RunSnapshot | None:
        assert self._client is not None
        state = dict(run.state)
        kind = state.get("phase") or KINDS[0]
        since = (state.get("since") or {}).get(kind)
        url = state.get("next") or search_url(self.settings, kind, since)
        page = await self._fetch(url)
        write = self._map(run, kind, page)
        if page.next_url:  # read the next page while this one is written
            self._ahead = (page.next_url, asyncio.create_task(self._client.page(page.next_url)))
        try:
            return await self._writer.submit(apply_page, write)
        except BaseException:
            self._drop_ahead()
            raise

    async def _fetch(self, url: str) -> Page:
        assert self._client is not None
        if self._ahead is not None and self._ahead[0] == url:
            task, self._ahead = self._ahead[1], None
            return await task
        self._drop_ahead()
        return await self._client.page(url)

    def _drop_ahead(self) -> None:
        if self._ahead is None:
            return
        task, self._ahead = self._ahead[1], None
        if task.done():
            if not task.cancelled():
                task.exception()  # retrieved: a page read ahead that failed is simply read again
        else:
            task.cancel()

    def _map(self, run: RunSnapshot, kind: str, page: Page) -> PageWrite:
        state = dict(run.state)
        patients, appointments, problems, invalid = [], [], [], 0
        seen = [_instant(state.get("high", {}).get(kind))]
        for resource in page.resources:
            try:
                if kind == "Patient":
                    rec = patient_record(resource, self._region)
                    invalid += rec.invalid_contacts
                    patients.append(rec)
                else:
                    appt = appointment_record(resource)
                    appointments.append(appt)
                seen.append(_instant((patients[-1] if kind == "Patient" else appointments[-1]).last_updated))
            except Malformed as exc:
                problems.append(Problem(resource_id(resource), str(exc)))
        high = max((t for t in seen if t is not None), default=None)
        state["high"] = {**(state.get("high") or {}), **({kind: _iso(high)} if high else {})}
        if page.total is not None and not state.get("next"):
            state["total"] = {**(state.get("total") or {}), kind: page.total}
        if not state.get("next"):  # a search's first page: the server's now, for the next import
            state["searched_at"] = {**(state.get("searched_at") or {}), kind: page.searched_at}
        done = False
        if page.next_url:
            state["next"] = page.next_url
        else:
            state["next"] = None
            # The next import asks for what changed after this search began (the server's clock),
            # else after the newest change it saw.
            mark = _instant((state.get("searched_at") or {}).get(kind)) or high
            previous = (state.get("since") or {}).get(kind)
            state["since_next"] = {
                **(state.get("since_next") or {}),
                kind: _iso(mark) if mark else previous,
            }
            position = KINDS.index(kind)
            if position + 1 < len(KINDS):
                state["phase"] = KINDS[position + 1]
            else:
                state["phase"], done = "done", True
        return PageWrite(
            run.id,
            self.owner.claimant,
            kind,
            patients=patients,
            appointments=appointments,
            problems=problems,
            invalid_contacts=invalid,
            resources=len(page.resources),
            state=state,
            done=done,
        )
