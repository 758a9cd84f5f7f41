"""Engines and sessions for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from hub.settings import DatabaseSettings


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(db: DatabaseSettings, *, writer: bool = False) -> AsyncEngine:
    """writer=True: the one connection the single writer uses."""
    kwargs: dict[str, Any] = {"echo": db.echo}
    if not is_sqlite(db.url):
        kwargs.update(pool_size=2 if writer else 10, max_overflow=0 if writer else 10, pool_pre_ping=True)
    elif writer:
        kwargs.update(pool_size=1, max_overflow=0)
    engine = create_async_engine(db.url, **kwargs)
    if is_sqlite(db.url):
        synchronous = db.sqlite_synchronous

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL: readers never wait for the writer, and the writer never waits for readers.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()
            if writer:
                dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below

        if writer:

            @event.listens_for(engine.sync_engine, "begin")
            def _begin_immediate(conn: Any) -> None:
                # Take the write lock when the transaction starts, not at its first write,
                # so a batch never fails half-way on a lock upgrade.
                conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
