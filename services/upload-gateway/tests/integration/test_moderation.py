"""Moderation commands over HTTP: any user reports, moderators dismiss, take down and
restore; a plain user is refused every moderation route (403 `role_required`)."""

from __future__ import annotations

import os
import uuid
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

pytestmark = pytest.mark.integration

MODERATOR = {"roles": ["moderator"]}


async def _file(client: AsyncTestClient[Litestar], s3: httpx.AsyncClient, auth: Any) -> str:
    body = b"%PDF-1.7\n" + os.urandom(100)
    opened = (
        await client.post(
            "/v1/uploads",
            headers=auth(),
            json={"filename": "doc.pdf", "size": len(body), "content_type": "application/pdf"},
        )
    ).json()
    signed = opened["upload"]
    await s3.request(signed["method"], signed["url"], headers=signed["headers"], content=body)
    await client.post(f"/v1/uploads/{opened['session_id']}/complete", headers=auth(), json={})
    return str(opened["file_id"])


async def test_report_dismiss_takedown_restore(
    client: AsyncTestClient[Litestar], s3: httpx.AsyncClient, auth: Any, event_types: Any
) -> None:
    file_id = await _file(client, s3, auth)
    base = f"/v1/moderation/files/{file_id}"

    reported = await client.post(
        f"/v1/files/{file_id}/reports", headers=auth("bob"), json={"reason": "spam"}
    )
    assert reported.status_code == 201, reported.text
    report_id = reported.json()["report_id"]
    again = await client.post(
        f"/v1/files/{file_id}/reports", headers=auth("bob"), json={"reason": "spam"}
    )
    assert (again.status_code, again.json()["code"]) == (409, "already_reported")
    for body in ({"reason": ""}, {"reason": "   "}, {"why": "x"}, {"reason": "x" * 1001}):
        bad = await client.post(f"/v1/files/{file_id}/reports", headers=auth("carol"), json=body)
        assert bad.status_code in (400, 422), (body, bad.text)
    unknown = await client.post(
        f"/v1/files/{uuid.uuid4()}/reports", headers=auth("bob"), json={"reason": "spam"}
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "file_not_found")

    # A plain user may do none of the moderators' commands.
    for path, body in (
        (f"{base}/takedown", {"reason": "x"}),
        (f"{base}/restore", {"reason": "x"}),
        (f"{base}/reports/{report_id}/dismiss", {}),
    ):
        refused = await client.post(path, headers=auth("bob"), json=body)
        assert (refused.status_code, refused.json()["code"]) == (403, "role_required"), path

    dismissed = await client.post(
        f"{base}/reports/{report_id}/dismiss", headers=auth("mod", **MODERATOR), json={}
    )
    assert dismissed.json() == {
        "file_id": file_id,
        "taken_down": False,
        "reason": None,
        "open_reports": 0,
    }
    gone = await client.post(
        f"{base}/reports/{report_id}/dismiss", headers=auth("mod", **MODERATOR), json={}
    )
    assert (gone.status_code, gone.json()["code"]) == (404, "report_not_found")

    await client.post(f"/v1/files/{file_id}/reports", headers=auth("carol"), json={"reason": "x"})
    down = await client.post(
        f"{base}/takedown", headers=auth("mod", **MODERATOR), json={"reason": "abuse"}
    )
    assert down.json() == {
        "file_id": file_id,
        "taken_down": True,
        "reason": "abuse",
        "open_reports": 0,
    }
    twice = await client.post(
        f"{base}/takedown", headers=auth("admin", roles=["admin"]), json={"reason": "abuse"}
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "moderation_conflict")
    restored = await client.post(
        f"{base}/restore", headers=auth("mod", **MODERATOR), json={"reason": "appeal upheld"}
    )
    assert restored.json()["taken_down"] is False
    assert event_types(f"file-{file_id}")[-5:] == [
        "file.reported.v1",
        "file.report_dismissed.v1",
        "file.reported.v1",
        "file.taken_down.v1",
        "file.restored.v1",
    ]


async def test_reprocess_is_for_admins_and_verified_files(
    client: AsyncTestClient[Litestar], s3: httpx.AsyncClient, auth: Any
) -> None:
    file_id = await _file(client, s3, auth)
    path = f"/v1/admin/files/{file_id}/reprocess"
    for who in (auth("bob"), auth("mod", **MODERATOR)):
        for target in ("thumbnails", "transcode", "variants"):
            refused = await client.post(path, headers=who, json={"target": target})
            assert (refused.status_code, refused.json()["code"]) == (403, "role_required")
    admin = auth("root", roles=["admin"])
    for body in ({}, {"target": "thumbnails", "x": 1}, {"target": 3}):
        assert (await client.post(path, headers=admin, json=body)).status_code == 400, body
    for target in ("everything", "Transcode"):
        bad = await client.post(path, headers=admin, json={"target": target})
        assert (bad.status_code, bad.json()["code"]) == (422, "invalid_reprocess_target"), target
    # No verifier runs here: the file is only uploaded, so there is nothing to redo yet.
    for target in ("thumbnails", "transcode", "variants"):
        early = await client.post(path, headers=admin, json={"target": target})
        assert (early.status_code, early.json()["code"]) == (409, "file_not_verified")
    missing = await client.post(
        f"/v1/admin/files/{uuid.uuid4()}/reprocess", headers=admin, json={"target": "transcode"}
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "file_not_found")
    down = await client.post(
        f"/v1/moderation/files/{file_id}/takedown",
        headers=auth("mod", **MODERATOR),
        json={"reason": "abuse"},
    )
    assert down.status_code == 200, down.text
    taken = await client.post(path, headers=admin, json={"target": "variants"})
    assert (taken.status_code, taken.json()["code"]) == (409, "file_taken_down")
