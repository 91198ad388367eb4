"""identity (stream `user-<user_id>`): accounts, their roles, plans and standing.

No personal data: no email, name or credential is ever in an event (the log
is immutable, so it could never be erased). Other services need only who
(`user_id`), what they may do (`role`), what they may use (`plan`) and
whether they may act at all (suspended, deleted).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec

from mediaplane.contracts.envelope import Event

Role = Literal["user", "moderator", "admin"]
Plan = Annotated[
    str, msgspec.Meta(pattern="^[a-z][a-z0-9_-]{0,31}$", description="plan name, e.g. free, pro")
]
Actor = Annotated[
    str,
    msgspec.Meta(
        max_length=64,
        description="who made the change: a user id, `cli` (the admin command) or `self`",
    ),
]


class UserRegistered(Event, tag="user.registered.v1", frozen=True, kw_only=True):
    user_id: uuid.UUID
    role: Role
    plan: Plan
    via: Literal["open", "invite", "admin"]


class UserEmailVerified(Event, tag="user.email_verified.v1", frozen=True, kw_only=True):
    user_id: uuid.UUID


class UserRoleChanged(Event, tag="user.role_changed.v1", frozen=True, kw_only=True):
    user_id: uuid.UUID
    role: Role
    previous: Role
    changed_by: Actor


class UserPlanChanged(Event, tag="user.plan_changed.v1", frozen=True, kw_only=True):
    user_id: uuid.UUID
    plan: Plan
    previous: Plan
    changed_by: Actor


class UserQuotaSet(Event, tag="user.quota_set.v1", frozen=True, kw_only=True):
    """An admin set the user's own quota, replacing any earlier one. A field that is null
    follows the plan's quota again, so both null is "back to the plan's default"."""

    user_id: uuid.UUID
    files: Annotated[int, msgspec.Meta(ge=0)] | None = None
    bytes: Annotated[int, msgspec.Meta(ge=0)] | None = None
    changed_by: Actor


class UserSuspended(Event, tag="user.suspended.v1", frozen=True, kw_only=True):
    """From now on the user's tokens are refused (within one access-token lifetime)."""

    user_id: uuid.UUID
    reason: Annotated[str, msgspec.Meta(max_length=200)]
    suspended_by: Actor


class UserReinstated(Event, tag="user.reinstated.v1", frozen=True, kw_only=True):
    user_id: uuid.UUID
    reinstated_by: Actor


class UserDeleted(Event, tag="user.deleted.v1", frozen=True, kw_only=True):
    """The account is gone; its personal data was erased in the same transaction."""

    user_id: uuid.UUID
    deleted_by: Actor
