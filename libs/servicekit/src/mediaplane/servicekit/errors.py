"""What an API turns into problem+json (pure: no framework imports).

`ProblemError`: a refusal of the HTTP layer itself (authentication, rate
limits), with its status. Domain refusals (`mediaplane.domain.DomainError`)
carry only a code; each service's api/problems.py maps its codes to a
`Problem` (status and title), and servicekit renders them alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class ProblemError(Exception):
    """A refused request. Subclasses set a stable `code`, the HTTP `status` and a `title`."""

    code = "refused"
    status = 400
    title = "Request refused"

    def __init__(self, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


@dataclass(frozen=True)
class Problem:
    """How an API answers a domain error code."""

    status: int
    title: str


ProblemTable = Mapping[str, Problem]
"""Domain error code -> Problem: each service's api/problems.py holds one."""
