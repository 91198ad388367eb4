"""Throttling refusals: 429 with `Retry-After`, refusals of the HTTP layer (servicekit's
`ProblemError`), not domain decisions: the domain never sees a clock-driven lock."""

from __future__ import annotations

from mediaplane.servicekit.errors import ProblemError


class SignInThrottled(ProblemError):
    code = "sign_in_throttled"
    status = 429
    title = "Too many failed sign-ins; wait before trying again"


class TooManyRequests(ProblemError):
    code = "too_many_requests"
    status = 429
    title = "Too many requests from here; wait before trying again"
