"""The single writer: every change to the database goes through here, in group commits.

Callers submit (batch function, item) and await the result. The writer drains whatever is
queued, runs consecutive items of the same function together in ONE transaction, commits
once, and only then resolves the callers' futures and hands the events to the realtime
layer. A request is therefore acknowledged only after its data is committed, and many
requests share one commit (one fsync) under load.

Batch functions are plain synchronous code on a sync Session: SQLite runs them in one
dedicated thread (one hop per batch), PostgreSQL through AsyncSession.run_sync (asyncpg).

If a batch fails as a whole (say a unique violation raced in from another process), each
item is retried alone so one bad item cannot sink its neighbours.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from hub.events import Published

log = logging.getLogger(__name__)

T = TypeVar("T")
Item = TypeVar("Item")
Result = TypeVar("Result")
Subscriber = Callable[[list[Published]], None]  # told, after each commit, what it published


_NEXT_SEQS = text("UPDATE counters SET value = value + :n WHERE name = 'seq' RETURNING value")
# Hub processes sharing PostgreSQL: every write transaction locks the sequence counter first (after
# any lock_first), so all take their locks in one order and none waits for a row while holding what
# the row's holder needs. Most would hold it to commit anyway, from their first new event on.
_COUNTER_FIRST = text("SELECT value FROM counters WHERE name = 'seq' FOR UPDATE")


class Tx:
    """One write transaction: its session, sequence numbers, and events to send after commit."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.published: list[Published] = []

    def allocate_seqs(self, n: int) -> range:
        """n fresh timeline sequence numbers. The counter row stays locked until commit, so
        numbers become visible in the order they were handed out, across processes too."""
        if n <= 0:
            return range(0)
        end = self.session.execute(_NEXT_SEQS, {"n": n}).scalar_one()
        return range(end - n + 1, end + 1)

    def publish_after_commit(self, published: Published) -> None:
        self.published.append(published)


BatchFn = Callable[[Tx, list[Any]], Sequence[Any]]
"""Runs a batch of items inside a transaction; returns one result (or exception) per item.
It must write nothing for an item whose result is an exception."""


class TxRunner(Protocol):
    async def run(self, work: Callable[[Session], T]) -> T:
        """Run work in a transaction on a sync Session; commit if it returns."""

    async def close(self) -> None:
        """Release the connection."""


class ThreadRunner:
    """SQLite: a sync engine driven from one dedicated thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="puente-writer")

    def _in_transaction(self, work: Callable[[Session], T]) -> T:
        with self._sessions() as session, session.begin():
            return work(session)

    async def run(self, work: Callable[[Session], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._in_transaction, work)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown(wait=True)


class GreenletRunner:
    """PostgreSQL: the same sync code, run by SQLAlchemy's greenlet bridge over asyncpg."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def run(self, work: Callable[[Session], T]) -> T:
        async with self._sessions() as session, session.begin():
            return await session.run_sync(work)

    async def close(self) -> None:
        await self._engine.dispose()


# Errors one item can cause (a unique key raced in, a value the database refuses): worth
# retrying the batch's items one by one. Anything else is the database's own failure.
_ITEM_FAULTS = (IntegrityError, DataError)


def _conflict(exc: BaseException) -> bool:
    """A deadlock or serialization failure: the whole transaction was rolled back."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) in ("40P01", "40001")


@dataclass
class _Job:
    fn: BatchFn
    item: Any
    future: asyncio.Future[Any] = field(repr=False)


_STOP: Any = object()


class Writer:
    def __init__(self, runner: TxRunner, subscribers: Sequence[Subscriber] = (), max_batch: int = 512) -> None:
        self._runner = runner
        self._subscribers: list[Subscriber] = list(subscribers)
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # committed transactions, for bench figures
        self.items = 0

    def subscribe(self, subscriber: Subscriber) -> None:
        """After every commit that published events, in commit order (the fan-out, the workers)."""
        self._subscribers.append(subscriber)

    async def submit(self, fn: Callable[[Tx, list[Item]], Sequence[Result | BaseException]], item: Item) -> Result:
        """Run fn on item in the next group commit; return its result once committed (or raise
        the exception fn returned for it, or the database's)."""
        if self._task is None or self._task.done():
            raise RuntimeError("writer is not running")
        job = _Job(fn, item, asyncio.get_running_loop().create_future())
        self._queue.put_nowait(job)
        return await job.future

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="puente-writer")

    async def stop(self) -> None:
        """Finish everything submitted so far, then stop and release the connection."""
        if self._task is None:
            return
        self._queue.put_nowait(_STOP)  # behind every job already queued
        await self._task
        self._task = None
        await self._runner.close()

    async def _loop(self) -> None:
        stopping = False
        while not stopping:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            if _STOP in batch:
                stopping = True
                batch = [job for job in batch if job is not _STOP]
                if not batch:
                    break
            try:
                await self._run(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never let the writer die; every job gets an answer
                # the type only: a database error's text carries the bound values (patient data)
                log.error("writer batch failed: %s", type(exc).__name__)
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(RuntimeError("write failed"))

    async def _run(self, batch: list[_Job], attempt: int = 1, conflicts: int = 0) -> None:
        try:
            results, published = await self._runner.run(lambda session: _transaction(session, batch))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if _conflict(exc) and conflicts < 4:
                # PostgreSQL broke a lock cycle with another hub process (or could not serialize):
                # nothing of the batch was written; running it again is what it asks for, after
                # a moment's jitter so the two do not meet the same way again.
                await asyncio.sleep(random.uniform(0, 0.02 * (conflicts + 1)))
                await self._run(batch, attempt, conflicts + 1)
                return
            if len(batch) == 1 and isinstance(exc, IntegrityError) and attempt < 3:
                # Another hub process committed the same new row (a first message from a new
                # number, say) a moment earlier: run again and find it.
                await self._run(batch, attempt + 1, conflicts)
                return
            if len(batch) == 1 or not isinstance(exc, _ITEM_FAULTS):
                # The database itself failed (locked, unreachable): every item gets the error
                # at once rather than waiting out the same failure one by one.
                _settle(batch, [exc] * len(batch))
                return
            log.warning("group commit of %d failed (%s); retrying one by one", len(batch), type(exc).__name__)
            for job in batch:
                await self._run([job])
            return
        self.batches += 1
        self.items += len(batch)
        _settle(batch, results)
        if published:
            for subscriber in self._subscribers:
                subscriber(published)


def takes_lock_first(key: int) -> Callable[[BatchFn], BatchFn]:
    """Marks a batch function whose transaction must hold PostgreSQL advisory lock `key` before
    it touches anything: taken at the transaction's start, whatever else shares the batch, so no
    transaction waits for the lock while holding a row (the sequence counter, a conversation)
    that its holder will need. SQLite has one writer and needs none."""

    def mark(fn: BatchFn) -> BatchFn:
        fn.lock_first = key  # type: ignore[attr-defined]
        return fn

    return mark


def _transaction(session: Session, batch: list[_Job]) -> tuple[list[Any], list[Published]]:
    tx = Tx(session)
    results: list[Any] = []
    runs = _runs(batch)
    if session.get_bind().dialect.name == "postgresql":
        for key in sorted({key for fn, _ in runs if (key := getattr(fn, "lock_first", None)) is not None}):
            session.execute(select(func.pg_advisory_xact_lock(key)))
        session.execute(_COUNTER_FIRST)
    for fn, group in runs:
        out = fn(tx, [job.item for job in group])
        if len(out) != len(group):
            raise RuntimeError(f"{fn.__name__} returned {len(out)} results for {len(group)} items")
        results.extend(out)
    return results, tx.published


def _runs(batch: list[_Job]) -> list[tuple[BatchFn, list[_Job]]]:
    """Consecutive jobs of the same function, in submission order."""
    runs: list[tuple[BatchFn, list[_Job]]] = []
    for job in batch:
        if runs and runs[-1][0] is job.fn:
            runs[-1][1].append(job)
        else:
            runs.append((job.fn, [job]))
    return runs


def _settle(batch: list[_Job], results: Sequence[Any]) -> None:
    for job, result in zip(batch, results, strict=True):
        if job.future.done():  # the caller went away
            continue
        if isinstance(result, BaseException):
            job.future.set_exception(result)
        else:
            job.future.set_result(result)
