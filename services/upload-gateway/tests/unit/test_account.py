"""What each `user.*` event sets in the gateway's accounts projection (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from mediaplane.contracts import (
    Event,
    EventContext,
    UserDeleted,
    UserPlanChanged,
    UserQuotaSet,
    UserRegistered,
    UserReinstated,
    UserRoleChanged,
    UserSuspended,
    new_event,
)
from mediaplane.upload_gateway.domain.account import QuotaOverride, account_change

USER = uuid.UUID("0193a6f2-0000-7000-8000-0000000000aa")
CONTEXT = EventContext(producer="identity", correlation_id="c")
AT = datetime(2026, 12, 6, tzinfo=UTC)


def make(cls: type[Event], **fields: Any) -> Event:
    return new_event(cls, stream_id=f"user-{USER}", context=CONTEXT, occurred_at=AT, **fields)


def test_each_user_event_sets_status_or_plan() -> None:
    registered = account_change(
        make(UserRegistered, user_id=USER, role="user", plan="free", via="open")
    )
    assert registered is not None
    assert (registered.owner, registered.status, registered.plan) == (str(USER), "active", "free")
    changed = account_change(
        make(UserPlanChanged, user_id=USER, plan="pro", previous="free", changed_by="admin")
    )
    assert changed is not None
    assert (changed.status, changed.plan) == (None, "pro")
    cases = {
        "suspended": make(UserSuspended, user_id=USER, reason="spam", suspended_by="admin"),
        "active": make(UserReinstated, user_id=USER, reinstated_by="admin"),
        "deleted": make(UserDeleted, user_id=USER, deleted_by="admin"),
    }
    for status, event in cases.items():
        change = account_change(event)
        assert change is not None
        assert (change.status, change.plan) == (status, None)
        assert change.event_id == event.event_id
        assert change.at == event.occurred_at


def test_a_role_change_sets_nothing_here() -> None:
    changed = make(UserRoleChanged, user_id=USER, role="moderator", previous="user", changed_by="x")
    assert account_change(changed) is None


def test_a_quota_override_sets_only_the_quota() -> None:
    change = account_change(make(UserQuotaSet, user_id=USER, files=2, changed_by="admin"))
    assert change is not None
    assert (change.status, change.plan, change.quota) == (
        None,
        None,
        QuotaOverride(files=2, bytes=None),
    )
