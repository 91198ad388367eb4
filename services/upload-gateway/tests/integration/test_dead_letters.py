"""The admin dead-letter API, end to end: a real consumer (the verifier, deployed with
the wrong originals bucket) dead-letters a real upload; once the verifier is fixed, an
admin finds the dead letter, reads it, redrives it, and the file gets verified. Every
action is a `deadletter.*` event; users and moderators are refused every route."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import nats
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.bus import Bus, provision
from mediaplane.bus.testing import eventually
from mediaplane.contracts import headers as h
from mediaplane.devstack.pytest_plugin import bucket_admin
from mediaplane.devstack.settings import StackSettings
from mediaplane.eventlog.relay import OutboxRelay
from mediaplane.upload_gateway.api.app import create_app
from mediaplane.upload_gateway.app.bootstrap import clamd_scanner, open_resources
from mediaplane.upload_gateway.config import GatewaySettings
from mediaplane.upload_gateway.domain.dead_letter import dead_letter_stream
from mediaplane.upload_gateway.worker.verifier import register_verifier

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]
ADMIN = {"roles": ["admin"]}
BASE = "/v1/admin/dead-letters"


@asynccontextmanager
async def verifier(settings: GatewaySettings) -> AsyncIterator[None]:
    """The gateway's verifier and relay, as their processes run them."""
    async with open_resources(settings, pool_size=4) as resources:
        bus = Bus(settings.bus, resources.registry, producer="upload-gateway")
        register_verifier(bus, resources.service, resources.objects, clamd_scanner(settings))
        async with (
            bus.running(),
            OutboxRelay(settings.database_url, settings.bus.url, poll_interval=0.2),
        ):
            yield


@pytest.fixture
async def admin_client(settings: GatewaySettings) -> AsyncIterator[Client]:
    """The gateway API with its dead-letter routes (the test's admin identity stands in for
    `deadletters`, whose permissions libs/bus's tests check on a private server)."""
    wired = dataclasses.replace(settings, dead_letters=settings.bus)
    async with AsyncTestClient(app=create_app(wired)) as test_client:
        yield test_client


async def _upload(client: Client, s3: httpx.AsyncClient, auth: Callable[..., Any]) -> str:
    body = b"%PDF-1.7\n" + b"x" * 200
    opened = await client.post(
        "/v1/uploads",
        headers=auth(),
        json={"filename": "doc.pdf", "size": len(body), "content_type": "application/pdf"},
    )
    assert opened.status_code == 201, opened.text
    session = opened.json()
    put = await s3.request(
        "PUT", session["upload"]["url"], headers=session["upload"]["headers"], content=body
    )
    assert put.status_code == 200, put.text
    done = await client.post(
        f"/v1/uploads/{session['session_id']}/complete", headers=auth(), json={}
    )
    assert done.status_code == 202, done.text
    return str(session["file_id"])


async def _types_eventually(event_types: Any, stream_id: str, wanted: str) -> list[str]:
    deadline = asyncio.get_running_loop().time() + 60  # patience for a loaded machine
    while asyncio.get_running_loop().time() < deadline:
        types: list[str] = event_types(stream_id)
        if wanted in types:
            return types
        await asyncio.sleep(0.1)
    raise AssertionError(f"{wanted} never reached {stream_id}: {event_types(stream_id)}")


async def test_a_dead_letter_redriven_after_the_fix_is_processed(
    stack: StackSettings,
    admin_client: Client,
    settings: GatewaySettings,
    s3: httpx.AsyncClient,
    auth: Callable[..., Any],
    event_types: Any,
) -> None:
    admin = auth("root", **ADMIN)
    file_id = await _upload(admin_client, s3, auth)

    # The verifier, deployed with the wrong bucket, refuses the upload as poison: the
    # message goes to the DLQ at once (and the file stays unverified).
    broken = dataclasses.replace(settings, bucket=f"{settings.bucket}-typo")
    bucket_admin(stack).ensure(broken.bucket)  # it exists: the verifier starts
    try:
        async with verifier(broken):

            async def parked() -> bool:
                page = (await admin_client.get(BASE, headers=admin)).json()
                return len(page["items"]) == 1

            await eventually(parked)
    finally:
        bucket_admin(stack).empty_and_remove(broken.bucket)
    assert "file.verified.v1" not in event_types(f"file-{file_id}")

    page = await admin_client.get(
        BASE, headers=admin, params={"consumer": "upload-gateway", "reason": "BUCKET"}
    )
    assert page.status_code == 200, page.text
    [item] = page.json()["items"]
    assert item["consumer"] == "upload-gateway-verifier"
    assert item["subject"] == f"{settings.bus.subject_root}.file.uploaded.v2"
    assert item["event_type"] == "file.uploaded.v2"
    assert item["deliveries"] == 1
    assert item["parked_at"]
    assert "poison: bucket" in item["reason"]
    for miss in ({"consumer": "catalog"}, {"subject": "*.media.tag.>"}, {"reason": "timeout"}):
        none = await admin_client.get(BASE, headers=admin, params=miss)
        assert none.json() == {"items": [], "next_after": None}, miss

    shown = (await admin_client.get(f"{BASE}/{item['sequence']}", headers=admin)).json()
    assert shown["payload"]["file_id"] == file_id
    assert shown["payload_text"] is None
    assert shown["headers"][h.DLQ_CONSUMER] == "upload-gateway-verifier"
    assert shown["event_id"] == shown["payload"]["event_id"]

    # The fix is deployed; the admin redrives the dead letter and the file is verified.
    async with verifier(settings):
        redriven = await admin_client.post(f"{BASE}/{item['sequence']}/redrive", headers=admin)
        assert redriven.status_code == 200, redriven.text
        assert redriven.json()["msg_id"] == f"{shown['event_id']}:redrive:{item['sequence']}"
        await _types_eventually(event_types, f"file-{file_id}", "file.verified.v1")

    # Gone from the DLQ; the action is in the gateway's log (relayed to the audit log).
    gone = await admin_client.get(f"{BASE}/{item['sequence']}", headers=admin)
    assert (gone.status_code, gone.json()["code"]) == (404, "dead_letter_not_found")
    stream = dead_letter_stream(settings.bus.dlq_stream, item["sequence"])
    assert event_types(stream) == ["deadletter.redriven.v1"]
    again = await admin_client.post(f"{BASE}/{item['sequence']}/redrive", headers=admin)
    assert (again.status_code, again.json()["code"]) == (404, "dead_letter_not_found")


async def _park(settings: GatewaySettings, n: int, body: bytes = b"not json") -> None:
    """Dead letters as the bus writes them (a consumer named `probe`)."""
    nc = await nats.connect(settings.bus.url)
    try:
        js = nc.jetstream()
        await provision(js, settings.bus)
        subject = f"{settings.bus.subject_root}.tag.created.v2"
        for i in range(n):
            await js.publish(
                f"{settings.bus.dlq_subject_root}.probe.{subject}",
                body,
                stream=settings.bus.dlq_stream,
                headers={
                    h.DLQ_CONSUMER: "probe",
                    h.DLQ_ORIGINAL_SUBJECT: subject,
                    h.DLQ_REASON: f"poison: undecodable {i}",
                    h.DLQ_DELIVERIES: "1",
                },
            )
    finally:
        await nc.close()


async def test_discard_batches_paging_bad_ids_and_roles(
    admin_client: Client, settings: GatewaySettings, auth: Callable[..., Any], event_types: Any
) -> None:
    admin = auth("root", **ADMIN)
    await _park(settings, 3)

    first = (await admin_client.get(BASE, headers=admin, params={"limit": 2})).json()
    assert [x["sequence"] for x in first["items"]] == [1, 2]
    rest = await admin_client.get(BASE, headers=admin, params={"after": first["next_after"]})
    assert [x["sequence"] for x in rest.json()["items"]] == [3]
    raw = (await admin_client.get(f"{BASE}/1", headers=admin)).json()
    assert (raw["payload"], raw["payload_text"], raw["size"]) == (None, "not json", 8)

    discarded = await admin_client.post(
        f"{BASE}/1/discard", headers=admin, json={"note": "a test message"}
    )
    assert discarded.status_code == 204, discarded.text
    assert event_types(dead_letter_stream(settings.bus.dlq_stream, 1)) == [
        "deadletter.discarded.v1"
    ]
    batch = await admin_client.post(
        f"{BASE}/redrive", headers=admin, json={"consumer": "probe", "limit": 500}
    )
    assert [x["sequence"] for x in batch.json()["redriven"]] == [2, 3], batch.text
    assert (await admin_client.get(BASE, headers=admin)).json()["items"] == []

    # Bad ids and bodies: problem+json with stable codes.
    for path in (f"{BASE}/1", f"{BASE}/0", f"{BASE}/999999"):
        missing = await admin_client.get(path, headers=admin)
        assert (missing.status_code, missing.json()["code"]) == (404, "dead_letter_not_found")
        assert missing.headers["content-type"].startswith("application/problem+json")
    assert (await admin_client.get(f"{BASE}/abc", headers=admin)).status_code == 404
    bodies: list[dict[str, Any]] = [
        {"limit": 0},
        {"limit": 501},
        {"consumer": ""},
        {"everything": True},
    ]
    for body in bodies:
        bad = await admin_client.post(f"{BASE}/redrive", headers=admin, json=body)
        assert bad.status_code in (400, 422), (body, bad.text)
    long_note = await admin_client.post(
        f"{BASE}/2/discard", headers=admin, json={"note": "x" * 1001}
    )
    assert long_note.status_code in (400, 422)

    # Users and moderators may do none of it; no token is 401.
    routes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", BASE, None),
        ("GET", f"{BASE}/2", None),
        ("POST", f"{BASE}/2/redrive", None),
        ("POST", f"{BASE}/redrive", {}),
        ("POST", f"{BASE}/2/discard", {}),
    ]
    for who in (auth("bob"), auth("mod", roles=["moderator"])):
        for method, path, payload in routes:
            refused = await admin_client.request(method, path, headers=who, json=payload)
            assert (refused.status_code, refused.json()["code"]) == (403, "role_required"), path
    assert (await admin_client.get(BASE)).status_code == 401


async def test_without_the_identity_the_routes_answer_503(
    client: Client, auth: Callable[..., Any]
) -> None:
    unavailable = await client.get(BASE, headers=auth("root", **ADMIN))
    assert (unavailable.status_code, unavailable.json()["code"]) == (
        503,
        "dead_letters_unavailable",
    )
