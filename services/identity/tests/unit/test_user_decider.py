"""Given events, when a command, then events (or an error): the user."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from mediaplane.contracts import (
    Event,
    EventContext,
    UserDeleted,
    UserEmailVerified,
    UserPlanChanged,
    UserQuotaSet,
    UserRegistered,
    UserReinstated,
    UserRoleChanged,
    UserSuspended,
)
from mediaplane.domain import CommandContext
from mediaplane.identity.domain import errors
from mediaplane.identity.domain import user as users

USER = uuid.uuid4()
NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
CONTEXT = CommandContext(now=NOW, cause=EventContext(producer="identity", correlation_id="test"))


def given(*commands: users.Command) -> users.User:
    state = users.DECIDER.initial_state
    for command in commands:
        state = users.DECIDER.fold(users.decide(command, state), state)
    return state


def register() -> users.Register:
    return users.Register(user_id=USER, role="user", plan="free", via="open", context=CONTEXT)


def when(state: users.User, command: users.Command) -> list[Event]:
    return list(users.decide(command, state))


def test_registration_records_role_plan_and_how_without_personal_data() -> None:
    [event] = when(given(), register())
    assert isinstance(event, UserRegistered)
    assert (event.user_id, event.role, event.plan, event.via) == (USER, "user", "free", "open")
    assert event.stream_id == f"user-{USER}"
    assert event.occurred_at == NOW
    assert not {"email", "password", "name"} & set(event.__struct_fields__)


def test_registering_twice_is_refused() -> None:
    with pytest.raises(errors.UserExists):
        when(given(register()), register())


def test_commands_on_an_unknown_user_are_refused() -> None:
    with pytest.raises(errors.UserNotFound):
        when(given(), users.Suspend(user_id=USER, reason="x", by="admin", context=CONTEXT))


def test_email_verification_happens_once() -> None:
    verify = users.VerifyEmail(user_id=USER, context=CONTEXT)
    [event] = when(given(register()), verify)
    assert isinstance(event, UserEmailVerified)
    assert when(given(register(), verify), verify) == []


def test_role_and_plan_changes_record_the_previous_value_and_skip_no_ops() -> None:
    state = given(register())
    [role] = when(state, users.ChangeRole(user_id=USER, role="moderator", by="a", context=CONTEXT))
    assert isinstance(role, UserRoleChanged)
    assert (role.previous, role.role, role.changed_by) == ("user", "moderator", "a")
    [plan] = when(state, users.ChangePlan(user_id=USER, plan="pro", by="a", context=CONTEXT))
    assert isinstance(plan, UserPlanChanged)
    assert (plan.previous, plan.plan) == ("free", "pro")
    assert when(state, users.ChangeRole(user_id=USER, role="user", by="a", context=CONTEXT)) == []


def test_suspension_and_reinstatement_toggle_the_standing() -> None:
    suspend = users.Suspend(user_id=USER, reason="spam", by="mod", context=CONTEXT)
    reinstate = users.Reinstate(user_id=USER, by="mod", context=CONTEXT)
    [suspended] = when(given(register()), suspend)
    assert isinstance(suspended, UserSuspended)
    assert given(register(), suspend).status == "suspended"
    assert when(given(register(), suspend), suspend) == []
    [reinstated] = when(given(register(), suspend), reinstate)
    assert isinstance(reinstated, UserReinstated)
    assert when(given(register()), reinstate) == []


def test_a_deleted_user_takes_no_more_commands() -> None:
    delete = users.Delete(user_id=USER, by="self", context=CONTEXT)
    [deleted] = when(given(register()), delete)
    assert isinstance(deleted, UserDeleted)
    with pytest.raises(errors.UserDeleted):
        when(given(register(), delete), users.VerifyEmail(user_id=USER, context=CONTEXT))


def test_a_quota_override_replaces_the_last_one_and_skips_no_ops() -> None:
    def set_quota(files: int | None, size: int | None) -> users.SetQuota:
        return users.SetQuota(user_id=USER, files=files, bytes=size, by="admin", context=CONTEXT)

    [event] = when(given(register()), set_quota(3, None))
    assert isinstance(event, UserQuotaSet)
    assert (event.files, event.bytes, event.changed_by) == (3, None, "admin")
    assert when(given(register(), set_quota(3, None)), set_quota(3, None)) == []
    [cleared] = when(given(register(), set_quota(3, None)), set_quota(None, None))
    assert isinstance(cleared, UserQuotaSet)
    assert (cleared.files, cleared.bytes) == (None, None)
    assert when(given(register()), set_quota(None, None)) == []  # the plan's already
    with pytest.raises(errors.InvalidQuota):
        when(given(register()), set_quota(-1, None))
    with pytest.raises(errors.UserNotFound):
        when(given(), set_quota(1, 1))
