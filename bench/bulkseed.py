"""Bulk-load timeline events straight into the hub's SQLite file (the server must be stopped).

Rows match hub/db/models.py as SQLAlchemy stores them on SQLite: datetimes as naive-UTC text
'YYYY-MM-DD HH:MM:SS.ffffff', JSON as text, booleans as 0/1. timeline_events.seq is ours to
assign, so counters.seq is moved to the new maximum, and each conversation's last_event_seq
and preview follow its newest event, as the server's own ingest would leave them.

One transaction per call, executemany over generated rows in chunks, WAL journal.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import phonenumbers

from hub.search.fold import fold

CHUNK = 50_000

INBOUND_TEXTS = [
    "Hi, I need to move my appointment on Thursday, please",
    "Can I get a refill of my prescription?",
    "Is the clinic open on Saturday morning?",
    "Hola, necesito cambiar mi cita de la próxima semana",
    "I got a bill I don't understand, can someone call me?",
    "Thanks! See you then.",
]
OUTBOUND_TEXTS = [
    "Of course. Which day works best for you?",
    "Your refill request has been sent to the pharmacy.",
    "Yes, Saturdays 9 am to 1 pm.",
    "¡Claro! ¿Qué día le queda mejor?",
]


@dataclass(frozen=True)
class SeededPatient:
    patient_id: int
    conversation_id: int
    phone: str


def bench_phone(i: int) -> str:
    """+1 650 556 0000.. : valid US numbers (checked), distinct from the ingest senders."""
    number = f"+1650556{i:04d}"
    if not phonenumbers.is_valid_number(phonenumbers.parse(number)):
        raise ValueError(f"{number} is not a valid phone number; pick another range")
    return number


def _ts(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def connect(db_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # a bench load; one commit at the end either way
    conn.execute("PRAGMA cache_size=-262144")  # 256 MiB: index maintenance stays in memory
    conn.execute("PRAGMA temp_store=MEMORY")
    return conn


def count_events(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM timeline_events").fetchone()[0]


def add_patients(conn: sqlite3.Connection, n: int) -> list[SeededPatient]:
    """n patients, each with one phone contact point and one open API conversation."""
    now = _ts(datetime.now(UTC) - timedelta(days=30))
    conn.execute("BEGIN IMMEDIATE")
    try:
        p0 = conn.execute("SELECT coalesce(max(id), 0) FROM patients").fetchone()[0]
        c0 = conn.execute("SELECT coalesce(max(id), 0) FROM conversations").fetchone()[0]
        k0 = conn.execute("SELECT coalesce(max(id), 0) FROM contact_points").fetchone()[0]
        out = [SeededPatient(p0 + 1 + i, c0 + 1 + i, bench_phone(i)) for i in range(n)]
        conn.executemany(
            "INSERT INTO patients (id, name, date_of_birth, preferred_language, preferred_channel, time_zone,"
            " created_at) VALUES (?, ?, NULL, ?, 'api', 'America/Los_Angeles', ?)",
            ((p.patient_id, f"Bench Patient {i:04d}", "es" if i % 3 == 0 else "en", now) for i, p in enumerate(out)),
        )
        conn.executemany(
            "INSERT INTO contact_points (id, patient_id, kind, address, verified, opted_out_at, created_at)"
            " VALUES (?, ?, 'phone', ?, 0, NULL, ?)",
            ((k0 + 1 + i, p.patient_id, p.phone, now) for i, p in enumerate(out)),
        )
        conn.executemany(
            "INSERT INTO conversations (id, patient_id, status, handler, assignee_id, team_id, priority, channel,"
            " opened_at, first_response_at, resolved_at, last_event_seq, last_message_at, last_inbound_at,"
            " last_inbound_channel, preview) VALUES (?, ?, 'open', 'agent', NULL, NULL, 0, 'api', ?, NULL, NULL, 0,"
            " NULL, NULL, NULL, NULL)",
            ((p.conversation_id, p.patient_id, now) for p in out),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return out


def add_events(
    conn: sqlite3.Connection,
    patients: list[SeededPatient],
    order: Iterable[int],
    agent_id: int | None,
) -> tuple[int, float]:
    """Append one event per index in `order` (an index into `patients`), in that order, in one
    transaction. Every third event is an agent's outbound reply, the rest inbound messages.
    Returns (rows added, seconds)."""
    t0 = time.perf_counter()
    # A --rev from before the folded search text has no such column.
    folded = "search_text" in {row[1] for row in conn.execute("PRAGMA table_info(timeline_events)")}
    conn.execute("BEGIN IMMEDIATE")
    try:
        seq0 = max(
            conn.execute("SELECT coalesce(max(seq), 0) FROM timeline_events").fetchone()[0],
            conn.execute("SELECT value FROM counters WHERE name = 'seq'").fetchone()[0],
        )
        last: dict[int, tuple[int, str]] = {}
        base = datetime.now(UTC) - timedelta(days=29)
        state = {"seq": seq0}

        def rows() -> Iterator[tuple[object, ...]]:
            seq = seq0
            stamp = _ts(base)
            for idx in order:
                seq += 1
                if seq % 1000 == 0:  # one timestamp per thousand rows keeps generation cheap
                    stamp = _ts(base + timedelta(seconds=seq))
                p = patients[idx]
                if seq % 3 == 0 and agent_id is not None:
                    text = OUTBOUND_TEXTS[seq % len(OUTBOUND_TEXTS)]
                    row = (
                        seq,
                        p.conversation_id,
                        p.patient_id,
                        "message_out",
                        "api",
                        "agent",
                        agent_id,
                        text,
                        "[]",
                        None,
                        "{}",
                        stamp,
                    )
                else:
                    text = INBOUND_TEXTS[seq % len(INBOUND_TEXTS)]
                    row = (
                        seq,
                        p.conversation_id,
                        p.patient_id,
                        "message_in",
                        "api",
                        "patient",
                        None,
                        text,
                        "[]",
                        f"seed-{seq}",
                        "{}",
                        stamp,
                    )
                last[idx] = (seq, text)
                state["seq"] = seq
                yield (*row, fold(text)) if folded else row  # as the hub writes it: text folded for search

        sql = (
            "INSERT INTO timeline_events (seq, conversation_id, patient_id, kind, channel, author_type, author_id,"
            " text, attachments, provider_message_id, data, created_at"
            + (", search_text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)" if folded else ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")
        )
        it = rows()
        added = 0
        for _ in range(10**9):  # bounded by the generator; chunks keep memory flat
            chunk = list(islice(it, CHUNK))
            if not chunk:
                break
            conn.executemany(sql, chunk)
            added += len(chunk)
        stamp_last = _ts(base + timedelta(seconds=state["seq"]))
        conn.executemany(
            "UPDATE conversations SET last_event_seq = ?, last_message_at = ?, last_inbound_at = ?,"
            " last_inbound_channel = 'api', preview = ? WHERE id = ?",
            ((seq, stamp_last, stamp_last, text, patients[idx].conversation_id) for idx, (seq, text) in last.items()),
        )
        # the hub hands out seq from this counter: it must not hand out numbers we just used
        conn.execute("UPDATE counters SET value = ? WHERE name = 'seq'", (state["seq"],))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return added, time.perf_counter() - t0


def checkpoint(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def interleave(counts: list[int]) -> Iterator[int]:
    """Round-robin over patients, patient i appearing counts[i] times: a realistic interleaving."""
    for r in range(max(counts, default=0)):
        for i, c in enumerate(counts):
            if c > r:
                yield i


def round_robin(n_events: int, n_patients: int) -> Iterator[int]:
    for k in range(n_events):
        yield k % n_patients
