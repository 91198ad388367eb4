"""What a `user.*` event means for the gateway: an account's status, plan and quota (pure).

The gateway keeps its own small projection of accounts (issue 14): a suspended
or deleted account's calls are refused, and the plan chooses the quota unless
an admin set the user's own (`user.quota_set`, issue 16). Each
field is the latest by `(occurred_at, event_id)`, so arrival order and
redelivery do not change the result; `deleted` is final.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from mediaplane.contracts import (
    Event,
    UserDeleted,
    UserPlanChanged,
    UserQuotaSet,
    UserRegistered,
    UserReinstated,
    UserSuspended,
)

AccountStatus = Literal["active", "suspended", "deleted"]
# The events the projection follows (the others, e.g. a role change, change nothing here).
ACCOUNT_EVENTS: tuple[type[Event], ...] = (
    UserRegistered,
    UserPlanChanged,
    UserQuotaSet,
    UserSuspended,
    UserReinstated,
    UserDeleted,
)


@dataclass(frozen=True, kw_only=True)
class QuotaOverride:
    """An admin's quota for one user; a None field follows the plan's."""

    files: int | None
    bytes: int | None


@dataclass(frozen=True, kw_only=True)
class AccountChange:
    owner: str  # the user id, as access tokens carry it in `sub`
    at: datetime
    event_id: UUID
    correlation_id: str
    status: AccountStatus | None = None
    plan: str | None = None
    quota: QuotaOverride | None = None


def account_change(event: Event) -> AccountChange | None:
    """The fields `event` sets, or None for an event that sets none."""
    match event:
        case UserRegistered():
            return _change(event, event.user_id, status="active", plan=event.plan)
        case UserPlanChanged():
            return _change(event, event.user_id, plan=event.plan)
        case UserQuotaSet():
            override = QuotaOverride(files=event.files, bytes=event.bytes)
            return _change(event, event.user_id, quota=override)
        case UserSuspended():
            return _change(event, event.user_id, status="suspended")
        case UserReinstated():
            return _change(event, event.user_id, status="active")
        case UserDeleted():
            return _change(event, event.user_id, status="deleted")
    return None


def _change(
    event: Event,
    user_id: UUID,
    *,
    status: AccountStatus | None = None,
    plan: str | None = None,
    quota: QuotaOverride | None = None,
) -> AccountChange:
    return AccountChange(
        owner=str(user_id),
        at=event.occurred_at,
        event_id=event.event_id,
        correlation_id=event.correlation_id,
        status=status,
        plan=plan,
        quota=quota,
    )
