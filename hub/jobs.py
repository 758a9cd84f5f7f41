"""Job rows, whatever the work (a media fetch, a voice note): pending, claimed by one process
(`claimed_by`, `claimed_at`), then settled. What every such table shares lives here: claiming
due rows, handing claims back at a stop, and requeueing (or failing) claims nobody kept up.
What a job is, and how it ends, stays with its queue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import func, select

from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.refusals import JobFailure


class Claim(msgspec.Struct, frozen=True):
    limit: int
    claimant: str


class Sweep(msgspec.Struct, frozen=True):
    stale_after_s: float
    max_attempts: int


def due_rows(tx: Tx, model: Any, limit: int, now: datetime) -> list[Any]:
    """Pending rows whose time has come, oldest first; rows another process holds are skipped."""
    return list(
        tx.session.execute(
            select(model)
            .where(model.state == "pending", model.next_attempt_at <= now)
            .order_by(model.next_attempt_at, model.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars()
    )


def take(row: Any, working: str, claimant: str, now: datetime) -> None:
    row.state, row.attempts, row.claimed_by, row.claimed_at = working, row.attempts + 1, claimant, now


def next_due(tx: Tx, model: Any) -> datetime | None:
    """When the earliest row still pending falls due."""
    tx.session.flush()
    return tx.session.execute(select(func.min(model.next_attempt_at)).where(model.state == "pending")).scalar()


def hand_back(tx: Tx, model: Any, working: str, claimant: str) -> int:
    """A stopping hub hands back what it was working on: pending again, the attempt not counted."""
    rows = list(
        tx.session.execute(
            select(model).where(model.state == working, model.claimed_by == claimant).with_for_update()
        ).scalars()
    )
    for row in rows:
        row.state, row.claimed_by, row.claimed_at = "pending", None, None
        row.attempts = max(0, row.attempts - 1)
        row.next_attempt_at = utcnow()
    return len(rows)


def requeue_stale(tx: Tx, model: Any, working: str, sweep: Sweep, fail: Callable[[Any], None]) -> int:
    """Claims nobody kept up (a hub that died mid-work): pending again, or, with their attempts
    used up, `fail`ed visibly."""
    rows = list(
        tx.session.execute(
            select(model)
            .where(model.state == working, model.claimed_at < utcnow() - timedelta(seconds=sweep.stale_after_s))
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    for row in rows:
        row.claimed_by = row.claimed_at = None
        if row.attempts < sweep.max_attempts:
            row.state, row.next_attempt_at = "pending", utcnow()
        else:
            fail(row)
    return len(rows)


class JobOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """What one attempt at a job came to, beside its own result (a queue adds `due` and that): a
    failure's code and reason, and whether it is worth another try (`transient`, up to
    max_attempts, retry_base_s x 4^n apart)."""

    code: str | None = None
    params: dict[str, Any] = {}
    transient: bool = False
    error: str | None = None  # the reason in English, for the record and the event
    max_attempts: int = 3
    retry_base_s: float = 5.0

    @classmethod
    def failed(cls, due: Any, failure: JobFailure, max_attempts: int, retry_base_s: float) -> Any:
        return cls(
            due=due,  # type: ignore[call-arg]
            code=failure.code,
            params=failure.params,
            transient=failure.transient,
            error=failure.text()[:300],
            max_attempts=max_attempts,
            retry_base_s=retry_base_s,
        )


def retry_or_fail(row: Any, outcome: JobOutcome, attempt: int) -> bool:
    """A failed attempt on its row: the reason kept, pending again while worth it, else failed.
    Returns whether the job ended (failed) and must be finished by its queue."""
    row.error_code, row.error, row.error_params = outcome.code, outcome.error, dict(outcome.params)
    if outcome.transient and attempt < outcome.max_attempts:
        row.state, row.next_attempt_at = "pending", utcnow() + backoff(attempt, outcome.retry_base_s)
        return False
    row.state = "failed"
    return True


def interrupt(row: Any, failure: JobFailure) -> None:
    """A job whose claims kept dying (a hub stopped mid-work each time): failed, with the reason."""
    row.state, row.error_code, row.error, row.error_params = "failed", failure.code, failure.text(), {}


def backoff(attempt: int, base_s: float = 1.0) -> timedelta:
    """base, 4 x base, 16 x base, ... between attempts."""
    return timedelta(seconds=base_s * 4 ** (attempt - 1))
