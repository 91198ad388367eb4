"""How many transcodes one owner may have running at once, across every replica (pure).

One owner's long uploads must not take every worker: a job over the limit is
offered again later instead of running, and a slot is held only while the
job's lease is alive, so a crashed worker's slot frees itself when its lease
runs out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class OwnerLimit:
    max_running: int = 2
    # Seconds before a job over the limit is offered again.
    retry_after: float = 30.0

    def __post_init__(self) -> None:
        if self.max_running < 1:
            raise ValueError("max_running must be >= 1")
        if self.retry_after <= 0:
            raise ValueError("retry_after must be positive")

    def admits(self, running: int) -> bool:
        """May another job start while the owner has `running` jobs with live leases?"""
        return running < self.max_running

    def reason(self, owner: str, running: int) -> str:
        return f"owner {owner} has {running} transcodes running (at most {self.max_running})"
