"""Query parameters shared by the catalog's routes: page size and opaque cursors."""

from __future__ import annotations

from typing import Annotated

from litestar.params import QueryParameter

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="page size")]
# Opaque: only a `next_cursor` this API returned is valid (else 400 `invalid_cursor`).
CURSOR_FORMAT = "mediaplane-cursor"
Cursor = Annotated[
    str | None,
    QueryParameter(format=CURSOR_FORMAT, description="`next_cursor` of the previous page"),
]
