"""Uploads through the SDK against the real gateway and SeaweedFS (signatures enforced)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from mediaplane.client import MediaplaneError, UploadState, upload_file

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
PART = 5 * MiB
FOUR_PARTS = 3 * PART + 1234

Hook = Callable[[httpx.Request], Awaitable[httpx.Request]]


async def _unchanged(request: httpx.Request) -> httpx.Request:
    return request


class Recorder(httpx.AsyncBaseTransport):
    """Sends requests to the network and records them; `hook` sees each one first and may
    replace it, raise (a crash) or block (a stalled upload)."""

    def __init__(self, hook: Hook = _unchanged) -> None:
        self._network = httpx.AsyncHTTPTransport()
        self._hook = hook
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self._network.handle_async_request(await self._hook(request))

    async def aclose(self) -> None:
        await self._network.aclose()

    def part_puts(self) -> list[int]:
        return [n for r in self.requests if r.method == "PUT" and (n := part_number(r))]

    def paths(self, method: str) -> list[str]:
        return [r.url.path for r in self.requests if r.method == method]


def part_number(request: httpx.Request) -> int:
    return int(request.url.params.get("partNumber", 0))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_state(path: Path) -> UploadState:
    return msgspec.json.decode(path.read_bytes(), type=UploadState)


async def test_a_single_put_upload_is_verified_with_its_declared_sha256(
    platform: Any, make_client: Any, make_file: Any, tmp_path: Path
) -> None:
    path = make_file(300_000)
    recorder = Recorder()
    client = make_client(recorder)
    state = tmp_path / "state.json"

    completion = await upload_file(client, path, tags=["Holiday"], state_path=state)

    assert completion.size == path.stat().st_size
    assert not state.exists()
    [put] = [r for r in recorder.requests if r.method == "PUT"]
    # The whole file's SHA-256 is signed into the PUT: storage checks the bytes on arrival.
    signed = base64.b64decode(put.url.params["x-amz-checksum-sha256"]).hex()
    assert signed == sha256(path.read_bytes())
    await platform.settle()
    detail = await client.get_file(completion.file_id)
    assert (detail.file.status, detail.file.filename, detail.file.tags) == (
        "ready",
        "photo.png",
        ["holiday"],
    )
    assert detail.sha256 == sha256(path.read_bytes())


async def test_multipart_upload_sends_checksummed_parts_in_parallel(
    platform: Any, make_client: Any, make_file: Any, tmp_path: Path
) -> None:
    path = make_file(FOUR_PARTS)
    together = asyncio.Barrier(3)

    async def meet(request: httpx.Request) -> httpx.Request:
        # The first three parts wait for each other: a sequential client would never get
        # past this (and the test would time out), a parallel one passes at once.
        if part_number(request) and together.n_waiting + len(passed) < 3:
            await asyncio.wait_for(together.wait(), 30)
            passed.append(part_number(request))
        return request

    passed: list[int] = []
    recorder = Recorder(meet)
    client = make_client(recorder)

    completion = await upload_file(client, path, parallel=3, state_path=tmp_path / "s.json")

    assert sorted(passed) == sorted(recorder.part_puts()[:3])
    assert sorted(recorder.part_puts()) == [1, 2, 3, 4]
    body = path.read_bytes()
    for put in (r for r in recorder.requests if part_number(r)):
        n = part_number(put)
        chunk = body[(n - 1) * PART : n * PART]
        assert base64.b64decode(put.url.params["x-amz-checksum-sha256"]).hex() == sha256(chunk)
    assert completion.size == len(body)
    await platform.settle()
    detail = await client.get_file(completion.file_id)
    assert (detail.file.status, detail.sha256) == ("ready", sha256(body))


@pytest.mark.parametrize("stop", ["crash", "ctrl-c"])
async def test_a_rerun_resumes_after_stopping_at_part_n_and_uploads_only_the_rest(
    stop: str, platform: Any, make_client: Any, make_file: Any, tmp_path: Path
) -> None:
    path = make_file(FOUR_PARTS)
    state = tmp_path / "upload.json"
    reached = asyncio.Event()

    async def stop_at_part_3(request: httpx.Request) -> httpx.Request:
        if part_number(request) == 3:
            if stop == "crash":
                raise RuntimeError("simulated crash")
            reached.set()
            await asyncio.Event().wait()  # stalls until the upload is cancelled
        return request

    first = Recorder(stop_at_part_3)
    # One part at a time, so "after part 2" is exact.
    upload = asyncio.create_task(
        upload_file(make_client(first), path, parallel=1, state_path=state)
    )
    if stop == "crash":
        with pytest.raises(RuntimeError, match="simulated crash"):
            await upload
    else:
        await asyncio.wait_for(reached.wait(), 60)
        upload.cancel()  # what Ctrl-C does to the running command
        with pytest.raises(asyncio.CancelledError):
            await upload

    saved = load_state(state)
    assert sorted(saved.parts) == [1, 2]
    assert first.part_puts() == [1, 2, 3]
    second = Recorder()
    client = make_client(second)
    completion = await upload_file(client, path, parallel=3, state_path=state)

    assert sorted(second.part_puts()) == [3, 4]
    assert second.paths("POST").count("/v1/uploads") == 0  # the same session went on
    assert completion.session_id == saved.session_id
    assert not state.exists()
    await platform.settle()
    detail = await client.get_file(completion.file_id)
    assert (detail.file.status, detail.sha256) == ("ready", sha256(path.read_bytes()))


class CrashOnCompletion(Recorder):
    """Completion succeeds on the server, but the client dies before reading the answer."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.url.path.endswith("/complete"):
            raise RuntimeError("simulated crash")
        return response


@pytest.mark.parametrize("crash_on", ["put", "complete", "completed"])
async def test_a_single_put_upload_resumes_in_the_same_session(
    crash_on: str, make_client: Any, make_file: Any, tmp_path: Path
) -> None:
    path = make_file(100_000)
    state = tmp_path / "upload.json"

    async def crash(request: httpx.Request) -> httpx.Request:
        # "put": while sending the bytes; "complete": after storage has them all.
        sending = request.method == "PUT"
        completing = request.url.path.endswith("/complete")
        if (sending and crash_on == "put") or (completing and crash_on == "complete"):
            raise RuntimeError("simulated crash")
        return request

    first = CrashOnCompletion() if crash_on == "completed" else Recorder(crash)
    with pytest.raises(RuntimeError):
        await upload_file(make_client(first), path, state_path=state)
    saved = load_state(state)
    rerun = Recorder()

    completion = await upload_file(make_client(rerun), path, state_path=state)

    assert completion.session_id == saved.session_id
    puts = [r for r in rerun.requests if r.method == "PUT"]
    assert len(puts) == (1 if crash_on == "put" else 0)
    assert rerun.paths("POST") == [f"/v1/uploads/{saved.session_id}/complete"]
    assert not state.exists()


async def test_a_part_corrupted_after_signing_is_refused_and_nothing_completes(
    make_client: Any, make_file: Any, tmp_path: Path
) -> None:
    path = make_file(FOUR_PARTS)
    state = tmp_path / "upload.json"

    async def flip_a_byte_of_part_2(request: httpx.Request) -> httpx.Request:
        if part_number(request) != 2:
            return request
        body = bytearray(await request.aread())
        body[1000] ^= 0xFF
        return httpx.Request(
            request.method, request.url, headers=request.headers, content=bytes(body)
        )

    recorder = Recorder(flip_a_byte_of_part_2)
    client = make_client(recorder)
    with pytest.raises(MediaplaneError) as refused:
        await upload_file(client, path, parallel=1, state_path=state)

    # S3's own code for a body that does not match the signed checksum.
    assert (refused.value.code, refused.value.status) == ("BadDigest", 400)
    assert refused.value.detail.startswith("part 2: object storage refused")
    # Refusals are not retried, and completion is never asked for.
    assert recorder.part_puts() == [1, 2]
    assert not any(p.endswith("/complete") for p in recorder.paths("POST"))
    saved = load_state(state)
    assert sorted(saved.parts) == [1]
    session = await client.get_upload(saved.session_id)
    assert session.status == "open"
    assert [p.number for p in await client.stored_parts(saved.session_id)] == [1]


async def test_transient_failures_are_retried(
    make_client: Any, make_file: Any, tmp_path: Path
) -> None:
    path = make_file(2 * PART)
    failed: list[int] = []

    async def drop_each_part_once(request: httpx.Request) -> httpx.Request:
        number = part_number(request)
        if number and number not in failed:
            failed.append(number)
            raise httpx.ConnectError("simulated network failure", request=request)
        return request

    recorder = Recorder(drop_each_part_once)
    completion = await upload_file(
        make_client(recorder), path, parallel=2, state_path=tmp_path / "s.json"
    )

    assert sorted(recorder.part_puts()) == [1, 1, 2, 2]
    assert completion.size == 2 * PART


async def test_a_changed_file_starts_a_new_session_and_aborts_the_old_one(
    make_client: Any, make_file: Any, tmp_path: Path
) -> None:
    path = make_file(2 * PART)
    state = tmp_path / "upload.json"

    async def crash_at_part_2(request: httpx.Request) -> httpx.Request:
        if part_number(request) == 2:
            raise RuntimeError("simulated crash")
        return request

    with pytest.raises(RuntimeError):
        await upload_file(
            make_client(Recorder(crash_at_part_2)), path, parallel=1, state_path=state
        )
    old = load_state(state)
    with path.open("ab") as file:
        file.write(os.urandom(10))

    client = make_client()
    completion = await upload_file(client, path, state_path=state)

    assert completion.session_id != old.session_id
    assert completion.size == 2 * PART + 10
    assert (await client.get_upload(old.session_id)).status == "aborted"


async def test_an_old_session_completed_meanwhile_does_not_fail_the_new_upload(
    make_client: Any, make_file: Any, tmp_path: Path
) -> None:
    """The old session of a changed file is completed between the client's read and its
    abort (by another process holding the old bytes): the abort's 409 is no reason to
    fail the new upload."""
    path = make_file(1000)
    state = tmp_path / "upload.json"

    async def crash_at_complete(request: httpx.Request) -> httpx.Request:
        if request.method == "POST" and request.url.path.endswith("/complete"):
            raise RuntimeError("simulated crash")
        return request

    with pytest.raises(RuntimeError):
        await upload_file(make_client(Recorder(crash_at_complete)), path, state_path=state)
    old = load_state(state)  # its bytes are stored; only `complete` is missing
    with path.open("ab") as file:
        file.write(os.urandom(10))
    elsewhere = make_client()

    async def complete_it_first(request: httpx.Request) -> httpx.Request:
        if request.method == "DELETE" and str(old.session_id) in request.url.path:
            await elsewhere.complete_upload(old.session_id, None)
        return request

    completion = await upload_file(make_client(Recorder(complete_it_first)), path, state_path=state)

    assert completion.session_id != old.session_id
    assert completion.size == 1010
    assert (await elsewhere.get_upload(old.session_id)).status == "completed"


async def test_refusals_surface_with_their_problem_code(
    platform: Any, make_client: Any, make_file: Any, tmp_path: Path
) -> None:
    path = make_file(1000, name="notes.txt")
    client = make_client()
    with pytest.raises(MediaplaneError) as wrong_type:
        await upload_file(client, path, state_path=tmp_path / "s.json")
    assert (wrong_type.value.code, wrong_type.value.status) == ("content_type_not_allowed", 415)
    assert not (tmp_path / "s.json").exists()

    client.token = "not-a-jwt"
    with pytest.raises(MediaplaneError) as anonymous:
        await client.create_tags(["x"])
    assert (anonymous.value.code, anonymous.value.status) == ("unauthorized", 401)
