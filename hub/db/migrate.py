"""Run Alembic migrations from code, so every entry point starts on the current schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


# Made by migrations, not described by the models: SQLite's full-text table (a virtual table and its
# shadow tables) and PostgreSQL's expression index for search (hub/search/index.py); the reports'
# covering index, whose form differs by database (migration 0019).
NOT_IN_MODELS = ("search_fts", "ix_timeline_events_search", "ix_report_conversations_cover")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """For Alembic's comparison with the models: what the models describe."""
    return not (name and name.startswith(NOT_IN_MODELS))


def upgrade(url: str, revision: str = "head") -> None:
    """Blocking; call it from a thread when an event loop is running."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)
