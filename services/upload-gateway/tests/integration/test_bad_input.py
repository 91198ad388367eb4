"""Every bad input gets problem+json with a stable code, and nothing is half-written."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.contracts import EventContext
from mediaplane.devstack.pytest_plugin import advisory_lock_waiters
from mediaplane.domain.quota import Plans, Quota
from mediaplane.servicekit.rate_limit import RateLimit
from mediaplane.upload_gateway.api.app import create_app
from mediaplane.upload_gateway.app.bootstrap import apply_migrations, open_resources
from mediaplane.upload_gateway.app.service import OpenRequest
from mediaplane.upload_gateway.config import GatewaySettings
from mediaplane.upload_gateway.domain.errors import QuotaExceeded
from mediaplane.upload_gateway.domain.policy import MiB, UploadLimits

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]
GOOD = {"filename": "a.mp4", "size": 11 * MiB, "content_type": "video/mp4"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["title"]
    return body


async def test_malformed_json_and_unknown_fields(
    client: Client, auth: Any, event_types: Any
) -> None:
    malformed = await client.post(
        "/v1/uploads",
        headers={**auth(), "content-type": "application/json"},
        content=b'{"filename": ',
    )
    assert_problem(malformed, 400, "invalid_request")
    unknown = await client.post("/v1/uploads", headers=auth(), json={**GOOD, "owner": "bob"})
    body = assert_problem(unknown, 400, "invalid_request")
    assert "owner" in str(body["errors"])
    assert event_types() == []


@pytest.mark.parametrize(
    ("size", "status", "code"),
    [
        (-1, 400, "invalid_request"),
        (0, 400, "invalid_request"),
        (2**60, 400, "invalid_request"),
        (51 * 1024 * MiB, 422, "size_out_of_range"),
        # One byte more than the scanner scans whole (the default limit follows it).
        (1000 * MiB + 1, 422, "size_out_of_range"),
    ],
)
async def test_negative_zero_and_huge_sizes(
    client: Client, auth: Any, size: int, status: int, code: str
) -> None:
    assert_problem(
        await client.post("/v1/uploads", headers=auth(), json={**GOOD, "size": size}), status, code
    )


async def test_disallowed_type_bad_name_and_bad_tags(client: Client, auth: Any) -> None:
    exe = await client.post(
        "/v1/uploads", headers=auth(), json={**GOOD, "content_type": "application/x-msdownload"}
    )
    assert_problem(exe, 415, "content_type_not_allowed")
    name = await client.post("/v1/uploads", headers=auth(), json={**GOOD, "filename": "../"})
    assert_problem(name, 422, "invalid_filename")
    tag = await client.post("/v1/uploads", headers=auth(), json={**GOOD, "tags": ["no;way"]})
    assert_problem(tag, 422, "invalid_tag")
    bad_sha = await client.post("/v1/uploads", headers=auth(), json={**GOOD, "sha256": "XYZ"})
    assert_problem(bad_sha, 400, "invalid_request")


async def test_missing_invalid_and_expired_tokens(client: Client, auth: Any) -> None:
    missing = await client.post("/v1/uploads", json=GOOD)
    assert_problem(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    garbage = await client.post(
        "/v1/uploads", headers={"Authorization": "Bearer not.a.jwt"}, json=GOOD
    )
    assert_problem(garbage, 401, "unauthorized")
    forged = await client.post(
        "/v1/uploads", headers=auth(secret="someone-elses-secret-0123456789abc"), json=GOOD
    )
    assert_problem(forged, 401, "unauthorized")
    expired = await client.post("/v1/uploads", headers=auth(expires_in=-10), json=GOOD)
    body = assert_problem(expired, 401, "unauthorized")
    assert "expired" in body["detail"]


async def _open(client: Client, auth: Any, **extra: Any) -> dict[str, Any]:
    response = await client.post("/v1/uploads", headers=auth(), json={**GOOD, **extra})
    assert response.status_code == 201, response.text
    session: dict[str, Any] = response.json()
    return session


async def test_part_numbers_out_of_range_or_repeated(client: Client, auth: Any) -> None:
    session = await _open(client, auth)
    url = f"/v1/uploads/{session['session_id']}/parts"
    assert_problem(
        await client.post(url, headers=auth(), json={"parts": [{"number": 4}]}),
        422,
        "invalid_parts",
    )
    assert_problem(
        await client.post(url, headers=auth(), json={"parts": [{"number": 0}]}),
        400,
        "invalid_request",
    )
    assert_problem(
        await client.post(url, headers=auth(), json={"parts": [{"number": 1}, {"number": 1}]}),
        422,
        "invalid_parts",
    )
    assert_problem(
        await client.post(url, headers=auth(), json={"parts": []}), 400, "invalid_request"
    )


async def test_someone_elses_session_is_not_found(client: Client, auth: Any) -> None:
    session = await _open(client, auth)
    sid = session["session_id"]
    assert_problem(
        await client.get(f"/v1/uploads/{sid}", headers=auth("mallory")), 404, "session_not_found"
    )
    assert_problem(
        await client.post(
            f"/v1/uploads/{sid}/parts", headers=auth("mallory"), json={"parts": [{"number": 1}]}
        ),
        404,
        "session_not_found",
    )
    assert_problem(
        await client.post(f"/v1/uploads/{sid}/complete", headers=auth("mallory"), json={}),
        404,
        "session_not_found",
    )
    assert_problem(
        await client.delete(f"/v1/uploads/{sid}", headers=auth("mallory")), 404, "session_not_found"
    )
    assert_problem(
        await client.get(f"/v1/uploads/{os.urandom(16).hex()}", headers=auth()),
        404,
        "session_not_found",
    )
    assert_problem(await client.get("/v1/uploads/not-a-uuid", headers=auth()), 404, "not_found")


async def test_wrong_etags_and_missing_parts_refuse_completion(
    client: Client, auth: Any, s3: httpx.AsyncClient, event_types: Any
) -> None:
    body = os.urandom(11 * MiB)
    session = await _open(client, auth)
    sid = session["session_id"]
    signed = (
        await client.post(
            f"/v1/uploads/{sid}/parts",
            headers=auth(),
            json={"parts": [{"number": n} for n in (1, 2, 3)]},
        )
    ).json()["parts"]
    etags = {}
    for part in signed:
        n = part["number"]
        chunk = body[(n - 1) * 5 * MiB : n * 5 * MiB]
        etags[n] = (await s3.put(part["url"], content=chunk)).headers["etag"]

    wrong = [
        {"number": 1, "etag": etags[1]},
        {"number": 2, "etag": '"deadbeef"'},
        {"number": 3, "etag": etags[3]},
    ]
    assert_problem(
        await client.post(f"/v1/uploads/{sid}/complete", headers=auth(), json={"parts": wrong}),
        422,
        "invalid_parts",
    )
    missing = [{"number": 1, "etag": etags[1]}, {"number": 2, "etag": etags[2]}]
    assert_problem(
        await client.post(f"/v1/uploads/{sid}/complete", headers=auth(), json={"parts": missing}),
        409,
        "parts_missing",
    )
    assert event_types(f"upload-{sid}") == ["upload.session.opened.v1"]


async def test_a_corrupted_part_is_refused_by_s3(
    client: Client, auth: Any, s3: httpx.AsyncClient
) -> None:
    session = await _open(client, auth)
    good = os.urandom(5 * MiB)
    signed = (
        await client.post(
            f"/v1/uploads/{session['session_id']}/parts",
            headers=auth(),
            json={"parts": [{"number": 1, "sha256": hashlib.sha256(good).hexdigest()}]},
        )
    ).json()["parts"][0]
    corrupted = bytearray(good)
    corrupted[1000] ^= 0xFF

    refused = await s3.put(signed["url"], content=bytes(corrupted))

    assert refused.status_code == 400
    assert "BadDigest" in refused.text or "XAmzContentSHA256Mismatch" in refused.text
    listed = await client.get(f"/v1/uploads/{session['session_id']}/parts", headers=auth())
    assert listed.json()["parts"] == []


async def test_an_expired_session_refuses_signing_and_completion(
    make_gateway_settings: Callable[..., GatewaySettings], auth: Any
) -> None:
    settings = make_gateway_settings(
        limits=UploadLimits(single_put_max=5 * MiB, part_size=5 * MiB, session_ttl_seconds=1)
    )
    await apply_migrations(settings)
    async with AsyncTestClient(app=create_app(settings)) as client:
        session = await _open(client, auth)
        await asyncio.sleep(1.1)
        sid = session["session_id"]
        assert_problem(
            await client.post(
                f"/v1/uploads/{sid}/parts", headers=auth(), json={"parts": [{"number": 1}]}
            ),
            410,
            "session_expired",
        )
        assert_problem(
            await client.post(f"/v1/uploads/{sid}/complete", headers=auth(), json={}),
            410,
            "session_expired",
        )


async def test_the_quota_admits_up_to_its_limits_exactly(
    make_gateway_settings: Callable[..., GatewaySettings], auth: Any
) -> None:
    settings = make_gateway_settings(
        limits=UploadLimits(single_put_max=5 * MiB, part_size=5 * MiB),
        plans=Plans.only(Quota(files=3, bytes=4 * MiB)),
    )
    await apply_migrations(settings)
    small = {"filename": "a.png", "content_type": "image/png"}
    async with AsyncTestClient(app=create_app(settings)) as client:
        # Bytes: exactly at the quota is admitted, one byte more is not.
        first = await client.post("/v1/uploads", headers=auth(), json={**small, "size": 3 * MiB})
        assert first.status_code == 201, first.text
        over = await client.post("/v1/uploads", headers=auth(), json={**small, "size": MiB + 1})
        body = assert_problem(over, 413, "quota_exceeded")
        assert "4194304 byte quota" in body["detail"]
        exact = await client.post("/v1/uploads", headers=auth(), json={**small, "size": MiB})
        assert exact.status_code == 201, exact.text
        # Files: two sessions are open, a third fits the count but no bytes are left ...
        assert_problem(
            await client.post("/v1/uploads", headers=auth(), json={**small, "size": 1}),
            413,
            "quota_exceeded",
        )
        # ... and once the 4 MiB session is aborted, the count is what refuses.
        deleted = await client.delete(f"/v1/uploads/{exact.json()['session_id']}", headers=auth())
        assert deleted.status_code in (200, 204), deleted.text
        for _ in range(2):
            ok = await client.post("/v1/uploads", headers=auth(), json={**small, "size": 1})
            assert ok.status_code == 201, ok.text
        count = await client.post("/v1/uploads", headers=auth(), json={**small, "size": 1})
        assert "at most 3 files" in assert_problem(count, 413, "quota_exceeded")["detail"]


async def test_concurrent_opens_of_one_owner_never_exceed_the_quota(
    make_gateway_settings: Callable[..., GatewaySettings], event_types: Any
) -> None:
    settings = make_gateway_settings(
        limits=UploadLimits(single_put_max=5 * MiB, part_size=5 * MiB),
        plans=Plans.only(Quota(files=5)),
    )
    await apply_migrations(settings)
    request = OpenRequest(filename="a.png", size=1, content_type="image/png")
    context = EventContext(producer="tests", correlation_id="quota-race")
    async with (
        open_resources(settings, pool_size=30) as resources,
        await psycopg.AsyncConnection.connect(settings.database_url) as holder,
    ):
        # Hold alice's quota lock until every open has started and waits for it:
        # a usage read from a snapshot taken before the lock was granted (the
        # race this guards against) would then admit them all. The 30 opens are
        # queued at once, so the gateway's group commit sends them in its two
        # groups (16 and 14 statements, each group a transaction), and the first
        # statement of each waits for the lock; the rest follow it in its group.
        await holder.execute("SELECT pg_advisory_xact_lock(hashtextextended('alice', 42))")
        opens = asyncio.gather(
            *(resources.service.open("alice", request, context) for _ in range(30)),
            return_exceptions=True,
        )
        waiting = 0
        for _ in range(200):
            await asyncio.sleep(0.05)
            waiting = await advisory_lock_waiters(holder)
            if waiting >= 2:
                break
        assert waiting == 2, f"{waiting} groups of opens queued on the lock, not 2"
        await holder.commit()
        outcomes = await opens
    admitted = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, QuotaExceeded)]
    assert (len(admitted), len(refused)) == (5, 25), outcomes
    assert event_types().count("upload.session.opened.v1") == 5


async def test_any_plan_name_chooses_its_own_quota(
    make_gateway_settings: Callable[..., GatewaySettings],
) -> None:
    """The open statement gets the plans as array literals: names that need quoting in one
    (quotes, backslashes, commas, braces, NULL) still name their own plan."""
    odd = ['say "hi"', "back\\slash", "a,b", "{braces}", "NULL", " spaced "]
    quotas = {"free": Quota(files=1), **{name: Quota(files=i + 2) for i, name in enumerate(odd)}}
    settings = make_gateway_settings(plans=Plans(quotas=quotas, default="free"))
    await apply_migrations(settings)
    request = OpenRequest(filename="a.png", size=1, content_type="image/png")
    context = EventContext(producer="tests", correlation_id="plan-names")
    async with open_resources(settings, pool_size=2) as resources:
        for i, name in enumerate([*odd, "unknown", None]):
            owner = f"owner-{i}"
            files = odd.index(name) + 2 if name in odd else 1
            for _ in range(files):
                await resources.service.open(owner, request, context, claimed_plan=name)
            with pytest.raises(QuotaExceeded):
                await resources.service.open(owner, request, context, claimed_plan=name)


async def test_quota_and_rate_limit(
    make_gateway_settings: Callable[..., GatewaySettings], auth: Any, event_types: Any
) -> None:
    settings = make_gateway_settings(
        limits=UploadLimits(single_put_max=5 * MiB, part_size=5 * MiB),
        plans=Plans.only(Quota(bytes=20 * MiB)),
        rate_limit=RateLimit(per_second=0.5, burst=3),
    )
    await apply_migrations(settings)
    async with AsyncTestClient(app=create_app(settings)) as client:
        await _open(client, auth)  # reserves 11 MiB of 20
        over = await client.post("/v1/uploads", headers=auth(), json=GOOD)
        assert_problem(over, 413, "quota_exceeded")
        other_owner = await client.post("/v1/uploads", headers=auth("bob"), json=GOOD)
        assert other_owner.status_code == 201
        await client.get("/v1/uploads/00000000-0000-0000-0000-000000000000", headers=auth())
        limited = await client.get(
            "/v1/uploads/00000000-0000-0000-0000-000000000000", headers=auth()
        )
        assert_problem(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) >= 1
    # The refused open left no session behind, and its S3 upload was aborted.
    assert event_types().count("upload.session.opened.v1") == 2
