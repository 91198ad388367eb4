"""Quotas: what one user may keep, per plan (`MEDIAPLANE_PLANS`), and an admin's override
for one user (`user.quota_set`). The gateway enforces them; the catalog shows them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

GiB = 1024 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class Quota:
    """What one owner may keep: live files (and uploads in progress), and their bytes."""

    files: int = 10_000
    bytes: int = 100 * GiB

    def __post_init__(self) -> None:
        if self.files < 0 or self.bytes < 0:
            raise ValueError("a quota's files and bytes cannot be negative")


@dataclass(frozen=True, kw_only=True)
class Plans:
    """The quota of each plan, and the plan of an owner nothing names one for.

    An owner's plan comes from the gateway's projection of `user.*` events
    first (the identity service's record), then the access token's `plan`
    claim (which may be up to one token lifetime stale), then `default`. A
    plan this table does not know counts as `default`.
    """

    quotas: Mapping[str, Quota]
    default: str

    def __post_init__(self) -> None:
        if self.default not in self.quotas:
            raise ValueError(
                f"the default plan {self.default!r} is not among {sorted(self.quotas)}"
            )

    @classmethod
    def standard(cls) -> Plans:
        return cls(
            quotas={"free": Quota(), "pro": Quota(files=100_000, bytes=1024 * GiB)},
            default="free",
        )

    @classmethod
    def only(cls, quota: Quota) -> Plans:
        """One plan for everyone."""
        return cls(quotas={"free": quota}, default="free")

    def plan_of(self, projected: str | None, claimed: str | None) -> str:
        for plan in (projected, claimed):
            if plan is not None:
                return plan if plan in self.quotas else self.default
        return self.default

    def quota(self, plan: str) -> Quota:
        return self.quotas.get(plan, self.quotas[self.default])

    def effective(self, plan: str, *, files: int | None, bytes: int | None) -> Quota:
        """The quota of `plan`, with each field an admin overrode (not None) replaced."""
        base = self.quota(plan)
        return Quota(
            files=base.files if files is None else files,
            bytes=base.bytes if bytes is None else bytes,
        )


def plans_from_env(table: str | None, default: str | None) -> Plans:
    """`MEDIAPLANE_PLANS` (JSON: plan -> {"files": n, "bytes": n}) and `_DEFAULT_PLAN`;
    without a table, `free` and `pro` (Plans.standard)."""
    if not table:
        standard = Plans.standard()
        return Plans(quotas=standard.quotas, default=default or standard.default)
    try:
        raw = json.loads(table)
        quotas = {
            str(name): Quota(files=int(q["files"]), bytes=int(q["bytes"]))
            for name, q in raw.items()
        }
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise ValueError(
            'MEDIAPLANE_PLANS must be JSON like {"free": {"files": 1000, "bytes": 10737418240}}'
            f": {error}"
        ) from None
    if not quotas:
        raise ValueError("MEDIAPLANE_PLANS names no plan")
    return Plans(quotas=quotas, default=default or next(iter(quotas)))
