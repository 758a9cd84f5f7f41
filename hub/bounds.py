"""Bounds on what clients send: ids and sequence numbers the database can hold, text with no
NUL (PostgreSQL refuses it). Out of bounds is a clear 400, never a database error."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import PathParameter, QueryParameter

from channels.base import MAX_SEQ, NO_NUL, Seq, explain, text

__all__ = ["MAX_ID", "MAX_SEQ", "NO_NUL", "AfterQuery", "Id", "IdPath", "IdQuery", "Seq", "SeqQuery", "explain", "text"]

MAX_ID = 2**31 - 1  # INTEGER columns

Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
IdPath = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]
SeqQuery = Annotated[int | None, QueryParameter(ge=1, le=MAX_SEQ)]
AfterQuery = Annotated[int, QueryParameter(ge=0, le=MAX_SEQ)]
