"""The identity service's `user.*` events reach the gateway: suspended and deleted accounts
are refused, reinstated ones accepted again, and the plan (or an admin's override) sets the
quota. Scopes per route."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.bus import Bus
from mediaplane.bus.testing import eventually
from mediaplane.contracts import (
    Event,
    EventContext,
    UserDeleted,
    UserPlanChanged,
    UserQuotaSet,
    UserRegistered,
    UserReinstated,
    UserSuspended,
    new_event,
)
from mediaplane.domain.quota import Plans, Quota
from mediaplane.upload_gateway.api.app import create_app
from mediaplane.upload_gateway.app.bootstrap import apply_migrations, open_resources
from mediaplane.upload_gateway.config import GatewaySettings
from mediaplane.upload_gateway.worker.accounts import register_accounts

pytestmark = pytest.mark.integration

CONTEXT = EventContext(producer="identity", correlation_id="gateway-accounts")
SMALL = {"filename": "a.png", "content_type": "image/png", "size": 10}


def user_event(cls: type[Event], user: uuid.UUID, **fields: Any) -> Event:
    return new_event(
        cls,
        stream_id=f"user-{user}",
        context=CONTEXT,
        occurred_at=datetime.now(UTC),
        user_id=user,
        **fields,
    )


@asynccontextmanager
async def accounts_consumer(settings: GatewaySettings) -> AsyncIterator[Bus]:
    """The accounts consumer as the verifier process runs it, and a bus to publish with."""
    async with open_resources(settings, pool_size=2) as resources:
        bus = Bus(settings.bus, resources.registry, producer="upload-gateway")
        register_accounts(bus, resources.service)
        publisher = Bus(settings.bus, resources.registry, producer="identity")
        async with bus.running(), publisher.running():
            yield publisher


async def test_routes_need_their_scope(client: AsyncTestClient[Litestar], auth: Any) -> None:
    opened = await client.post("/v1/uploads", headers=auth(scope="uploads:write"), json=SMALL)
    assert opened.status_code == 201, opened.text
    cases = [
        ("POST", "/v1/uploads", "files:read files:write", SMALL),
        ("POST", "/v1/tags", "uploads:write", {"names": ["x"]}),
        ("PUT", f"/v1/files/{uuid.uuid4()}/tags", "uploads:write files:read", {"tags": []}),
        ("DELETE", f"/v1/files/{uuid.uuid4()}", "uploads:write files:read", None),
    ]
    for method, path, scope, body in cases:
        answer = await client.request(method, path, headers=auth(scope=scope), json=body)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["code"] == "scope_insufficient"
    for route in client.app.routes:
        if route.path.startswith("/v1/") and not route.path.startswith("/v1/dev"):
            for handler in getattr(route, "route_handlers", []):
                assert handler.opt.get("scope") in ("uploads:write", "files:write"), route.path


async def test_suspension_deletion_and_plan_changes_reach_the_gateway(
    make_gateway_settings: Callable[..., GatewaySettings], auth: Any, event_types: Any
) -> None:
    settings = make_gateway_settings(
        plans=Plans(quotas={"free": Quota(files=1), "pro": Quota(files=3)}, default="free")
    )
    await apply_migrations(settings)
    user, gone = uuid.uuid4(), uuid.uuid4()
    me = auth(str(user), plan="pro")  # the claim says pro; the events will say otherwise

    async with (
        accounts_consumer(settings) as identity,
        AsyncTestClient(app=create_app(settings)) as client,
    ):

        async def answer(headers: dict[str, str]) -> tuple[int, str | None]:
            response = await client.post("/v1/uploads", headers=headers, json=SMALL)
            return response.status_code, response.json().get("code")

        async def answers(headers: dict[str, str], expected: tuple[int, str | None]) -> bool:
            return await answer(headers) == expected

        async def plan_is(plan: str) -> bool:
            async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
                cursor = await conn.execute(
                    "SELECT plan FROM gateway_accounts WHERE owner = %s", (str(user),)
                )
                row = await cursor.fetchone()
            return row is not None and row[0] == plan

        # No event yet: the token's plan (pro: 3 files) applies.
        assert await answer(me) == (201, None)
        assert await answer(me) == (201, None)
        await identity.publish(
            user_event(UserRegistered, user, role="user", plan="free", via="open")
        )
        await eventually(lambda: plan_is("free"))
        # The projection wins over the claim: free allows 1 file, and two are open.
        assert await answer(me) == (413, "quota_exceeded")
        await identity.publish(
            user_event(UserPlanChanged, user, plan="pro", previous="free", changed_by="admin")
        )
        await eventually(lambda: plan_is("pro"))

        # Suspension and deletion are checked on reads (which take no quota).
        async def code(headers: dict[str, str]) -> str:
            response = await client.get(f"/v1/uploads/{uuid.uuid4()}", headers=headers)
            return str(response.json()["code"])

        async def codes(headers: dict[str, str], expected: str) -> bool:
            return await code(headers) == expected

        await identity.publish(user_event(UserSuspended, user, reason="spam", suspended_by="a"))
        await eventually(lambda: codes(me, "account_suspended"))
        assert await answer(me) == (403, "account_suspended")
        await identity.publish(user_event(UserReinstated, user, reinstated_by="admin"))
        await eventually(lambda: codes(me, "session_not_found"))
        assert await answer(me) == (201, None)  # the third of pro's 3 files
        assert await answer(me) == (413, "quota_exceeded")

        # A deleted account: refused, and its files deleted (the janitor purges them).
        opened = await client.post("/v1/uploads", headers=auth(str(gone)), json=SMALL)
        assert opened.status_code == 201, opened.text
        upload = opened.json()["upload"]
        async with httpx.AsyncClient() as s3:
            put = await s3.put(upload["url"], content=b"x" * 10, headers=upload["headers"])
            assert put.status_code == 200, put.text
        completed = await client.post(
            f"/v1/uploads/{opened.json()['session_id']}/complete",
            headers=auth(str(gone)),
            json={"parts": []},
        )
        assert completed.status_code == 202, completed.text
        file_stream = f"file-{opened.json()['file_id']}"
        await identity.publish(user_event(UserDeleted, gone, deleted_by="admin"))
        await eventually(lambda: codes(auth(str(gone)), "account_deleted"))
        await eventually(lambda: "file.deleted.v1" in event_types(file_stream))
        # A late event changes nothing: deleted is final.
        await identity.publish(user_event(UserReinstated, gone, reinstated_by="admin"))
        await identity.publish(user_event(UserSuspended, user, reason="again", suspended_by="a"))
        await eventually(lambda: codes(me, "account_suspended"))
        assert await code(auth(str(gone))) == "account_deleted"


async def test_an_admins_quota_override_replaces_the_plans_field_by_field(
    make_gateway_settings: Callable[..., GatewaySettings], auth: Any
) -> None:
    settings = make_gateway_settings(plans=Plans.only(Quota(files=10, bytes=10**9)))
    await apply_migrations(settings)
    user = uuid.uuid4()
    me = auth(str(user))

    async def override_is(files: int | None, size: int | None) -> bool:
        async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
            cursor = await conn.execute(
                "SELECT quota_files, quota_bytes, quota_at FROM gateway_accounts WHERE owner = %s",
                (str(user),),
            )
            row = await cursor.fetchone()
        return row is not None and row[2] is not None and (row[0], row[1]) == (files, size)

    async with (
        accounts_consumer(settings) as identity,
        AsyncTestClient(app=create_app(settings)) as client,
    ):

        async def answer() -> tuple[int, str | None]:
            response = await client.post("/v1/uploads", headers=me, json=SMALL)
            return response.status_code, response.json().get("code")

        assert await answer() == (201, None)
        # One file in progress; an override of one file refuses the next.
        await identity.publish(user_event(UserQuotaSet, user, files=1, changed_by="admin"))
        await eventually(lambda: override_is(1, None))
        assert await answer() == (413, "quota_exceeded")
        # Bytes only: the plan's ten files again, but 15 bytes hold one more 10-byte upload
        # only if nothing is reserved; 10 are.
        earlier = user_event(UserQuotaSet, user, files=0, bytes=0, changed_by="admin")
        await identity.publish(user_event(UserQuotaSet, user, bytes=15, changed_by="admin"))
        await eventually(lambda: override_is(None, 15))
        assert await answer() == (413, "quota_exceeded")
        # An older override arriving late changes nothing.
        await identity.publish(earlier)
        # Back to the plan's quota: admitted.
        await identity.publish(user_event(UserQuotaSet, user, changed_by="admin"))
        await eventually(lambda: override_is(None, None))
        assert await answer() == (201, None)
