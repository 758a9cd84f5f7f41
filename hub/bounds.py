"""Bounds on what clients send: ids and sequence numbers the database can hold, text with no
NUL (PostgreSQL refuses it). Out of bounds is a clear 400, never a database error."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import PathParameter, QueryParameter

MAX_ID = 2**31 - 1  # INTEGER columns
MAX_SEQ = 2**63 - 1  # BIGINT sequence numbers

Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
Seq = Annotated[int, msgspec.Meta(ge=1, le=MAX_SEQ)]
IdPath = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]
SeqQuery = Annotated[int | None, QueryParameter(ge=1, le=MAX_SEQ)]
AfterQuery = Annotated[int, QueryParameter(ge=0, le=MAX_SEQ)]

NO_NUL = r"^[^\x00]*$"


def text(max_length: int, min_length: int = 0) -> object:
    """A string of bounded length without NUL characters."""
    return Annotated[str, msgspec.Meta(min_length=min_length, max_length=max_length, pattern=NO_NUL)]


def explain(message: str) -> str:
    """msgspec names the NUL rule by its regex; say it in words."""
    return message.replace(f"Expected `str` matching regex {NO_NUL!r}", "NUL characters are not allowed")
