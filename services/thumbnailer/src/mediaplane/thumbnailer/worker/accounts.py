"""The accounts consumer: `user.*` events -> the thumbnailer's accounts projection, which the
variants API reads to refuse suspended and deleted users (as the gateway and catalog do).

The bus's batch consumer: a fetch is one transaction and its messages are acked
together. A per-message consumer made every event its own transaction and its own ack
round trip, most of the worker's CPU under the catalog's ingest load.
"""

from __future__ import annotations

from collections.abc import Sequence

from mediaplane.bus import Bus, Delivery, decode_event
from mediaplane.eventlog import Pool
from mediaplane.thumbnailer.adapters import accounts
from mediaplane.thumbnailer.domain.account import STANDING_EVENTS, Standing, standing

DURABLE = "thumbnailer-accounts"


def register_accounts(bus: Bus, pool: Pool) -> None:
    def decode(data: bytes, delivery: Delivery) -> Standing | None:
        event = decode_event(bus.registry, data, STANDING_EVENTS)
        return None if event is None else standing(event)

    @bus.batch_consumer(
        DURABLE,
        decode=decode,
        events=list(STANDING_EVENTS),
        batch_size=100,
        concurrency=1,
        max_deliver=5,
        backoff=[1, 5, 30, 120],
    )
    async def on_user_events(changes: Sequence[Standing | None]) -> None:
        await accounts.record(pool, [change for change in changes if change is not None])
