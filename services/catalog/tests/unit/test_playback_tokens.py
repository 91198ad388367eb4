"""Playback tokens: one file, one reader, a short life; nothing else verifies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from mediaplane.catalog.app.playback import (
    AUDIENCE,
    READ_ONLY,
    PlaybackTokenExpired,
    PlaybackTokenInvalid,
    PlaybackTokens,
)
from mediaplane.servicekit.auth import Principal

SECRET = "unit-test-playback-secret-0123456789abcdef"
START = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
FILE = uuid.UUID("0193a6f2-0000-7000-8000-000000000001")
ALICE = Principal(owner="alice", scopes=READ_ONLY)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _flip_signature(token: str) -> str:
    """The token with the signature's first character (six significant bits) changed."""
    head, signature = token.rsplit(".", 1)
    return f"{head}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"


def tokens(clock: Clock, secret: str = SECRET) -> PlaybackTokens:
    return PlaybackTokens(secret, timedelta(minutes=10), clock)


def test_a_token_names_its_reader_until_it_expires() -> None:
    clock = Clock()
    grant = tokens(clock).issue(ALICE, FILE)
    assert grant.expires_at == START + timedelta(minutes=10)

    clock.now = START + timedelta(minutes=9, seconds=59)
    assert tokens(clock).verify(grant.token, FILE) == ALICE
    clock.now = START + timedelta(minutes=10)
    with pytest.raises(PlaybackTokenExpired):
        tokens(clock).verify(grant.token, FILE)


def test_an_admins_token_keeps_the_role() -> None:
    clock = Clock()
    root = Principal(owner="root", roles=frozenset({"user", "admin"}), scopes=READ_ONLY)
    assert tokens(clock).verify(tokens(clock).issue(root, FILE).token, FILE) == root


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda t: _flip_signature(t), id="tampered"),
        pytest.param(lambda t: "", id="missing"),
        pytest.param(lambda t: "not-a-token", id="garbage"),
        pytest.param(
            lambda t: jwt.encode({"sub": "alice", "fid": str(FILE), "exp": 2**40}, SECRET, "HS256"),
            id="no-audience",  # e.g. an API bearer token signed with the same key
        ),
        pytest.param(
            lambda t: jwt.encode(
                {"aud": AUDIENCE, "sub": "alice", "fid": str(FILE), "exp": 2**40},
                "another-secret-of-enough-length-0123456789",
                "HS256",
            ),
            id="other-key",
        ),
    ],
)
def test_forged_tokens_are_refused(forge: object) -> None:
    clock = Clock()
    token = tokens(clock).issue(ALICE, FILE).token
    with pytest.raises(PlaybackTokenInvalid) as refused:
        tokens(clock).verify(forge(token), FILE)  # type: ignore[operator]
    assert refused.value.code == "playback_token_invalid"


def test_a_token_is_for_its_file_only() -> None:
    clock = Clock()
    token = tokens(clock).issue(ALICE, FILE).token
    with pytest.raises(PlaybackTokenInvalid, match="another file"):
        tokens(clock).verify(token, uuid.uuid4())


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        tokens(Clock(), secret="short")
