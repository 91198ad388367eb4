"""Keyset pagination shared by the APIs' list routes: the page size and opaque cursors
(the sort key of the last row a page returned). A route takes `limit: Limit = 50` and
`cursor: Cursor = None`; a forged cursor is `InvalidCursor`, which each API maps to 400
`invalid_cursor`."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from litestar.params import QueryParameter

from mediaplane.domain import DomainError

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="page size")]
# Opaque: only a `next_cursor` this API returned is valid (else 400 `invalid_cursor`).
CURSOR_FORMAT = "mediaplane-cursor"
Cursor = Annotated[
    str | None,
    QueryParameter(format=CURSOR_FORMAT, description="`next_cursor` of the previous page"),
]


class InvalidCursor(DomainError):
    code = "invalid_cursor"


def encode_cursor(at: datetime, key: uuid.UUID) -> str:
    raw = msgspec.json.encode([at.isoformat(), str(key)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The `(timestamp, id)` a cursor holds; InvalidCursor for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, key = msgspec.json.decode(raw, type=tuple[datetime, uuid.UUID])
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidCursor("the cursor is not one this API returned") from None
    if at.tzinfo is None:
        raise InvalidCursor("the cursor is not one this API returned")
    return at, key
