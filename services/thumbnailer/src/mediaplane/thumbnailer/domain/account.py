"""What a `user.*` event means for the variants API: an account's standing (pure).

The thumbnailer keeps its own small projection of accounts, as the gateway and the
catalog do: a suspended or deleted user's calls are refused (403 `account_suspended` /
`account_deleted`, servicekit's `admit`). The latest fact by `(occurred_at, event_id)`
wins, so arrival order and redelivery do not change the result; `deleted` is final.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from mediaplane.contracts import (
    Event,
    UserDeleted,
    UserRegistered,
    UserReinstated,
    UserSuspended,
)

AccountStatus = Literal["active", "suspended", "deleted"]
# The events that set an account's standing (a plan or role change does not).
STANDING_EVENTS: tuple[type[Event], ...] = (
    UserRegistered,
    UserSuspended,
    UserReinstated,
    UserDeleted,
)


@dataclass(frozen=True, kw_only=True)
class Standing:
    owner: str  # the user id, as access tokens carry it in `sub`
    status: AccountStatus
    at: datetime
    event_id: UUID


def standing(event: Event) -> Standing | None:
    """The standing `event` sets, or None for an event that sets none."""
    match event:
        case UserRegistered() | UserReinstated():
            status: AccountStatus = "active"
        case UserSuspended():
            status = "suspended"
        case UserDeleted():
            status = "deleted"
        case _:
            return None
    return Standing(
        owner=str(event.user_id), status=status, at=event.occurred_at, event_id=event.event_id
    )
