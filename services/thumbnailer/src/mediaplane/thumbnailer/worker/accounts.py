"""The accounts consumer: `user.*` events -> the thumbnailer's accounts projection, which the
variants API reads to refuse suspended and deleted users (as the gateway and catalog do)."""

from __future__ import annotations

from mediaplane.bus import Bus, Delivery
from mediaplane.contracts import UserDeleted, UserRegistered, UserReinstated, UserSuspended
from mediaplane.eventlog import Pool
from mediaplane.thumbnailer.adapters import accounts
from mediaplane.thumbnailer.domain.account import STANDING_EVENTS, standing

DURABLE = "thumbnailer-accounts"


def register_accounts(bus: Bus, pool: Pool) -> None:
    @bus.consumer(DURABLE, events=list(STANDING_EVENTS), max_deliver=5, backoff=[1, 5, 30, 120])
    async def on_user_event(
        event: UserRegistered | UserSuspended | UserReinstated | UserDeleted,
        delivery: Delivery,
    ) -> None:
        change = standing(event)
        if change is not None:
            await accounts.record(pool, change)
