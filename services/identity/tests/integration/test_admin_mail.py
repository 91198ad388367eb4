"""Admins see the mail outbox: mails that failed for good (the default) or still wait,
newest first, a page at a time, never their subject or body; they dismiss failed ones.
Refused for anyone else, and for bad query values."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from mediaplane.identity.adapters import mail_outbox
from mediaplane.identity.app.bootstrap import open_resources
from mediaplane.identity.testing import Server, SignUp

from .test_admin import bearer, make_admin

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clients")]

T0 = datetime(2026, 1, 1, tzinfo=UTC)
FIELDS = {
    "mail_id",
    "user_id",
    "kind",
    "recipient",
    "attempts",
    "created_at",
    "next_attempt_at",
    "failed_at",
    "last_error",
}


async def _mails(server: Server, user_id: str, *, failed: int, pending: int) -> list[str]:
    """`failed` failed mails then `pending` waiting ones, a minute apart from T0: their
    ids, oldest first."""
    ids = []
    async with (
        open_resources(server.settings, pool_size=1) as resources,
        resources.pool.connection() as conn,
    ):
        for n in range(failed + pending):
            at = T0 + timedelta(minutes=n)
            mail_id = await mail_outbox.enqueue(
                conn,
                user_id=uuid.UUID(user_id),
                kind="reset_password",
                recipient="mae@example.org",
                subject="a subject nobody lists",
                body="reset-token: a-secret-nobody-lists\n",
                now=at,
                expires_at=at + timedelta(days=3650),
            )
            if n < failed:
                await mail_outbox.fail(
                    conn, mail_id, attempts=1, now=at, error="rejected_permanently: X 550"
                )
            ids.append(str(mail_id))
    return ids


async def test_admins_page_through_failed_and_pending_mail(server: Server, sign_up: SignUp) -> None:
    admin = await make_admin(server, "admin@example.org")
    user_id = await sign_up("mae@example.org")
    ids = await _mails(server, user_id, failed=3, pending=1)
    first = await server.http.get("/v1/admin/mail", params={"limit": 2}, headers=admin)
    assert first.status_code == 200, first.text
    assert "subject" not in first.text
    assert "secret" not in first.text
    page = first.json()
    assert [item["mail_id"] for item in page["items"]] == [ids[2], ids[1]]  # newest first
    item = page["items"][0]
    assert set(item) == FIELDS
    assert (item["user_id"], item["kind"], item["recipient"], item["attempts"]) == (
        user_id,
        "reset_password",
        "mae@example.org",
        1,
    )
    assert item["failed_at"] is not None
    assert item["last_error"] == "rejected_permanently: X 550"
    second = await server.http.get(
        "/v1/admin/mail", params={"limit": 2, "cursor": page["next_cursor"]}, headers=admin
    )
    assert [i["mail_id"] for i in second.json()["items"]] == [ids[0]]
    assert second.json()["next_cursor"] is None
    pending = await server.http.get("/v1/admin/mail", params={"state": "pending"}, headers=admin)
    assert pending.status_code == 200, pending.text
    [waiting] = pending.json()["items"]
    assert (waiting["mail_id"], waiting["failed_at"], waiting["last_error"]) == (ids[3], None, None)


async def test_an_admin_dismisses_a_failed_mail_not_a_pending_one(
    server: Server, sign_up: SignUp
) -> None:
    admin = await make_admin(server, "admin@example.org")
    user_id = await sign_up("mae@example.org")
    failed, pending = await _mails(server, user_id, failed=1, pending=1)
    refused = await server.http.delete(f"/v1/admin/mail/{pending}", headers=admin)
    assert (refused.status_code, refused.json()["code"]) == (409, "mail_pending")
    assert refused.headers["content-type"] == "application/problem+json"
    dismissed = await server.http.delete(f"/v1/admin/mail/{failed}", headers=admin)
    assert dismissed.status_code == 204, dismissed.text
    again = await server.http.delete(f"/v1/admin/mail/{failed}", headers=admin)
    assert (again.status_code, again.json()["code"]) == (404, "mail_not_found")
    unknown = await server.http.delete(f"/v1/admin/mail/{uuid.uuid4()}", headers=admin)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "mail_not_found")
    listed = await server.http.get("/v1/admin/mail", headers=admin)
    assert listed.json() == {"items": [], "next_cursor": None}
    still = await server.http.get("/v1/admin/mail", params={"state": "pending"}, headers=admin)
    assert [i["mail_id"] for i in still.json()["items"]] == [pending]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"state": "sent"}, "invalid_request"),
        ({"limit": 0}, "invalid_request"),
        ({"limit": 201}, "invalid_request"),
        ({"limit": "many"}, "invalid_request"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
    ],
)
async def test_bad_query_values_are_refused(
    server: Server, params: dict[str, str | int], code: str
) -> None:
    admin = await make_admin(server, "admin@example.org")
    answer = await server.http.get("/v1/admin/mail", params=params, headers=admin)
    assert (answer.status_code, answer.json()["code"]) == (400, code)
    assert answer.headers["content-type"] == "application/problem+json"


async def test_only_admins_see_or_dismiss_mail(server: Server, sign_up: SignUp) -> None:
    user_id = await sign_up("mae@example.org")
    [failed] = await _mails(server, user_id, failed=1, pending=0)
    user = await bearer(server, "mae@example.org")
    for method, path in (("GET", "/v1/admin/mail"), ("DELETE", f"/v1/admin/mail/{failed}")):
        not_admin = await server.http.request(method, path, headers=user)
        assert (not_admin.status_code, not_admin.json()["code"]) == (403, "role_required")
        anonymous = await server.http.request(method, path)
        assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    admin = await make_admin(server, "admin@example.org")
    listed = await server.http.get("/v1/admin/mail", headers=admin)
    assert [i["mail_id"] for i in listed.json()["items"]] == [failed]  # still there
