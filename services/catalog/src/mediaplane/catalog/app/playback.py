"""Playback tokens: short-lived capabilities to read one file's HLS playlists.

Players put URLs where headers cannot go (native HLS in Safari, smart TVs), so
a playlist URL must carry its own authorization. It carries this token, never
the API's bearer token: an HS256 JWT under the catalog's own playback secret
with audience `mediaplane:playback`, naming the file, the reader it was issued
to after the normal read check, and a short expiry. It is good for that file's
playlists only: the API routes read only the Authorization header, and the
catalog refuses to start when the playback secret equals the API's JWT secret.
Expiry is checked against an injected clock, not PyJWT's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from mediaplane.servicekit.auth import Principal
from mediaplane.servicekit.errors import ProblemError

PARAMETER = "pt"  # the query parameter playlist URLs carry the token in
AUDIENCE = "mediaplane:playback"
_ALGORITHM = "HS256"
MIN_SECRET_LENGTH = 32  # HS256 wants at least the hash's 256 bits of key

# What a playback token holds: reading, whatever the bearer token it was issued for held.
READ_ONLY = frozenset({"files:read"})


class PlaybackTokenInvalid(ProblemError):
    code = "playback_token_invalid"
    status = 401
    title = "A valid playback token for this file is required"


class PlaybackTokenExpired(PlaybackTokenInvalid):
    code = "playback_token_expired"
    title = "The playback token has expired"


@dataclass(frozen=True, kw_only=True)
class PlaybackGrant:
    token: str
    expires_at: datetime


class PlaybackTokens:
    """Issues and checks playback tokens; `clock` is the current UTC time."""

    def __init__(self, secret: str, ttl: timedelta, clock: Callable[[], datetime]) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"the playback secret needs at least {MIN_SECRET_LENGTH} characters")
        if ttl <= timedelta(0):
            raise ValueError("the playback token lifetime must be positive")
        self._secret = secret
        self._clock = clock
        self.ttl = ttl

    def issue(self, reader: Principal, file_id: uuid.UUID) -> PlaybackGrant:
        """A token for `reader`, who was just allowed to read `file_id`."""
        expires_at = self._clock() + self.ttl
        claims = {
            "aud": AUDIENCE,
            "sub": reader.owner,
            "adm": reader.admin,
            "fid": str(file_id),
            "exp": int(expires_at.timestamp()),
        }
        return PlaybackGrant(
            token=jwt.encode(claims, self._secret, _ALGORITHM),
            expires_at=expires_at.replace(microsecond=0),
        )

    def verify(self, token: str | None, file_id: uuid.UUID) -> Principal:
        """The reader the token was issued to, if it is genuine, unexpired and for `file_id`."""
        if not token:
            raise PlaybackTokenInvalid(
                f"playlists need `?{PARAMETER}=<playback token>` from the file's detail"
            )
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                audience=AUDIENCE,
                # Expiry against `now`, not PyJWT's own clock.
                options={"require": ["aud", "sub", "fid", "exp"], "verify_exp": False},
            )
        except jwt.PyJWTError as error:
            raise PlaybackTokenInvalid(f"invalid playback token: {error}") from None
        if claims["fid"] != str(file_id):
            raise PlaybackTokenInvalid("the playback token is for another file")
        if self._clock().timestamp() >= claims["exp"]:
            raise PlaybackTokenExpired("fetch the file's detail again for a new playback URL")
        owner, admin = claims["sub"], claims.get("adm", False)
        if not isinstance(owner, str) or not owner or not isinstance(admin, bool):
            raise PlaybackTokenInvalid("invalid playback token: bad reader claims")
        roles = frozenset({"user", "admin"} if admin else {"user"})
        return Principal(owner=owner, roles=roles, scopes=READ_ONLY)
