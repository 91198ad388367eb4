"""`mediaplane files report`, `mediaplane moderation ...` and `mediaplane admin ...` against
a real gateway and catalog: a report, a takedown, the console queries, a re-run request,
and the role refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mediaplane.client.cli import run

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
    for query in (["admin", "usage"], ["admin", "processing"], ["admin", "storage"]):
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
