"""search: a full-text index over the text search reads (hub/search/index.py).

SQLite: search_fts, a contentless FTS5 table (unicode61, accents removed, prefixes of 1 to 3 letters
indexed), its rowid the event's seq, its one column the event's folded text (its text when not yet
folded), and triggers that keep it in step with timeline_events in the event's own transaction, for
the kinds search shows. The events already stored are not indexed here: the counters row
search_fts_below holds the newest of them, and a starting hub indexes them in the background, newest
first (hub/search/index.py: fill_fts), so the upgrade is instant on a big table; the triggers leave
rows at or below that mark alone until then.

PostgreSQL: nothing here. A starting hub builds a GIN index CONCURRENTLY (writes go on meanwhile);
the downgrade drops it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

KINDS = "('message_in', 'message_out', 'note', 'transcript')"
BODY_NEW = "coalesce(new.search_text, new.text)"
BODY_OLD = "coalesce(old.search_text, old.text)"
INDEXED = "coalesce((SELECT value FROM counters WHERE name = 'search_fts_below'), 0)"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE VIRTUAL TABLE search_fts USING fts5(body, content='', "
        "tokenize='unicode61 remove_diacritics 2', prefix='1 2 3')"
    )
    op.execute(
        "INSERT INTO counters (name, value) SELECT 'search_fts_below', coalesce(max(seq), 0) FROM timeline_events"
    )
    op.execute(
        f"""CREATE TRIGGER search_fts_insert AFTER INSERT ON timeline_events
        WHEN new.kind IN {KINDS} AND {BODY_NEW} IS NOT NULL
        BEGIN INSERT INTO search_fts (rowid, body) VALUES (new.seq, {BODY_NEW}); END"""
    )
    op.execute(
        f"""CREATE TRIGGER search_fts_delete AFTER DELETE ON timeline_events
        WHEN old.kind IN {KINDS} AND {BODY_OLD} IS NOT NULL AND old.seq > {INDEXED}
        BEGIN INSERT INTO search_fts (search_fts, rowid, body) VALUES ('delete', old.seq, {BODY_OLD}); END"""
    )
    op.execute(
        f"""CREATE TRIGGER search_fts_update AFTER UPDATE OF kind, text, search_text ON timeline_events
        WHEN old.seq > {INDEXED}
        BEGIN
          INSERT INTO search_fts (search_fts, rowid, body) SELECT 'delete', old.seq, {BODY_OLD}
            WHERE old.kind IN {KINDS} AND {BODY_OLD} IS NOT NULL;
          INSERT INTO search_fts (rowid, body) SELECT new.seq, {BODY_NEW}
            WHERE new.kind IN {KINDS} AND {BODY_NEW} IS NOT NULL;
        END"""
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP INDEX IF EXISTS ix_timeline_events_search")
        return
    for trigger in ("search_fts_insert", "search_fts_delete", "search_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS search_fts")
    op.execute("DELETE FROM counters WHERE name = 'search_fts_below'")
