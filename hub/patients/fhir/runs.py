"""An EHR import's life, one writer command per step: started (one at a time, from where the last
finished import left off unless it is a full one), claimed by one hub process (queued, or running
but left by a dead process or not written to for LEASE), failed with its cursor kept for a resume,
and handed back when a hub stops. Starting, resuming and claiming take a PostgreSQL advisory lock
first, so one process at a time decides which import runs. Pages are written by
hub/patients/fhir/store.py.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from typing import Any

import msgspec
from sqlalchemy import insert, select

from hub.audit.record import AuditAction, AuditRecord, Origin, audit_row
from hub.db.models import AuditEntry, ImportRun
from hub.db.types import utcnow
from hub.db.writer import Tx, takes_lock_first

KINDS = ("Patient", "Appointment")  # patients first: an appointment names its patient
LEASE = timedelta(seconds=120)  # a running import nobody has written to this long is taken over
_RUN_LOCK = 0x46484952  # PostgreSQL advisory lock: one process at a time decides which import runs
COUNTERS = (
    "patients_created",
    "patients_updated",
    "patients_unchanged",
    "patients_matched",  # an existing record (by number or verified address) linked to the EHR's
    "appointments_created",
    "appointments_updated",
    "appointments_unchanged",
    "errors",  # resources skipped (malformed, an appointment whose patient is unknown)
    "invalid_contacts",  # phones and emails that reach nobody, dropped
    "conflicts",  # a number or address that belongs to another patient, left there
    "pages",
    "resources",
)


class RunSnapshot(msgspec.Struct, frozen=True):
    id: int
    state: dict[str, Any]
    counts: dict[str, Any]


class Owner(msgspec.Struct, frozen=True):
    """A hub process that works on imports: host, pid, and this start's nonce."""

    claimant: str

    @classmethod
    def here(cls, nonce: str) -> Owner:
        return cls(f"{socket.gethostname()[:40]}:{os.getpid()}:{nonce}")

    def dead(self, other: str | None) -> bool:
        """Whether `other` is a process on this host that is gone (a crash, a kill -9, a restart
        of the container that reused its pid)."""
        if not other:
            return True
        host, _, rest = other.partition(":")
        pid, _, nonce = rest.partition(":")
        mine_host, _, mine_rest = self.claimant.partition(":")
        mine_pid, _, mine_nonce = mine_rest.partition(":")
        if host != mine_host or not pid.isdigit():
            return False  # another machine: only its lease running out tells
        if pid == mine_pid:
            return nonce != mine_nonce
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


class NewRun(msgspec.Struct, frozen=True):
    kind: str  # fhir
    started_by: int | None
    full: bool  # everything, not only what changed since the last import
    origin: Origin | None = None  # None: started by the sync interval


class Finish(msgspec.Struct, frozen=True):
    run_id: int
    claimant: str
    error: str | None  # None: done


def _last_done_since(s: Any) -> dict[str, str | None]:
    last = s.execute(
        select(ImportRun).where(ImportRun.kind == "fhir", ImportRun.status == "done").order_by(ImportRun.id.desc())
    ).scalar()
    return dict((last.state or {}).get("since_next") or {}) if last else {}


@takes_lock_first(_RUN_LOCK)
def start_run(tx: Tx, items: list[NewRun]) -> list[Any]:
    """A new import, unless one is queued or running (then that one's id, and False)."""
    out: list[Any] = []
    for item in items:
        s = tx.session
        active = s.execute(
            select(ImportRun.id).where(ImportRun.kind == item.kind, ImportRun.status.in_(("queued", "running")))
        ).scalar()
        if active is not None:
            out.append((active, False))
            continue
        since = {} if item.full else _last_done_since(s)
        run = ImportRun(
            kind=item.kind,
            status="queued",
            state={"phase": KINDS[0], "next": None, "since": since, "full": item.full, "errors": []},
            counts=dict.fromkeys(COUNTERS, 0),
            started_by=item.started_by,
            updated_at=utcnow(),
        )
        s.add(run)
        s.flush()
        if item.origin is not None:
            s.execute(
                insert(AuditEntry),
                [
                    audit_row(
                        AuditRecord(
                            AuditAction.FHIR_IMPORT_START,
                            item.started_by,
                            item.origin,
                            detail={"run": run.id, "full": item.full},
                        )
                    )
                ],
            )
        out.append((run.id, True))
    return out


class Resume(msgspec.Struct, frozen=True):
    run_id: int
    agent_id: int
    origin: Origin


@takes_lock_first(_RUN_LOCK)
def resume_run(tx: Tx, items: list[Resume]) -> list[Any]:
    """A failed import queued again from its cursor; None when it is not a failed one (or another
    is active)."""
    out: list[Any] = []
    for item in items:
        s = tx.session
        run = s.get(ImportRun, item.run_id, with_for_update=True)
        active = s.execute(
            select(ImportRun.id).where(ImportRun.kind == "fhir", ImportRun.status.in_(("queued", "running")))
        ).scalar()
        if run is None or run.kind != "fhir" or run.status != "failed" or active is not None:
            out.append(None)
            continue
        run.status, run.error, run.finished_at, run.updated_at = "queued", None, None, utcnow()
        s.execute(
            insert(AuditEntry),
            [
                audit_row(
                    AuditRecord(
                        AuditAction.FHIR_IMPORT_START,
                        item.agent_id,
                        item.origin,
                        detail={"run": run.id, "resumed": True},
                    )
                )
            ],
        )
        out.append(run.id)
    return out


@takes_lock_first(_RUN_LOCK)
def claim_run(tx: Tx, items: list[Owner]) -> list[RunSnapshot | None]:
    """The import this process should work on: queued, or running but left by a dead process (or
    not written to for LEASE); now ours."""
    out: list[RunSnapshot | None] = []
    for owner in items:
        s = tx.session
        now = utcnow()
        found: RunSnapshot | None = None
        for run in s.execute(
            select(ImportRun)
            .where(ImportRun.kind == "fhir", ImportRun.status.in_(("queued", "running")))
            .order_by(ImportRun.id)
            .with_for_update()
        ).scalars():
            holder = (run.state or {}).get("owner")
            if run.status == "running" and holder != owner.claimant:
                stale = run.updated_at is None or run.updated_at < now - LEASE
                if not (stale or owner.dead(holder)):
                    continue
            run.status = "running"
            run.state = {**(run.state or {}), "owner": owner.claimant}
            run.updated_at = now
            found = RunSnapshot(run.id, dict(run.state), dict(run.counts or {}))
            break
        out.append(found)
    return out


def finish_run(tx: Tx, items: list[Finish]) -> list[None]:
    """An import that could not go on: failed, with the reason; its cursor kept for a resume."""
    for item in items:
        run = tx.session.get(ImportRun, item.run_id, with_for_update=True)
        if run is None or run.status != "running" or (run.state or {}).get("owner") != item.claimant:
            continue
        run.status, run.error, run.finished_at, run.updated_at = "failed", (item.error or "")[:500], utcnow(), utcnow()
    return [None] * len(items)


def release_run(tx: Tx, items: list[str]) -> list[None]:
    """A stopping hub hands its import back: queued again, resumed from its cursor by the next start."""
    for claimant in items:
        for run in tx.session.execute(
            select(ImportRun).where(ImportRun.kind == "fhir", ImportRun.status == "running").with_for_update()
        ).scalars():
            if (run.state or {}).get("owner") == claimant:
                run.status, run.updated_at = "queued", utcnow()
    return [None] * len(items)
