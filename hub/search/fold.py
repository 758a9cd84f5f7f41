"""Text as search compares it: accents and case dropped (NFKD, combining marks removed, casefold),
so "manana" finds "mañana" and "GONZALEZ" finds "González". Each timeline event keeps its text
folded this way (timeline_events.search_text), written with the event; the query is folded alike."""

from __future__ import annotations

from channels.base import fold


def searchable(text: str | None) -> str | None:
    return fold(text) if text else None
