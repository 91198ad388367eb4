"""`mediaplane files report`, `mediaplane moderation ...` and `mediaplane admin ...` against
a real gateway, catalog and identity service: a report, a takedown, the console queries, a
re-run request, a user's quota, and the role refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import psycopg
import pytest

from mediaplane.bus import provision
from mediaplane.client.cli import run
from mediaplane.contracts import headers as h
from mediaplane.identity.adapters import mail_outbox
from mediaplane.identity.app.bootstrap import open_resources
from mediaplane.identity.testing import PASSWORD, session, sign_up, tokens_for
from mediaplane.identity.testing import Server as IdentityServer

from .conftest import token

pytestmark = pytest.mark.integration


async def test_report_takedown_and_console_from_the_command_line(
    platform: Any,
    cli_env: Any,
    make_file: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = make_file(1000)
    upload = ["--json", "upload", str(path), "--state", str(tmp_path / "state.json")]
    assert await run(upload, cli_env()) == 0
    file_id = json.loads(capsys.readouterr().out)["file_id"]
    await platform.settle()

    def as_role(sub: str, role: str) -> dict[str, str]:
        return {**cli_env(sub=None), "MEDIAPLANE_TOKEN": token(sub, roles=[role])}

    moderator, admin = as_role("mod", "moderator"), as_role("root", "admin")

    assert await run(["--json", "files", "report", file_id, "spam"], cli_env("bob")) == 0
    report_id = json.loads(capsys.readouterr().out)["report_id"]
    # A plain user reaches neither console; a moderator not the admin one.
    assert await run(["moderation", "reports"], cli_env("bob")) == 1
    assert "error: role_required (403)" in capsys.readouterr().err
    assert await run(["admin", "usage"], moderator) == 1
    assert "error: role_required (403)" in capsys.readouterr().err

    await platform.settle()
    assert await run(["--json", "moderation", "reports", "--file-id", file_id], moderator) == 0
    [queued] = json.loads(capsys.readouterr().out)["items"]
    assert (queued["report_id"], queued["reporter"]) == (report_id, "bob")

    takedown = ["--json", "moderation", "takedown", file_id, "abuse"]
    assert await run(takedown, moderator) == 0
    assert json.loads(capsys.readouterr().out)["taken_down"] is True
    await platform.settle()
    assert await run(["files", "get", file_id], cli_env()) == 1
    assert "error: file_taken_down (451)" in capsys.readouterr().err

    assert await run(["--json", "admin", "files", "--owner", "alice", "--taken-down"], admin) == 0
    assert [f["file_id"] for f in json.loads(capsys.readouterr().out)["items"]] == [file_id]
    assert await run(["--json", "admin", "audit", "--file-id", file_id], admin) == 0
    types = [e["type"] for e in json.loads(capsys.readouterr().out)["items"]]
    assert types[:2] == ["file.taken_down.v1", "file.reported.v1"]
    queries = (
        ["admin", "usage"],
        ["admin", "processing"],
        ["admin", "storage"],
        ["admin", "usage-history", "--owner", "alice", "--days", "2"],
    )
    for query in queries:
        assert await run(["--json", *query], admin) == 0, query
        json.loads(capsys.readouterr().out)
    reprocess = ["--json", "admin", "reprocess", file_id, "--target"]
    for who in (cli_env("bob"), moderator):
        assert await run([*reprocess, "variants"], who) == 1
        assert "error: role_required (403)" in capsys.readouterr().err
    assert await run([*reprocess, "variants"], admin) == 1
    assert "error: file_taken_down (409)" in capsys.readouterr().err
    assert await run(["--json", "moderation", "restore", file_id, "appeal"], moderator) == 0
    assert json.loads(capsys.readouterr().out)["taken_down"] is False
    for target in ("thumbnails", "variants"):
        assert await run([*reprocess, target], admin) == 0, target
        assert json.loads(capsys.readouterr().out) == {
            "file_id": file_id,
            "target": target,
            "requested": True,
        }
    assert await run([*reprocess, "transcode"], admin) == 1  # a picture has no renditions
    assert "error: reprocess_not_applicable (422)" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # not a target: refused before any request
        await run([*reprocess, "everything"], admin)
    capsys.readouterr()


async def test_an_admin_sets_and_clears_a_quota_from_the_command_line(
    identity: IdentityServer, login_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`mediaplane admin quota` calls the identity service's admin API (through the edge in
    production; here the identity service is the base URL)."""
    async with open_resources(identity.settings, pool_size=1) as resources:
        await resources.accounts.register(
            email="root@example.org", password=PASSWORD, role="admin", via="admin", verified=True
        )
    tokens = await tokens_for(identity, await session(identity, "root@example.org"))
    admin = {**login_env, "MEDIAPLANE_TOKEN": tokens["access_token"]}
    user_id = await sign_up(identity, "quota@example.org")

    assert await run(["--json", "admin", "quota", user_id, "--files", "3"], admin) == 0
    assert json.loads(capsys.readouterr().out)["files"] == 3
    assert await run(["admin", "quota", user_id, "--plan"], admin) == 0
    capsys.readouterr()
    with psycopg.connect(identity.settings.database_url) as conn:
        rows = conn.execute(
            "SELECT data->>'files', data->>'bytes' FROM event_log"
            " WHERE stream_id = %s AND type = 'user.quota_set.v1' ORDER BY version",
            (f"user-{user_id}",),
        ).fetchall()
    assert rows == [("3", None), (None, None)]

    for ambiguous in ([], ["--plan", "--bytes", "10"]):
        assert await run(["admin", "quota", user_id, *ambiguous], admin) == 1
        assert "invalid_request" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        await run(["admin", "quota", user_id, "--files", "-1"], admin)
    unknown = ["admin", "quota", "0192f0a4-0000-7000-8000-000000000999", "--files", "1"]
    assert await run(unknown, admin) == 1
    assert "user_not_found (404)" in capsys.readouterr().err
    own = await tokens_for(identity, await session(identity, "quota@example.org"))
    user = {**login_env, "MEDIAPLANE_TOKEN": own["access_token"]}
    assert await run(["admin", "quota", user_id, "--files", "9"], user) == 1
    assert "role_required (403)" in capsys.readouterr().err


async def test_an_admin_lists_failed_mail_from_the_command_line(
    identity: IdentityServer, login_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`mediaplane admin mail` reads the identity service's mail outbox: failed for good
    by default, `--state pending` for the backlog; never a subject or a body."""
    async with open_resources(identity.settings, pool_size=1) as resources:
        await resources.accounts.register(
            email="root@example.org", password=PASSWORD, role="admin", via="admin", verified=True
        )
        user_id = await resources.accounts.register(
            email="lost@example.org", password=PASSWORD, via="admin", verified=True
        )
        assert user_id is not None
        async with resources.pool.connection() as conn:
            for subject in ("failed", "waiting"):
                mail_id = await mail_outbox.enqueue(
                    conn,
                    user_id=user_id,
                    kind="account_exists",
                    recipient="lost@example.org",
                    subject=subject,
                    body="a body nobody lists\n",
                    now=datetime.now(UTC),
                )
                if subject == "failed":
                    failed_id = mail_id
                    await mail_outbox.fail(
                        conn, mail_id, attempts=1, now=datetime.now(UTC), error="x: Y 550"
                    )
    tokens = await tokens_for(identity, await session(identity, "root@example.org"))
    admin = {**login_env, "MEDIAPLANE_TOKEN": tokens["access_token"]}

    assert await run(["--json", "admin", "mail"], admin) == 0
    out = capsys.readouterr().out
    [failed] = json.loads(out)["items"]
    assert (failed["mail_id"], failed["recipient"]) == (str(failed_id), "lost@example.org")
    assert "body" not in out
    assert "subject" not in out
    assert await run(["--json", "admin", "mail", "--state", "pending"], admin) == 0
    [waiting] = json.loads(capsys.readouterr().out)["items"]
    assert waiting["failed_at"] is None
    with pytest.raises(SystemExit):
        await run(["admin", "mail", "--state", "sent"], admin)
    own = await tokens_for(identity, await session(identity, "lost@example.org"))
    user = {**login_env, "MEDIAPLANE_TOKEN": own["access_token"]}
    assert await run(["admin", "mail"], user) == 1
    assert "role_required (403)" in capsys.readouterr().err


async def _park_dead_letters(platform: Any, n: int) -> None:
    """Dead letters as the bus writes them, of a consumer named `probe`."""
    bus = platform.gateway_settings.bus
    nc = await nats.connect(bus.url)
    try:
        js = nc.jetstream()
        await provision(js, bus)
        subject = f"{bus.subject_root}.tag.created.v2"
        for i in range(n):
            await js.publish(
                f"{bus.dlq_subject_root}.probe.{subject}",
                json.dumps({"n": i}).encode(),
                stream=bus.dlq_stream,
                headers={
                    h.DLQ_CONSUMER: "probe",
                    h.DLQ_ORIGINAL_SUBJECT: subject,
                    h.DLQ_REASON: f"handler failed on delivery 5/5: Outage {i}",
                    h.DLQ_DELIVERIES: "5",
                },
            )
    finally:
        await nc.close()


async def test_dead_letters_from_the_command_line(
    platform: Any, cli_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mediaplane admin dlq list|show|redrive|discard`, audited in `admin audit`."""
    await _park_dead_letters(platform, 3)
    admin = {**cli_env(sub=None), "MEDIAPLANE_TOKEN": token("root", roles=["admin"])}
    moderator = {**cli_env(sub=None), "MEDIAPLANE_TOKEN": token("mod", roles=["moderator"])}

    assert await run(["admin", "dlq", "list"], moderator) == 1
    assert "error: role_required (403)" in capsys.readouterr().err
    assert await run(["--json", "admin", "dlq", "list", "--consumer", "probe"], admin) == 0
    listed = json.loads(capsys.readouterr().out)["items"]
    assert [x["sequence"] for x in listed] == [1, 2, 3]
    assert await run(["--json", "admin", "dlq", "show", "2"], admin) == 0
    assert json.loads(capsys.readouterr().out)["payload"] == {"n": 1}
    assert await run(["admin", "dlq", "show", "9"], admin) == 1
    assert "error: dead_letter_not_found (404)" in capsys.readouterr().err

    assert await run(["--json", "admin", "dlq", "redrive", "1"], admin) == 0
    [redriven] = json.loads(capsys.readouterr().out)["redriven"]
    assert redriven["sequence"] == 1
    assert await run(["--json", "admin", "dlq", "discard", "2", "--note", "test"], admin) == 0
    assert json.loads(capsys.readouterr().out) == {"discarded": [2]}
    batch = ["--json", "admin", "dlq", "redrive", "--all", "--reason", "outage"]
    assert await run(batch, admin) == 0
    assert [x["sequence"] for x in json.loads(capsys.readouterr().out)["redriven"]] == [3]
    assert await run(["--json", "admin", "dlq", "list"], admin) == 0
    assert json.loads(capsys.readouterr().out)["items"] == []

    await platform.settle()
    assert await run(["--json", "admin", "audit", "--type", "deadletter."], admin) == 0
    audited = json.loads(capsys.readouterr().out)["items"]
    assert sorted((e["type"], e["actor"], e["data"]["dlq_sequence"]) for e in audited) == [
        ("deadletter.discarded.v1", "root", 2),
        ("deadletter.redriven.v1", "root", 1),
        ("deadletter.redriven.v1", "root", 3),
    ]
