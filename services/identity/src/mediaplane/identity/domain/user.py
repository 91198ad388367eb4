"""The User decider (stream `user-<user_id>`): registration, role, plan and standing.

Personal data (email, password hash) is not part of this state: it lives in
the service's own `users` row, which deletion erases; the events say only
what other services need.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from mediaplane.contracts import (
    Event,
    Role,
    UserDeleted,
    UserEmailVerified,
    UserPlanChanged,
    UserQuotaSet,
    UserRegistered,
    UserReinstated,
    UserRoleChanged,
    UserSuspended,
)
from mediaplane.domain import CommandContext, Decider
from mediaplane.identity.domain import errors

Status = Literal["new", "active", "suspended", "deleted"]
ROLES: tuple[Role, ...] = ("user", "moderator", "admin")


@dataclass(frozen=True, kw_only=True)
class User:
    status: Status = "new"
    role: Role = "user"
    plan: str = ""
    # The admin's override of the plan's quota; None follows the plan.
    quota_files: int | None = None
    quota_bytes: int | None = None
    email_verified: bool = False


def user_stream(user_id: uuid.UUID) -> str:
    return f"user-{user_id}"


# -- commands ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Register:
    user_id: uuid.UUID
    role: Role
    plan: str
    via: Literal["open", "invite", "admin"]
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class VerifyEmail:
    user_id: uuid.UUID
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class ChangeRole:
    user_id: uuid.UUID
    role: Role
    by: str
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class ChangePlan:
    user_id: uuid.UUID
    plan: str
    by: str
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class SetQuota:
    """Replace the user's quota override; a None field follows the plan's quota."""

    user_id: uuid.UUID
    files: int | None
    bytes: int | None
    by: str
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class Suspend:
    user_id: uuid.UUID
    reason: str
    by: str
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class Reinstate:
    user_id: uuid.UUID
    by: str
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class Delete:
    user_id: uuid.UUID
    by: str
    context: CommandContext


Command = Register | VerifyEmail | ChangeRole | ChangePlan | SetQuota | Suspend | Reinstate | Delete


def evolve(state: User, event: Event) -> User:
    match event:
        case UserRegistered(role=role, plan=plan):
            return User(status="active", role=role, plan=plan)
        case UserEmailVerified():
            return replace(state, email_verified=True)
        case UserRoleChanged(role=role):
            return replace(state, role=role)
        case UserPlanChanged(plan=plan):
            return replace(state, plan=plan)
        case UserQuotaSet(files=files, bytes=size):
            return replace(state, quota_files=files, quota_bytes=size)
        case UserSuspended():
            return replace(state, status="suspended")
        case UserReinstated():
            return replace(state, status="active")
        case UserDeleted():
            return replace(state, status="deleted")
    return state


def decide(command: Command, state: User) -> Sequence[Event]:
    """The events `command` produces; no-ops (a role it already has) produce none."""
    stream = user_stream(command.user_id)
    if isinstance(command, Register):
        if state.status != "new":
            raise errors.UserExists(f"user {command.user_id} exists")
        return [
            command.context.event(
                UserRegistered,
                stream_id=stream,
                user_id=command.user_id,
                role=command.role,
                plan=command.plan,
                via=command.via,
            )
        ]
    if state.status == "new":
        raise errors.UserNotFound(f"no user {command.user_id}")
    if state.status == "deleted":
        raise errors.UserDeleted(f"user {command.user_id} was deleted")
    match command:
        case VerifyEmail():
            if state.email_verified:
                return []
            return [
                command.context.event(
                    UserEmailVerified,
                    stream_id=stream,
                    user_id=command.user_id,
                )
            ]
        case ChangeRole(role=role, by=by):
            if role == state.role:
                return []
            return [
                command.context.event(
                    UserRoleChanged,
                    stream_id=stream,
                    user_id=command.user_id,
                    role=role,
                    previous=state.role,
                    changed_by=by,
                )
            ]
        case ChangePlan(plan=plan, by=by):
            if plan == state.plan:
                return []
            return [
                command.context.event(
                    UserPlanChanged,
                    stream_id=stream,
                    user_id=command.user_id,
                    plan=plan,
                    previous=state.plan,
                    changed_by=by,
                )
            ]
        case SetQuota(files=files, bytes=size, by=by):
            if (files is not None and files < 0) or (size is not None and size < 0):
                raise errors.InvalidQuota("a quota's files and bytes cannot be negative")
            if (files, size) == (state.quota_files, state.quota_bytes):
                return []
            return [
                command.context.event(
                    UserQuotaSet,
                    stream_id=stream,
                    user_id=command.user_id,
                    files=files,
                    bytes=size,
                    changed_by=by,
                )
            ]
        case Suspend(reason=reason, by=by):
            if state.status == "suspended":
                return []
            return [
                command.context.event(
                    UserSuspended,
                    stream_id=stream,
                    user_id=command.user_id,
                    reason=reason,
                    suspended_by=by,
                )
            ]
        case Reinstate(by=by):
            if state.status == "active":
                return []
            return [
                command.context.event(
                    UserReinstated,
                    stream_id=stream,
                    user_id=command.user_id,
                    reinstated_by=by,
                )
            ]
        case Delete(by=by):
            return [
                command.context.event(
                    UserDeleted,
                    stream_id=stream,
                    user_id=command.user_id,
                    deleted_by=by,
                )
            ]
    raise TypeError(f"unknown command {command!r}")


DECIDER: Decider[Command, User] = Decider(initial_state=User(), decide=decide, evolve=evolve)
