"""The parts that need no server: SSE framing, errors, retries, the state file, config."""

from __future__ import annotations

import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client

from mediaplane.client import FileChange, MediaplaneClient, Overflow
from mediaplane.client.config import DEFAULT_URL, ClientConfig
from mediaplane.client.credentials import (
    CredentialStore,
    SignIn,
    Tokens,
    default_credentials_path,
)
from mediaplane.client.errors import MediaplaneError, api_error, storage_error
from mediaplane.client.retry import RetryPolicy, send_with_retries
from mediaplane.client.sse import ServerEvent, parse_events
from mediaplane.client.upload import StateFile, UploadState, default_state_path

NO_WAIT = RetryPolicy(attempts=3, base_delay=0, max_delay=0)


async def _lines(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line


async def test_sse_events_are_framed_by_blank_lines_and_comments_skipped() -> None:
    stream = _lines(
        ": connected",
        "",
        "event: file.changed",
        'data: {"a":',
        "data: 1}",
        "id: 7",
        "",
        ": keep-alive",
        "data: plain",
        "",
        "event: unfinished",
    )
    events = [event async for event in parse_events(stream)]
    assert events == [
        ServerEvent("file.changed", '{"a":\n1}', "7"),
        ServerEvent("message", "plain", "7"),
    ]


def test_problem_json_becomes_an_error_with_its_code() -> None:
    response = httpx.Response(
        429,
        headers={"Content-Type": "application/problem+json", "Retry-After": "3"},
        json={"code": "rate_limited", "title": "Too many requests", "detail": "at most 20/s"},
    )
    error = api_error(response)
    assert (error.code, error.status, error.detail, error.retry_after) == (
        "rate_limited",
        429,
        "at most 20/s",
        3.0,
    )
    proxy = api_error(httpx.Response(502, text="<html>Bad Gateway</html>"))
    assert (proxy.code, proxy.status) == ("http_502", 502)


def test_storage_xml_errors_keep_the_s3_code() -> None:
    body = "<Error><Code>BadDigest</Code><Message>did not match</Message></Error>"
    error = storage_error(httpx.Response(400, text=body))
    assert (error.code, error.status) == ("BadDigest", 400)
    assert error.detail.endswith("did not match")


async def _send_through(
    answers: list[int | Exception], *, idempotent: bool
) -> tuple[httpx.Response | MediaplaneError, int]:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        answer = answers[min(calls, len(answers) - 1)]
        calls += 1
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        try:
            response = await send_with_retries(
                NO_WAIT, lambda: http.post("http://x/"), idempotent=idempotent
            )
        except MediaplaneError as error:
            return error, calls
        return response, calls


async def test_transient_answers_are_retried_and_refusals_are_not() -> None:
    answer, calls = await _send_through([503, 500, 200], idempotent=True)
    assert (getattr(answer, "status_code", None), calls) == (200, 3)
    answer, calls = await _send_through([400, 200], idempotent=True)
    assert (getattr(answer, "status_code", None), calls) == (400, 1)


async def test_requests_with_effects_are_resent_only_when_nothing_happened() -> None:
    # A 500 may come after the effect: not resent. 503 and connection failures are.
    answer, calls = await _send_through([500, 200], idempotent=False)
    assert (getattr(answer, "status_code", None), calls) == (500, 1)
    refused = httpx.ConnectError("refused")
    answer, calls = await _send_through([refused, 503, 201], idempotent=False)
    assert (getattr(answer, "status_code", None), calls) == (201, 3)
    answer, calls = await _send_through([httpx.ReadTimeout("slow")], idempotent=False)
    assert isinstance(answer, MediaplaneError)
    assert (answer.code, calls) == ("connection_failed", 1)


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=10)
    assert policy.delay(0, retry_after=4) == 4
    assert policy.delay(0, retry_after=60) == 10
    assert 0 <= policy.delay(3) <= 8


def test_the_state_file_round_trips_and_ignores_garbage(tmp_path: Path) -> None:
    state_file = StateFile(tmp_path / "deep" / "state.json")
    assert state_file.load() is None
    state = UploadState(
        base_url="http://x",
        path="/data/a.mp4",
        size=11,
        mtime_ns=5,
        session_id=uuid.uuid4(),
        file_id=uuid.uuid4(),
        mode="multipart",
        part_size=5,
        part_count=3,
        parts={1: '"e1"', 3: '"e3"'},
    )
    state_file.save(state)
    assert state_file.load() == state
    assert [state.part_length(n) for n in (1, 2, 3)] == [5, 5, 1]
    state_file.path.write_text("{torn")
    assert state_file.load() is None
    state_file.delete()
    assert not state_file.path.exists()


def test_state_files_live_in_the_cache_one_per_file_and_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    one = default_state_path("http://a", Path("f.mp4"))
    assert one.parent == tmp_path / "mediaplane" / "uploads"
    assert one == default_state_path("http://a", Path("f.mp4"))
    assert one != default_state_path("http://b", Path("f.mp4"))
    assert one != default_state_path("http://a", Path("g.mp4"))


def test_config_comes_from_the_environment() -> None:
    assert ClientConfig.from_env({}) == ClientConfig(url=DEFAULT_URL)
    env = {"MEDIAPLANE_URL": "http://edge", "MEDIAPLANE_TOKEN": "t"}
    assert ClientConfig.from_env(env) == ClientConfig(url="http://edge", token="t")


def _change(status: str) -> bytes:
    data = (
        f'{{"file_id":"{uuid.UUID(int=1)}","owner":"alice","status":"{status}",'
        '"transcode_status":null,"thumbnail_status":null,"updated_at":"2026-01-01T00:00:00Z"}'
    )
    return f": connected\n\nevent: file.changed\ndata: {data}\n\n".encode()


async def test_watch_reconnects_and_says_changes_may_have_been_missed() -> None:
    answers = [
        httpx.Response(200, content=_change("verifying")),  # then the stream ends
        httpx.Response(503, json={"code": "unavailable"}),  # the catalog restarts
        httpx.Response(200, content=_change("ready")),
    ]
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return answers[len(seen) - 1]

    async with MediaplaneClient(
        "http://edge", "t", retry=NO_WAIT, transport=httpx.MockTransport(handler)
    ) as client:
        changes = client.watch()
        received = [await anext(changes) for _ in range(3)]
        await changes.aclose()

    assert isinstance(received[0], FileChange)
    assert isinstance(received[1], Overflow)
    assert isinstance(received[2], FileChange)
    assert (received[0].status, received[2].status) == ("verifying", "ready")
    assert seen == ["Bearer t"] * 3


def test_credentials_are_written_0600_kept_per_issuer_and_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "config" / "credentials.json"
    store = CredentialStore(path)
    assert store.get("https://a.example") is None
    store.put("https://a.example", SignIn(client_id="cli", tokens=Tokens(access_token="at1")))
    store.put("https://b.example", SignIn(client_id="cli", personal_access_token="mppat_x"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert store.get("https://a.example") == SignIn(
        client_id="cli", tokens=Tokens(access_token="at1")
    )
    assert store.forget("https://a.example") is True
    assert store.forget("https://a.example") is False
    assert store.get("https://b.example") is not None
    path.write_text("{torn")
    assert store.get("https://b.example") is None  # as if signed out


def test_credentials_path_and_issuer_come_from_the_environment(tmp_path: Path) -> None:
    assert default_credentials_path({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "mediaplane" / "credentials.json"
    )
    explicit = str(tmp_path / "c.json")
    assert default_credentials_path({"MEDIAPLANE_CREDENTIALS": explicit}) == Path(explicit)
    config = ClientConfig.from_env({"MEDIAPLANE_URL": "http://edge:8080/"})
    assert (config.issuer_url, config.client_id) == ("http://edge:8080", "cli")
    apart = ClientConfig.from_env(
        {"MEDIAPLANE_ISSUER": "https://id.example", "MEDIAPLANE_CLIENT_ID": "x"}
    )
    assert (apart.issuer_url, apart.client_id) == ("https://id.example", "x")


def test_authlibs_oauth_client_is_built_on_the_httpx_the_sign_in_code_uses() -> None:
    """Authlib's client takes httpx2 over httpx whenever httpx2 can be imported (its
    httpx fallback is deprecated). Sign-in hands it httpx transports and timeouts and
    catches httpx's errors: if another package ever brings httpx2 in, this fails here
    instead of a user's `mediaplane login` failing on an error it does not catch."""
    assert issubclass(AsyncOAuth2Client, httpx.AsyncClient)
