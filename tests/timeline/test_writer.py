"""The group-commit writer on a real SQLite file: isolation of a bad item, publish after commit,
sequence numbers in commit order."""

from __future__ import annotations

import asyncio
import sqlite3

from sqlalchemy import insert

from hub.db.engine import make_sqlite_writer_engine
from hub.db.migrate import upgrade
from hub.db.models import AuditEntry
from hub.db.types import utcnow
from hub.db.writer import ThreadRunner, Tx, Writer
from hub.settings import DatabaseSettings


def _write_row(tx: Tx, items: list[str]) -> list[object]:
    out: list[object] = []
    for label in items:
        if label.startswith("bad"):
            # fails inside the database, after the other items of the batch already wrote
            tx.session.execute(insert(AuditEntry), [{"id": 1, "at": utcnow(), "action": label, "detail": {}}])
        (seq,) = tx.allocate_seqs(1)
        tx.session.execute(insert(AuditEntry), [{"at": utcnow(), "action": label, "detail": {"seq": seq}}])
        out.append(seq)
    return out


async def test_one_bad_item_does_not_sink_its_batch_and_events_follow_commits(tmp_path):
    path = tmp_path / "w.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade, url)
    runner = ThreadRunner(make_sqlite_writer_engine(DatabaseSettings(url=url)))
    writer = Writer(runner)
    writer.start()
    await writer.submit(_write_row, "first")  # id 1 exists now, so "bad" items collide on it
    results = await asyncio.gather(
        *(writer.submit(_write_row, label) for label in ["a", "b", "bad-1", "c", "bad-2", "d"]),
        return_exceptions=True,
    )
    ok = [r for r in results if not isinstance(r, BaseException)]
    assert [type(r).__name__ for r in results if isinstance(r, BaseException)] == ["IntegrityError"] * 2
    assert ok == sorted(ok) and len(set(ok)) == 4
    with sqlite3.connect(path) as db:
        actions = [a for (a,) in db.execute("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["first", "a", "b", "c", "d"]  # nothing of the bad items
    await writer.stop()


async def test_published_events_are_already_committed(tmp_path):
    path = tmp_path / "p.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade, url)
    runner = ThreadRunner(make_sqlite_writer_engine(DatabaseSettings(url=url)))
    visible: list[bool] = []

    def write(tx: Tx, items: list[str]) -> list[None]:
        for label in items:
            tx.session.execute(insert(AuditEntry), [{"at": utcnow(), "action": label, "detail": {}}])
            tx.publish_after_commit(label)  # type: ignore[arg-type]  # stands for any frame
        return [None] * len(items)

    def on_commit(published: list) -> None:
        with sqlite3.connect(path) as db:  # another connection: only committed rows
            visible.append(db.execute("SELECT count(*) FROM audit_log").fetchone()[0] >= len(published))

    writer = Writer(runner, [on_commit])
    writer.start()
    await asyncio.gather(*(writer.submit(write, f"x{i}") for i in range(50)))
    assert visible and all(visible)
    assert writer.batches < writer.items == 50  # requests shared commits
    await writer.stop()
