"""Keyset pagination, the one home of the list cursor: every list is ordered newest first by
(a timestamp, an id), and a page continues strictly after the last row of the previous one,
so a page costs the same on row 10 as on row 100,000 (OFFSET would read and drop every row
before it) and rows added meanwhile neither repeat nor shift the pages.

The cursor is opaque to clients: base64url of a small JSON document with the position and a
fingerprint of the list it came from (which list, whose, which filters). A cursor that does
not decode, or that belongs to another list, another caller or other filters, is refused as a
validation error: it could only start a page at a position that was never offered."""

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from pyk8s_contracts.errors import ErrorCode

from .bus import ServiceError

Row = TypeVar("Row")


class _Position(BaseModel):
    model_config = {"extra": "forbid"}

    s: str  # fingerprint of the list
    t: datetime
    i: uuid.UUID


@dataclass(frozen=True)
class Position:
    """Where the next page starts: strictly after (at, id) in newest-first order."""

    at: datetime
    id: uuid.UUID


def fingerprint(list_name: str, **scope: Any) -> str:
    """Names one list as one caller asked for it: its name, the caller and the filters."""
    text = json.dumps([list_name, {k: str(v) for k, v in sorted(scope.items())}])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode(list_fingerprint: str, position: Position) -> str:
    document = _Position(s=list_fingerprint, t=position.at, i=position.id)
    return base64.urlsafe_b64encode(document.model_dump_json().encode()).decode().rstrip("=")


def decode(cursor: str | None, list_fingerprint: str) -> Position | None:
    """The position `cursor` names, None for the first page; refuses a cursor that does not
    decode or that was made for another list, caller or filters."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = _Position.model_validate_json(raw)
    except (binascii.Error, ValueError, ValidationError):
        raise ServiceError(
            ErrorCode.VALIDATION,
            "the cursor is not valid: pass `next_cursor` from the previous page unchanged",
            {"field": "cursor"},
        ) from None
    if document.s != list_fingerprint:
        raise ServiceError(
            ErrorCode.VALIDATION,
            "the cursor belongs to another list or other filters: "
            "start again without it, with the same filters on every page",
            {"field": "cursor"},
        )
    return Position(document.t, document.i)


def keyset(
    query: Select,
    at: InstrumentedAttribute,
    row_id: InstrumentedAttribute,
    position: Position | None,
    limit: int,
) -> Select:
    """`query` ordered newest first by (at, id), from after `position`, with one row more than
    `limit` so `page` can tell whether another page follows."""
    if position is not None:
        query = query.where(tuple_(at, row_id) < tuple_(position.at, position.id))
    return query.order_by(at.desc(), row_id.desc()).limit(limit + 1)


def page(
    rows: Sequence[Row], limit: int, list_fingerprint: str, key
) -> tuple[list[Row], str | None]:
    """The page's rows and the cursor of the next page (None when this one is the last);
    `key(row)` gives a row's (at, id)."""
    items = list(rows[:limit])
    if len(rows) <= limit:
        return items, None
    at, row_id = key(items[-1])
    return items, encode(list_fingerprint, Position(at, row_id))
