"""JWT verification, per-owner rate limits and problem+json rendering."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from mediaplane.servicekit.auth import AuthSettings, TokenVerifier, Unauthorized
from mediaplane.servicekit.errors import ProblemError
from mediaplane.servicekit.problems import EXCEPTION_HANDLERS

SECRET = "unit-test-secret-that-is-long-enough"


def _token(secret: str = SECRET, **claims: Any) -> str:
    # Parametrized cases are built at collection time, minutes before a full
    # suite runs them: valid tokens must outlive the run.
    return jwt.encode(
        {"sub": "alice", "exp": int(time.time()) + 86400, **claims}, secret, algorithm="HS256"
    )


def test_a_valid_token_names_the_owner_and_roles_grant_admin() -> None:
    verifier = TokenVerifier(AuthSettings(hs256_secret=SECRET))
    assert verifier.verify(_token()).owner == "alice"
    assert not verifier.verify(_token()).admin
    assert verifier.verify(_token(roles=["admin"])).admin
    assert verifier.verify(_token(role="admin")).admin


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (_token(exp=int(time.time()) - 5), "expired"),
        (_token(secret="another-secret-that-is-long-enough-too"), "invalid token"),
        (jwt.encode({"sub": "alice"}, SECRET, algorithm="HS256"), "invalid token"),
        (_token(sub="../etc"), "subject"),
        ("not-a-jwt", "invalid token"),
    ],
)
def test_bad_tokens_are_unauthorized(token: str, message: str) -> None:
    with pytest.raises(Unauthorized, match=message):
        TokenVerifier(AuthSettings(hs256_secret=SECRET)).verify(token)


def test_issuer_and_audience_are_checked_when_configured() -> None:
    verifier = TokenVerifier(AuthSettings(hs256_secret=SECRET, issuer="idp", audience="mediaplane"))
    assert verifier.verify(_token(iss="idp", aud="mediaplane")).owner == "alice"
    with pytest.raises(Unauthorized):
        verifier.verify(_token(iss="evil", aud="mediaplane"))
    with pytest.raises(Unauthorized):
        verifier.verify(_token(iss="idp", aud="other"))


class _Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _counting_decode(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    decode = jwt.decode

    def counted(token: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counted)
    return calls


def test_a_verified_token_is_remembered_until_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting_decode(monkeypatch)
    clock = _Clock()
    verifier = TokenVerifier(AuthSettings(hs256_secret=SECRET), recheck_seconds=60, clock=clock)
    token = _token(exp=int(clock.now) + 30, roles=["admin"])
    assert [verifier.verify(token).owner for _ in range(3)] == ["alice"] * 3
    assert verifier.verify(token).admin
    assert len(calls) == 1
    clock.now += 31  # past exp: refused from memory, whatever PyJWT's own clock says
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(token)


def test_a_remembered_token_is_verified_again_after_the_recheck_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _counting_decode(monkeypatch)
    clock = _Clock()
    verifier = TokenVerifier(AuthSettings(hs256_secret=SECRET), recheck_seconds=60, clock=clock)
    token = _token()
    verifier.verify(token)
    clock.now += 59
    verifier.verify(token)
    assert len(calls) == 1
    clock.now += 2
    verifier.verify(token)
    assert len(calls) == 2


def test_the_memory_is_bounded_and_a_forged_copy_is_never_a_hit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _counting_decode(monkeypatch)
    verifier = TokenVerifier(AuthSettings(hs256_secret=SECRET), cache_size=2)
    first, second, third = _token(n=1), _token(n=2), _token(n=3)
    for token in (first, second, third, third, first):
        verifier.verify(token)
    assert calls == [first, second, third, first]  # the oldest was forgotten
    forged = second[:-4] + ("AAAA" if not second.endswith("AAAA") else "BBBB")
    with pytest.raises(Unauthorized, match="invalid token"):
        verifier.verify(forged)


def test_auth_settings_need_a_key_source() -> None:
    with pytest.raises(ValueError, match="MEDIAPLANE_JWT_SECRET"):
        AuthSettings()


class Teapot(ProblemError):
    code = "teapot"
    status = 418
    title = "I'm a teapot"


@get("/teapot", sync_to_thread=False)
def teapot() -> None:
    raise Teapot("short and stout", retry_after=3)


@get("/boom", sync_to_thread=False)
def boom() -> None:
    raise RuntimeError("secret internals")


async def test_errors_render_as_problem_json_with_a_code() -> None:
    app = Litestar([teapot, boom], exception_handlers=EXCEPTION_HANDLERS, logging_config=None)
    async with AsyncTestClient(app=app) as client:
        refused = await client.get("/teapot")
        missing = await client.get("/nowhere")
        crashed = await client.get("/boom")
    assert refused.status_code == 418
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "3"
    assert refused.json() == {
        "type": "https://mediaplane.dev/problems/teapot",
        "title": "I'm a teapot",
        "status": 418,
        "detail": "short and stout",
        "code": "teapot",
        "instance": "/teapot",
    }
    assert missing.json()["code"] == "not_found"
    assert crashed.status_code == 500
    assert crashed.json()["code"] == "internal_error"
    assert "secret" not in crashed.text
