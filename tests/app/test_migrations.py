"""Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from hub.db.migrate import alembic_config, include_name, upgrade
from hub.db.models import Base
from tests.support.services import PostgresDatabase


async def _diff_and_tables(url: str) -> tuple[list, set[str]]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        opts = {"include_name": include_name}  # not the full-text index: the models cannot describe it
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c, opts=opts), Base.metadata))
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return diff, tables


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
        return
    pg = PostgresDatabase()
    yield pg.url
    pg.drop()


def test_upgrade_matches_models_and_downgrade_removes_everything(db_url):
    from alembic import command

    upgrade(db_url)
    diff, tables = asyncio.run(_diff_and_tables(db_url))
    assert diff == []
    assert set(Base.metadata.tables) <= tables
    upgrade(db_url)  # idempotent
    command.downgrade(alembic_config(db_url), "base")
    _, tables = asyncio.run(_diff_and_tables(db_url))
    assert tables <= {"alembic_version"}


@pytest.mark.parametrize("any_hub_server", ["sqlite-memory", "postgres-memory"], indirect=True)
def test_search_text_is_filled_in_for_events_stored_before_it(any_hub_server):
    """0010 only adds the column (instant on a big table); a starting hub folds the text of every
    event stored before it in the background (here the demo clinic's, written by a hub, then the
    column taken away as if they predated it), and search finds them."""
    from alembic import command
    from sqlalchemy import text

    from tests.support.clients import Staff
    from tests.support.server import HubServer

    url = any_hub_server.settings.database.url
    any_hub_server.stop()
    command.downgrade(alembic_config(url), "0009")
    upgrade(url)

    async def read() -> list[tuple[str, str | None]]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(text("SELECT text, search_text FROM timeline_events WHERE text IS NOT NULL"))
                return [tuple(r) for r in rows]
        finally:
            await engine.dispose()

    before = asyncio.run(read())
    assert before and all(folded is None for _, folded in before)
    again = HubServer(any_hub_server.settings).start()
    try:
        deadline = time.monotonic() + 20
        rows = asyncio.run(read())
        while any(folded is None for _, folded in rows) and time.monotonic() < deadline:
            time.sleep(0.1)
            rows = asyncio.run(read())
        assert all(folded is not None for _, folded in rows)
        assert ("El lunes en la mañana, por favor", "el lunes en la manana, por favor") in rows
        hits = Staff(again.base_url, "admin").get("/api/search", params={"q": "manana LUNES"}).json()["hits"]
        assert [h["event"]["text"] for h in hits] == ["El lunes en la mañana, por favor"]
    finally:
        again.stop()
