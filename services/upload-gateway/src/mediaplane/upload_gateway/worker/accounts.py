"""The accounts consumer: `user.*` events -> the gateway's accounts projection.

Runs in the verifier role's process, through the bus's batch consumer (one
transaction per fetch). A body that is not a user event is dead-lettered at
once; a newer version this build does not know is skipped (logged) like the
per-message consumers skip unknown types.

After `user.deleted` the account's live files are deleted (`file.deleted`, caused
by the user event), and the janitor purges their objects as after any deletion.
A redelivery deletes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import structlog

from mediaplane.bus import Bus, Delivery, PoisonEvent
from mediaplane.contracts import EventContext, UnknownEventType
from mediaplane.upload_gateway.adapters import accounts
from mediaplane.upload_gateway.app.service import UploadService
from mediaplane.upload_gateway.config import SERVICE
from mediaplane.upload_gateway.domain.account import ACCOUNT_EVENTS, AccountChange, account_change

ACCOUNTS_DURABLE = "upload-gateway-accounts"
_log = structlog.get_logger(__name__)


def register_accounts(bus: Bus, service: UploadService) -> None:
    def decode(data: bytes, delivery: Delivery) -> AccountChange | None:
        try:
            event = bus.registry.decode(data)
        except UnknownEventType as exc:
            if not exc.tag:
                raise PoisonEvent("undecodable: no event type") from exc
            _log.info("accounts.skipped_unknown_type", unknown_type=str(exc.tag))
            return None
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise PoisonEvent(f"undecodable: {exc}") from exc
        return account_change(event)

    @bus.batch_consumer(ACCOUNTS_DURABLE, decode=decode, events=ACCOUNT_EVENTS, concurrency=1)
    async def project(changes: Sequence[AccountChange | None]) -> None:
        wanted = [change for change in changes if change is not None]
        if not wanted:
            return
        async with service.pool.connection() as conn:
            await accounts.record(conn, wanted)
        for change in wanted:
            if change.status == "deleted":
                context = EventContext(
                    producer=SERVICE,
                    correlation_id=change.correlation_id,
                    causation_id=str(change.event_id),
                )
                deleted = await service.delete_files_of(change.owner, context)
                _log.info("accounts.files_deleted", owner=change.owner, files=deleted)
