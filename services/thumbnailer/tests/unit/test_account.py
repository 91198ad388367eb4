"""What each `user.*` event sets in the thumbnailer's accounts projection (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from mediaplane.contracts import (
    Event,
    EventContext,
    UserDeleted,
    UserPlanChanged,
    UserRegistered,
    UserReinstated,
    UserSuspended,
    new_event,
)
from mediaplane.thumbnailer.domain.account import standing

USER = uuid.UUID("0193a6f2-0000-7000-8000-0000000000bb")
CONTEXT = EventContext(producer="identity", correlation_id="c")
AT = datetime(2026, 12, 6, tzinfo=UTC)


def make(cls: type[Event], **fields: Any) -> Event:
    return new_event(
        cls, stream_id=f"user-{USER}", context=CONTEXT, occurred_at=AT, user_id=USER, **fields
    )


def test_each_standing_event_sets_the_status() -> None:
    cases = {
        "active": make(UserRegistered, role="user", plan="free", via="open"),
        "suspended": make(UserSuspended, reason="spam", suspended_by="admin"),
        "deleted": make(UserDeleted, deleted_by="admin"),
    }
    for status, event in cases.items():
        change = standing(event)
        assert change is not None
        assert (change.owner, change.status, change.at) == (str(USER), status, AT)
        assert change.event_id == event.event_id
    reinstated = standing(make(UserReinstated, reinstated_by="admin"))
    assert reinstated is not None
    assert reinstated.status == "active"


def test_a_plan_change_sets_nothing_here() -> None:
    assert standing(make(UserPlanChanged, plan="pro", previous="free", changed_by="x")) is None
