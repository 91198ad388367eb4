"""The signing key ring: RS256 keys in Postgres, rotated on a schedule.

A key is published (in the JWKS) from its creation, signs from `activates_at`
(at least `publish_seconds` later, so resource servers have fetched it before
the first token it signed reaches them) until `retires_at`, and stays
published until `retires_at` + the access-token lifetime, when the last token
it signed has expired. Private keys are stored as JWKs in the service's own
database (an HSM or KMS would keep them out of it: a known gap).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import RSAKey
from psycopg.types.json import Jsonb

from mediaplane.contracts import utc_now
from mediaplane.eventlog.database import Pool
from mediaplane.identity.config import KeyRotation

ALGORITHM = "RS256"


@dataclass(frozen=True, kw_only=True)
class SigningKey:
    kid: str
    key: RSAKey
    created_at: datetime
    activates_at: datetime
    retires_at: datetime


@dataclass(frozen=True, kw_only=True)
class KeyRing:
    keys: tuple[SigningKey, ...]
    access_seconds: int

    def signing(self, now: datetime) -> SigningKey:
        """The key that signs now: the newest active one."""
        active = [k for k in self.keys if k.activates_at <= now < k.retires_at]
        if not active:
            raise LookupError("no active signing key (rotation has not run)")
        return max(active, key=lambda k: k.activates_at)

    def published(self, now: datetime) -> list[SigningKey]:
        keep = timedelta(seconds=self.access_seconds)
        return [k for k in self.keys if now < k.retires_at + keep]

    def jwks(self, now: datetime) -> dict[str, Any]:
        return {"keys": [k.key.as_dict(private=False) for k in self.published(now)]}


def new_key() -> RSAKey:
    kid = uuid.uuid4().hex
    return RSAKey.generate_key(2048, parameters={"kid": kid, "alg": ALGORITHM, "use": "sig"})


async def rotate(
    pool: Pool,
    rotation: KeyRotation,
    access_seconds: int,
    clock: Callable[[], datetime] = utc_now,
) -> KeyRing:
    """Make the keys the schedule needs now, then load the ring.

    With no key at all the first one signs at once (nothing could have cached
    an older set). Otherwise, when the newest key retires within
    `publish_seconds`, its successor is created now and signs from the
    moment the newest retires. An advisory lock serialises concurrent rotators.
    """
    now = clock()
    publish = timedelta(seconds=rotation.publish_seconds)
    active = timedelta(seconds=rotation.active_seconds)
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('identity-signing-keys'))")
        cursor = await conn.execute("SELECT max(retires_at) FROM signing_keys")
        row = await cursor.fetchone()
        last_retires: datetime | None = row[0] if row else None
        start: datetime | None = None
        if last_retires is None or last_retires <= now:
            start = now
        elif last_retires - now <= publish:
            start = last_retires
        if start is not None:
            key = new_key()
            await conn.execute(
                "INSERT INTO signing_keys (kid, private_jwk, created_at, activates_at, retires_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                (key.kid, Jsonb(key.as_dict(private=True)), now, start, start + active),
            )
        cursor = await conn.execute(
            "SELECT kid, private_jwk, created_at, activates_at, retires_at FROM signing_keys"
            " WHERE retires_at + make_interval(secs => %s) > %s ORDER BY activates_at",
            (access_seconds, now),
        )
        rows = await cursor.fetchall()
    return KeyRing(
        keys=tuple(
            SigningKey(
                kid=kid,
                key=RSAKey.import_key(jwk),
                created_at=created,
                activates_at=activates,
                retires_at=retires,
            )
            for kid, jwk, created, activates, retires in rows
        ),
        access_seconds=access_seconds,
    )
