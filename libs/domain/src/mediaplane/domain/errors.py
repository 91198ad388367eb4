"""The base of every error a domain refuses a command with: a stable code, no transport.

Which HTTP status and title a code gets is the API's business (each service's
api/problems.py, turned into problem+json by servicekit); workers turn the
same codes into `*.failed` / `*.rejected` events.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refused command. Subclasses set a stable snake_case `code`; `detail` says why."""

    code = "domain_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
