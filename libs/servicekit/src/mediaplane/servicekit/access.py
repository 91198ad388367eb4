"""What a principal may reach: roles, scopes and account status, checked one way by every API.

Pure (no framework): `require_role` and `require_scope` raise 403 problems with
stable codes; `principal.provide_principal` applies them from the route's
`opt` (`opt={"scope": "files:read"}`, `opt={"role": "admin"}`), so a route
says what it needs where it is declared.

Roles are ranked (`auth.ROLES`): a moderator may do what a user may, an admin
what a moderator may. Scopes are not ranked: `files:write` does not imply
`files:read`.
"""

from __future__ import annotations

from mediaplane.servicekit.auth import API_SCOPES, ROLES, Principal
from mediaplane.servicekit.errors import ProblemError


class RoleRequired(ProblemError):
    code = "role_required"
    status = 403
    title = "Role required"


class ScopeInsufficient(ProblemError):
    code = "scope_insufficient"
    status = 403
    title = "Token scope insufficient"


class AccountSuspended(ProblemError):
    code = "account_suspended"
    status = 403
    title = "Account suspended"


class AccountDeleted(ProblemError):
    code = "account_deleted"
    status = 403
    title = "Account deleted"


def has_role(principal: Principal, role: str) -> bool:
    """Whether `principal` holds `role` or a role ranked above it."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    rank = ROLES.index(role)
    return any(ROLES.index(held) >= rank for held in principal.roles)


def require_role(principal: Principal, role: str) -> None:
    if not has_role(principal, role):
        raise RoleRequired(f"this needs the {role} role")


def require_scope(principal: Principal, scope: str) -> None:
    if scope not in API_SCOPES:
        raise ValueError(f"unknown scope {scope!r}; scopes are {', '.join(sorted(API_SCOPES))}")
    if scope not in principal.scopes:
        raise ScopeInsufficient(f"this needs a token with the {scope} scope")


# An account's status as the services' projections record it (from `user.*` events).
BLOCKED = {"suspended": AccountSuspended, "deleted": AccountDeleted}


def refuse_blocked(status: str | None) -> None:
    """Refuse a caller whose account is suspended or deleted (others pass)."""
    refusal = BLOCKED.get(status or "")
    if refusal is not None:
        raise refusal(f"the account is {status}")
