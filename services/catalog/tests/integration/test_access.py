"""Who reaches the catalog: the `files:read` scope, and accounts the identity service
suspended or deleted (its `user.*` events, projected into `accounts`)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.bus.testing import eventually
from mediaplane.catalog.testing import EPOCH
from mediaplane.contracts import (
    Event,
    EventContext,
    UserDeleted,
    UserPlanChanged,
    UserRegistered,
    UserReinstated,
    UserSuspended,
    new_event,
)
from mediaplane.eventlog import Pool

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]
CONTEXT = EventContext(producer="identity", correlation_id="access-tests")


def user_event(cls: type[Event], user: uuid.UUID, minutes: int, **fields: Any) -> Event:
    return new_event(
        cls,
        stream_id=f"user-{user}",
        context=CONTEXT,
        occurred_at=EPOCH + timedelta(minutes=minutes),
        user_id=user,
        **fields,
    )


async def test_reads_need_the_files_read_scope(client: Client, auth: Any) -> None:
    assert (await client.get("/v1/files", headers=auth(scope="files:read"))).status_code == 200
    for path in ("/v1/files", "/v1/tags", "/v1/uploads", f"/v1/files/{uuid.uuid4()}"):
        refused = await client.get(path, headers=auth(scope="uploads:write files:write"))
        assert refused.status_code == 403, path
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "scope_insufficient"


async def test_every_public_route_names_its_scope(client: Client) -> None:
    for route in client.app.routes:
        for handler in getattr(route, "route_handlers", []):
            if route.path.startswith("/v1/"):
                assert handler.opt.get("scope") == "files:read", route.path


async def status(pool: Pool, owner: str) -> tuple[str, str | None] | None:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT status, plan FROM accounts WHERE owner = %s", (owner,))
        row = await cursor.fetchone()
    return (row[0], row[1]) if row else None


async def test_suspended_and_deleted_accounts_are_refused_until_reinstated(
    client: Client, auth: Any, ingest_events: Any, pool: Pool
) -> None:
    user, gone = uuid.uuid4(), uuid.uuid4()
    me = auth(str(user))
    await ingest_events([user_event(UserRegistered, user, 0, role="user", plan="free", via="open")])
    assert (await client.get("/v1/files", headers=me)).status_code == 200

    # Out of order on purpose: the projection takes the latest fact, not the last to arrive.
    await ingest_events(
        [
            user_event(UserSuspended, user, 2, reason="spam", suspended_by="admin"),
            user_event(UserPlanChanged, user, 1, plan="pro", previous="free", changed_by="admin"),
        ]
    )
    assert await status(pool, str(user)) == ("suspended", "pro")

    async def refused(headers: dict[str, str], code: str) -> bool:
        answer = await client.get("/v1/files", headers=headers)
        return answer.status_code == 403 and answer.json()["code"] == code

    await eventually(lambda: refused(me, "account_suspended"))
    await ingest_events([user_event(UserReinstated, user, 3, reinstated_by="admin")])
    await eventually(lambda: client_ok(client, me))

    await ingest_events(
        [
            user_event(UserRegistered, gone, 0, role="user", plan="free", via="open"),
            user_event(UserDeleted, gone, 5, deleted_by="admin"),
            # A late reinstatement (earlier in time) cannot revive a deleted account.
            user_event(UserReinstated, gone, 4, reinstated_by="admin"),
        ]
    )
    assert await status(pool, str(gone)) == ("deleted", "free")
    await eventually(lambda: refused(auth(str(gone)), "account_deleted"))


async def client_ok(client: Client, headers: dict[str, str]) -> bool:
    return (await client.get("/v1/files", headers=headers)).status_code == 200
