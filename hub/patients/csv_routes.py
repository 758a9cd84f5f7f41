"""CSV import of patients (hub/patients/csv_file.py reads a file, csv_rows.py checks its rows and
csv_import.py matches and imports them):

    POST /api/imports/csv               the file as the body; its columns, a guessed mapping, a run id
    POST /api/imports/csv/{id}/preview  a dry run with a mapping: what each row would do, row errors
    POST /api/imports/csv/{id}/start    import it (all or nothing), in the background
    GET  /api/imports/csv/{id}          the run: status and counts

Admins only: an import creates and changes many patients' records at once, which is the clinic's
set-up, like its channels and staff, not a call-centre task; supervisors coach and read, and a
supervisor who needs a list imported asks an admin. Every step is audited: the upload (its size and
columns), each dry run (the patients it matched), and the import (every patient created or updated).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import unquote

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody, PathParameter
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit, audit_row, write_audit_batch
from hub.bounds import MAX_ID
from hub.db.models import AuditEntry, ImportRun
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.deps import HubDep
from hub.i18n import _, language_of, translate
from hub.patients import csv_file, csv_import, csv_rows
from hub.refusals import Refused, one_by_one

RunPath = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
SHOWN_ROWS = 500  # a preview lists at most this many rows, those with problems first
STALE = timedelta(minutes=15)  # a run 'running' this long without a word was interrupted (a restart)
NO_RUN = _("No CSV import {id}.")
DONE = _("This file was imported already: upload it again to import it again.")


class Mapping(msgspec.Struct, forbid_unknown_fields=True):
    mapping: dict[str, str | None]
    date_order: Literal["mdy", "dmy", "ymd"] = "mdy"


class Upload(msgspec.Struct):
    id: int
    filename: str | None
    encoding: str
    delimiter: str
    columns: list[str]
    mapping: dict[str, str | None]
    date_order: str
    rows: int
    sample: list[list[str]]  # the first rows, as read


class RowProblem(msgspec.Struct):
    code: str
    field: str
    message: str
    severity: Literal["error", "warning"]


class PreviewRow(msgspec.Struct):
    line: int
    action: str  # create, update, unchanged, error
    name: str | None
    patient_id: int | None
    changes: list[str]
    problems: list[RowProblem]


class Preview(msgspec.Struct):
    id: int
    counts: dict[str, int]
    rows: list[PreviewRow]  # those with errors or warnings first, then by line; at most SHOWN_ROWS
    shown: int
    mapping: dict[str, str | None]
    date_order: str


class Run(msgspec.Struct):
    id: int
    status: str  # uploaded, running, done, failed
    filename: str | None
    rows: int
    counts: dict[str, int]
    error: str | None
    created_at: datetime
    finished_at: datetime | None


def _run_out(r: ImportRun, now: datetime) -> Run:
    status, error = r.status, r.error
    if status == "running" and r.updated_at and now - r.updated_at > STALE:
        status, error = "failed", "interrupted (the hub stopped during the import): start it again"
    return Run(
        r.id,
        status,
        r.state.get("filename"),
        int(r.state.get("rows", 0)),
        dict(r.counts),
        error,
        r.created_at,
        r.finished_at,
    )  # noqa: E501


def _table(run: ImportRun) -> tuple[list[str], list[list[str]]]:
    headers, rows, _delimiter = csv_file.read_text(run.state["text"])
    return headers, rows


def _problems(r: csv_rows.Row, locale: str) -> list[RowProblem]:
    return [
        RowProblem(code, f, translate(locale, message, **params), severity)
        for severity, found in (("error", r.errors), ("warning", r.warnings))
        for code, f, message, params in found
    ]


# --- writer batch functions -----------------------------------------------------------------------


def _create(tx: Tx, item: tuple[int, Origin, dict[str, Any], int]) -> int:
    agent_id, origin, state, size = item
    now = utcnow()
    run = ImportRun(
        kind="csv", status="uploaded", state=state, counts={}, started_by=agent_id, created_at=now, updated_at=now
    )  # noqa: E501
    tx.session.add(run)
    tx.session.flush()
    detail = {
        "run": run.id,
        "bytes": size,
        "rows": state["rows"],
        "columns": state["headers"],
        "encoding": state["encoding"],
    }  # noqa: E501
    add_audit(tx, AuditRecord(AuditAction.CSV_UPLOAD, agent_id, origin, detail=detail))
    return run.id


def _claim(tx: Tx, item: tuple[int, dict[str, Any]]) -> None:
    """The run becomes 'running' with its mapping, unless it is running already or done."""
    run_id, chosen = item
    run = tx.session.get(ImportRun, run_id, with_for_update=True)
    if run is None or run.kind != "csv":
        raise Refused(404, NO_RUN, id=run_id)
    if run.status == "done":
        raise Refused(409, DONE)
    if run.status == "running" and run.updated_at and utcnow() - run.updated_at <= STALE:
        raise Refused(409, _("This file is being imported now."))
    run.state = {**run.state, **chosen}
    run.status, run.error, run.counts, run.updated_at = "running", None, {}, utcnow()


def _import(tx: Tx, item: tuple[int, int, Origin, list[csv_rows.Row]]) -> dict[str, int]:
    """The whole file in this one transaction: every row (read and normalised before, outside it)
    matched again against the records as they are now, stored, audited; the run done and its text
    dropped. Any exception rolls all of it back."""
    run_id, agent_id, origin, rows = item
    s: Session = tx.session
    run = s.get(ImportRun, run_id, with_for_update=True)
    assert run is not None
    csv_import.match(s, rows)
    created, updated = csv_import.store(s, rows)
    counts = csv_import.counts(rows)
    per_patient = [
        audit_row(AuditRecord(AuditAction.CSV_IMPORT, agent_id, origin, pid, detail={"run": run_id, "created": True}))
        for pid in created
    ] + [
        audit_row(
            AuditRecord(
                AuditAction.CSV_IMPORT, agent_id, origin, r.patient_id, detail={"run": run_id, "changed": r.changes}
            )
        )  # noqa: E501
        for r in rows
        if r.action == "update"
    ]
    for i in range(0, len(per_patient), 1000):
        s.execute(AuditEntry.__table__.insert(), per_patient[i : i + 1000])
    add_audit(tx, AuditRecord(AuditAction.CSV_IMPORT, agent_id, origin, detail={"run": run_id, "counts": counts}))
    state = {k: v for k, v in run.state.items() if k != "text"}  # the file is not kept once imported
    s.execute(
        update(ImportRun)
        .where(ImportRun.id == run_id)
        .values(status="done", counts=counts, state=state, updated_at=utcnow(), finished_at=utcnow(), error=None)
    )
    return counts


def _failed(tx: Tx, item: tuple[int, str]) -> None:
    run_id, error = item
    tx.session.execute(
        update(ImportRun).where(ImportRun.id == run_id).values(status="failed", error=error, updated_at=utcnow())
    )


claim = one_by_one(_claim)
create = one_by_one(_create)


def run_import(tx: Tx, items: list[tuple[int, int, Origin, list[csv_rows.Row]]]) -> list[Any]:
    """One import per transaction: the writer never groups two files (or anything else) with one."""
    return [_import(tx, item) for item in items]


def mark_failed(tx: Tx, items: list[tuple[int, str]]) -> list[None]:
    for item in items:
        _failed(tx, item)
    return [None] * len(items)


_running: set[asyncio.Task[None]] = set()


async def _rows(run: ImportRun, mapping: dict[str, str | None], order: str, region: str) -> list[csv_rows.Row]:
    """The file's rows read and checked on their own: CPU work (phonenumbers, email_validator, about
    0.1 ms a row), in a thread, so neither the event loop nor the writer waits for it."""
    headers, table = _table(run)
    return await asyncio.to_thread(csv_rows.read_rows, headers, table, mapping, csv_file.DateOrder(order), region)


async def _work(hub: Any, run_id: int, agent_id: int, origin: Origin) -> None:
    try:
        async with hub.read_sessions() as s:
            run = await s.get(ImportRun, run_id)
            assert run is not None
            region = hub.settings.clinic.default_region
            rows = await _rows(run, run.state["mapping"], run.state["date_order"], region)
        await hub.writer.submit(run_import, (run_id, agent_id, origin, rows))
    except Exception as exc:  # nothing was stored; the run says why in words without patient data
        with contextlib.suppress(Exception):
            await hub.writer.submit(
                mark_failed, (run_id, f"the import failed and stored nothing ({type(exc).__name__})")
            )


class CsvImportController(Controller):
    path = "/api/imports/csv"
    guards = [requires(Role.ADMIN)]

    @post("/", request_max_body_size=csv_file.MAX_BYTES + 1)
    async def upload(self, request: Request[Principal, Any, Any], hub: HubDep) -> Upload:
        """The CSV file as the request body (any content type); its name in X-Filename if wanted."""
        data = await request.body()
        try:
            headers, rows, encoding, delimiter, text = await asyncio.to_thread(csv_file.read_table, data)
        except csv_file.CsvRefused as refusal:
            raise Refused(400, refusal.message, **refusal.params) from None
        mapping = csv_file.guess_mapping(headers)
        order = csv_file.guess_date_order(headers, rows, mapping)
        filename = unquote(request.headers.get("x-filename") or "").strip()[:200] or None
        state = {
            "filename": filename,
            "encoding": encoding,
            "delimiter": delimiter,
            "headers": headers,
            "rows": sum(map(csv_file.filled, rows)),
            "text": text,
            "mapping": mapping,
            "date_order": order.value,
        }
        run_id = await hub.writer.submit(create, (request.user.id, Origin.of(request), state, len(data)))
        kept = [row for row in rows if csv_file.filled(row)]
        return Upload(run_id, filename, encoding, delimiter, headers, mapping, order.value, len(kept), kept[:3])

    @post("/{run_id:int}/preview", status_code=200)
    async def preview(
        self, request: Request[Principal, Any, Any], hub: HubDep, run_id: RunPath, data: JSONBody[Mapping]
    ) -> Preview:
        """A dry run: what each row would do with this mapping, and every row's errors. Nothing is stored."""
        locale = language_of(request)
        async with hub.read_sessions() as s:
            run = await s.get(ImportRun, run_id)
            if run is None or run.kind != "csv":
                raise Refused(404, NO_RUN, id=run_id)
            if "text" not in run.state:
                raise Refused(409, DONE)
            try:
                csv_file.check_mapping(_table(run)[0], data.mapping)
            except csv_file.CsvRefused as refusal:
                raise Refused(400, refusal.message, **refusal.params) from None
            rows = await _rows(run, data.mapping, data.date_order, hub.settings.clinic.default_region)
            await s.run_sync(csv_import.match, rows)
        ordered = sorted(rows, key=lambda r: (not (r.errors or r.warnings), r.line))[:SHOWN_ROWS]
        shown = [
            PreviewRow(r.line, r.action, r.name, r.patient_id, r.changes, _problems(r, locale))
            for r in sorted(ordered, key=lambda r: (not (r.errors or r.warnings), r.line))
        ]
        counts = csv_import.counts(rows)
        matched = sorted({r.patient_id for r in rows if r.patient_id is not None})
        await hub.writer.submit(
            write_audit_batch,
            AuditRecord(
                AuditAction.CSV_PREVIEW,
                request.user.id,
                Origin.of(request),
                detail={"run": run_id, "counts": counts, "patient_ids": matched},
            ),
        )
        return Preview(run_id, counts, shown, len(shown), data.mapping, data.date_order)

    @post("/{run_id:int}/start", status_code=202)
    async def start(
        self, request: Request[Principal, Any, Any], hub: HubDep, run_id: RunPath, data: JSONBody[Mapping]
    ) -> Run:
        """Import the file with this mapping, in the background: all of it, or (on a failure) nothing.
        Rows with errors are left out (the preview lists them). GET the run for its progress."""
        async with hub.read_sessions() as s:
            run = await s.get(ImportRun, run_id)
            if run is None or run.kind != "csv":
                raise Refused(404, NO_RUN, id=run_id)
            if "text" in run.state:
                try:
                    csv_file.check_mapping(_table(run)[0], data.mapping)
                except csv_file.CsvRefused as refusal:
                    raise Refused(400, refusal.message, **refusal.params) from None
        chosen = {"mapping": data.mapping, "date_order": data.date_order}
        await hub.writer.submit(claim, (run_id, chosen))
        task = asyncio.create_task(_work(hub, run_id, request.user.id, Origin.of(request)), name=f"puente-csv-{run_id}")
        _running.add(task)
        task.add_done_callback(_running.discard)
        async with hub.read_sessions() as s:
            run = await s.get(ImportRun, run_id)
            assert run is not None
            return _run_out(run, utcnow())

    @get("/{run_id:int}")
    async def show(self, hub: HubDep, run_id: RunPath) -> Run:
        """The run: uploaded, running, done (with its counts) or failed (with why; nothing stored)."""
        async with hub.read_sessions() as s:
            run = (await s.execute(select(ImportRun).where(ImportRun.id == run_id))).scalar_one_or_none()
            if run is None or run.kind != "csv":
                raise Refused(404, NO_RUN, id=run_id)
            return _run_out(run, utcnow())
