"""The `mediaplane` command against the real gateway and catalog."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest

from mediaplane.client import FileChange, upload_file
from mediaplane.client.cli import run

pytestmark = pytest.mark.integration


async def test_tags_create_then_list_every_page_with_auto(
    platform: Any, cli_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(["tags", "create", "Sea", "beach", "city", "dawn", "sea"], cli_env()) == 0
    created = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert created == [
        ["tag", "result"],
        ["beach", "created"],
        ["city", "created"],
        ["dawn", "created"],
        ["sea", "created"],
    ]
    await platform.settle()

    assert await run(["--json", "tags", "list", "--limit", "3"], cli_env()) == 0
    page = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in page["items"]] == ["beach", "city", "dawn"]
    assert page["next_marker"] == "dawn"

    assert await run(["--json", "tags", "list", "--limit", "3", "--auto"], cli_env()) == 0
    every = json.loads(capsys.readouterr().out)
    assert every == [{"name": n, "files": 0} for n in ["beach", "city", "dawn", "sea"]]


async def test_upload_list_and_download_from_the_command_line(
    platform: Any,
    cli_env: Any,
    make_file: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = make_file(6 * 1024 * 1024)  # two parts
    state = tmp_path / "state.json"
    upload = ["--json", "upload", str(path), "--tag", "trip", "--state", str(state)]
    assert await run(upload, cli_env()) == 0
    uploaded = json.loads(capsys.readouterr().out)
    assert uploaded["size"] == path.stat().st_size
    await platform.settle()

    assert await run(["--json", "files", "list", "--tag", "trip", "--auto"], cli_env()) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["file_id"], listed["status"]) == (uploaded["file_id"], "ready")

    output = tmp_path / "copy.png"
    download = ["files", "download", uploaded["file_id"], "-o", str(output)]
    assert await run(download, cli_env()) == 0
    assert capsys.readouterr().out.strip() == f"saved {output}"
    assert output.read_bytes() == path.read_bytes()


async def test_errors_print_the_problem_code_and_a_hint(
    platform: Any, cli_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(["files", "get", str(uuid.uuid4())], cli_env()) == 1
    assert "error: file_not_found (404)" in capsys.readouterr().err

    assert await run(["tags", "list"], cli_env(sub=None)) == 1
    err = capsys.readouterr().err
    assert "error: unauthorized (401)" in err
    assert "set MEDIAPLANE_TOKEN" in err


async def test_token_gets_a_dev_token_the_platform_accepts(
    platform: Any, cli_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(["token", "--sub", "bob"], cli_env(sub=None)) == 0
    issued = capsys.readouterr().out.strip()
    assert jwt.decode(issued, options={"verify_signature": False})["sub"] == "bob"

    env = {**cli_env(sub=None), "MEDIAPLANE_TOKEN": issued}
    assert await run(["tags", "create", "bobs"], env) == 0


async def test_watch_streams_changes_of_the_callers_files(
    platform: Any, make_client: Any, make_file: Any, tmp_path: Path
) -> None:
    client = make_client()
    changes = client.watch()
    first = asyncio.ensure_future(anext(changes))
    completion = await upload_file(client, make_file(1000), state_path=tmp_path / "s.json")
    try:
        # The stream subscribes in the background: changes made before it did are not
        # sent, so keep changing the file until one arrives.
        for round_ in range(100):
            await client.set_file_tags(completion.file_id, [f"round{round_}"])
            await platform.settle()
            done, _ = await asyncio.wait({first}, timeout=0.2)
            if done:
                break
        change = await asyncio.wait_for(first, 30)
    finally:
        await changes.aclose()

    assert isinstance(change, FileChange)
    assert (change.file_id, change.owner) == (completion.file_id, "alice")
