"""Opaque pagination cursors: the sort key of the last row a page returned (pure)."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

import msgspec

from mediaplane.domain import DomainError


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
