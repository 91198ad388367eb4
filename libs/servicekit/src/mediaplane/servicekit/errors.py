"""The base of every error an API turns into problem+json (pure: no framework imports)."""

from __future__ import annotations


class ProblemError(Exception):
    """A refused request. Subclasses set a stable `code`, the HTTP `status` and a `title`."""

    code = "refused"
    status = 400
    title = "Request refused"

    def __init__(self, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after
