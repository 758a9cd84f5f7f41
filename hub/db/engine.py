"""Engines for SQLite (aiosqlite for reads, pysqlite for the writer) and PostgreSQL (asyncpg)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from hub.settings import DatabaseSettings


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_pragmas(engine: Engine, db: DatabaseSettings, writer: bool) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        # WAL: readers never wait for the writer, and the writer never waits for readers.
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={db.sqlite_synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(db.sqlite_busy_timeout_ms)}")
        cur.close()
        if writer:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below

    if writer:

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Take the write lock when the transaction starts, not at its first write,
            # so a batch never fails half-way on a lock upgrade.
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(db: DatabaseSettings) -> AsyncEngine:
    """The engine reads use."""
    kwargs: dict[str, Any] = {"echo": db.echo}
    if not is_sqlite(db.url):
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    engine = create_async_engine(db.url, **kwargs)
    if is_sqlite(db.url):
        _sqlite_pragmas(engine.sync_engine, db, writer=False)
    return engine


def make_sqlite_writer_engine(db: DatabaseSettings) -> Engine:
    """The single writer's one connection to a SQLite file: synchronous pysqlite, used from
    one dedicated thread, so a whole group commit is one hop off the event loop instead of
    several per statement."""
    url = db.url.replace("sqlite+aiosqlite://", "sqlite://", 1)
    engine = create_engine(url, echo=db.echo, pool_size=1, max_overflow=0, connect_args={"check_same_thread": False})
    _sqlite_pragmas(engine, db, writer=True)
    return engine


def make_async_writer_engine(db: DatabaseSettings) -> AsyncEngine:
    """The single writer's connection to PostgreSQL."""
    return create_async_engine(db.url, echo=db.echo, pool_size=2, max_overflow=0, pool_pre_ping=True)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
