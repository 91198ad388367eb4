"""What the OAuth provider keeps, as Authlib's models, over a synchronous connection pool.

Authlib's server is synchronous: its storage callbacks run in a worker thread
(see app/provider.py) and use this module's blocking psycopg pool. Codes and
refresh tokens are consumed with one conditional UPDATE each, so two requests
racing with the same code or token cannot both succeed.
"""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.util import list_to_scope, scope_to_list
from authlib.oauth2.rfc8628 import DeviceCredentialMixin
from psycopg import Connection
from psycopg.rows import class_row
from psycopg_pool import ConnectionPool

from mediaplane.identity.adapters.secrets import digest

SyncPool = ConnectionPool[Connection[Any]]


def open_sync_pool(conninfo: str, *, max_size: int = 4) -> SyncPool:
    pool: SyncPool = ConnectionPool(
        conninfo,
        min_size=1,
        max_size=max_size,
        open=False,
        kwargs={"autocommit": True, "application_name": "identity-oauth"},
    )
    pool.open(wait=True, timeout=30)
    return pool


def _lock_family(conn: Connection[Any], family_id: uuid.UUID) -> None:
    """Until the transaction ends: one writer per refresh-token family (see save_refresh_token)."""
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('refresh-family:' || %s::text, 0))",
        (family_id,),
    )


def _revoke_family(conn: Connection[Any], family_id: uuid.UUID) -> None:
    """Every token of the family, including one a racing refresh has just stored."""
    with conn.transaction():
        _lock_family(conn, family_id)
        conn.execute(
            "UPDATE refresh_tokens SET revoked_at = now()"
            " WHERE family_id = %s AND revoked_at IS NULL",
            (family_id,),
        )


@dataclass(frozen=True, kw_only=True)
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    secret_sha256: bytes | None
    redirect_uris: list[str]
    grant_types: list[str]
    scope: str
    post_logout_redirect_uris: list[str]

    @property
    def public(self) -> bool:
        return self.secret_sha256 is None

    @property
    def client_metadata(self) -> dict[str, Any]:
        return {"post_logout_redirect_uris": self.post_logout_redirect_uris}

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(scope_to_list(self.scope))
        return str(list_to_scope([s for s in scope_to_list(scope) if s in allowed]))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact match only (no prefix or pattern matching: RFC 9700 section 4.1.3)."""
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_sha256 is None:
            return False
        return hmac.compare_digest(digest(client_secret), self.secret_sha256)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass(frozen=True, kw_only=True)
class AuthorizationCode(AuthorizationCodeMixin):  # type: ignore[misc]
    client_id: str
    user_id: uuid.UUID
    redirect_uri: str
    scope: str
    code_challenge: str
    nonce: str | None
    family_id: uuid.UUID
    auth_time: datetime

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        return ["pwd"]


@dataclass(frozen=True, kw_only=True)
class RefreshToken(TokenMixin):  # type: ignore[misc]
    family_id: uuid.UUID
    client_id: str
    user_id: uuid.UUID | None
    scope: str
    issued_at: datetime
    expires_at: datetime

    def check_client(self, client: Client) -> bool:
        return bool(client.client_id == self.client_id)

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(0, int((self.expires_at - datetime.now(UTC)).total_seconds()))

    def is_expired(self) -> bool:
        return self.expires_at <= datetime.now(UTC)

    def is_revoked(self) -> bool:
        return False  # only live tokens are ever loaded


@dataclass(frozen=True, kw_only=True)
class AccessToken(TokenMixin):  # type: ignore[misc]
    """A signed access token presented for revocation (RFC 7009)."""

    jti: str
    client_id: str
    expires_at: int

    def check_client(self, client: Client) -> bool:
        return bool(client.client_id == self.client_id)

    def get_scope(self) -> str:
        return ""

    def get_expires_in(self) -> int:
        return max(0, self.expires_at - int(time.time()))

    def is_expired(self) -> bool:
        return self.expires_at <= time.time()

    def is_revoked(self) -> bool:
        return False


@dataclass(frozen=True, kw_only=True)
class UserClaims:
    """The user as tokens describe them."""

    user_id: uuid.UUID
    email: str
    email_verified: bool
    role: str
    plan: str
    status: str

    def get_user_id(self) -> str:
        return str(self.user_id)


@dataclass(frozen=True, kw_only=True)
class PendingDevice:
    """A user code waiting for the signed-in user's decision: what the approval page shows."""

    user_code: str
    client_id: str
    scope: str
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class DeviceCredential(DeviceCredentialMixin):  # type: ignore[misc]
    client_id: str
    scope: str
    user_code: str
    expires_at: datetime
    poll_interval: int
    last_polled_at: datetime | None

    def get_client_id(self) -> str:
        return self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_user_code(self) -> str:
        return self.user_code

    def is_expired(self) -> bool:
        return self.expires_at <= datetime.now(UTC)


class OAuthStore:
    def __init__(self, pool: SyncPool) -> None:
        self.pool = pool

    def client(self, client_id: str) -> Client | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Client)) as cur:
            cur.execute(
                "SELECT client_id, secret_sha256, redirect_uris, grant_types, scope,"
                " post_logout_redirect_uris FROM oauth_clients WHERE client_id = %s",
                (client_id,),
            )
            return cur.fetchone()

    def user(self, user_id: uuid.UUID | str) -> UserClaims | None:
        """An active user (suspended and deleted users get no tokens)."""
        with (
            self.pool.connection() as conn,
            conn.cursor(row_factory=class_row(UserClaims)) as cur,
        ):
            cur.execute(
                "SELECT user_id, email, email_verified, role, plan, status FROM users"
                " WHERE user_id = %s AND status = 'active'",
                (user_id,),
            )
            return cur.fetchone()

    # -- authorization codes -------------------------------------------------------------------

    def save_code(
        self,
        code: str,
        *,
        client_id: str,
        user_id: uuid.UUID,
        redirect_uri: str,
        scope: str,
        code_challenge: str,
        nonce: str | None,
        auth_time: datetime,
        lifetime: timedelta,
    ) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO oauth_codes (code_sha256, client_id, user_id, redirect_uri, scope,"
                " code_challenge, nonce, family_id, auth_time, expires_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now() + %s)",
                (
                    digest(code),
                    client_id,
                    user_id,
                    redirect_uri,
                    scope,
                    code_challenge,
                    nonce,
                    uuid.uuid4(),
                    auth_time,
                    lifetime,
                ),
            )

    def consume_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        """The code, marked used; None when unknown, expired or used before. A second
        use also revokes the refresh tokens the first one got (RFC 6749 section 4.1.2)."""
        with self.pool.connection() as conn:
            with conn.cursor(row_factory=class_row(AuthorizationCode)) as cur:
                cur.execute(
                    "UPDATE oauth_codes SET used_at = now()"
                    " WHERE code_sha256 = %s AND client_id = %s AND used_at IS NULL"
                    " AND expires_at > now()"
                    " RETURNING client_id, user_id, redirect_uri, scope, code_challenge, nonce,"
                    " family_id, auth_time",
                    (digest(code), client_id),
                )
                found = cur.fetchone()
            if found is None:
                used = conn.execute(
                    "SELECT family_id FROM oauth_codes"
                    " WHERE code_sha256 = %s AND used_at IS NOT NULL",
                    (digest(code),),
                ).fetchone()
                if used is not None:
                    _revoke_family(conn, used[0])
            return found

    def nonce_used(self, client_id: str, nonce: str) -> bool:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM oauth_codes WHERE client_id = %s AND nonce = %s",
                (client_id, nonce),
            ).fetchone()
            return row is not None

    # -- refresh tokens ------------------------------------------------------------------------

    def save_refresh_token(
        self,
        token: str,
        *,
        family_id: uuid.UUID,
        client_id: str,
        user_id: uuid.UUID | None,
        scope: str,
        lifetime: timedelta,
        granted_at: datetime,
    ) -> bool:
        """Stores the token; False (nothing stored) when its grant was revoked meanwhile.

        `granted_at` is when the user granted what this token continues: the code's sign-in,
        the device approval, or the refresh token it replaces. Refused when
        - the family was revoked (a reuse racing this refresh). The family's lock orders
          this insert and a revocation of the family;
        - the account signed out everywhere (or was suspended, or had its password reset)
          since `granted_at`, or is gone. The user row, read FOR SHARE, orders this insert
          and `sessions_valid_after`'s update, which holds the row until its transaction has
          also revoked every refresh token of the user.
        Without the locks each side could miss the other's uncommitted write (READ
        COMMITTED) and a token would outlive its revocation.
        """
        with self.pool.connection() as conn, conn.transaction():
            _lock_family(conn, family_id)
            if user_id is not None:
                row = conn.execute(
                    "SELECT sessions_valid_after FROM users WHERE user_id = %s FOR SHARE",
                    (user_id,),
                ).fetchone()
                if row is None or row[0] > granted_at:
                    return False
            cursor = conn.execute(
                "INSERT INTO refresh_tokens (token_sha256, family_id, client_id, user_id, scope,"
                " issued_at, expires_at) SELECT %(t)s, %(f)s, %(c)s, %(u)s, %(s)s, now(),"
                " now() + %(l)s WHERE NOT EXISTS (SELECT 1 FROM refresh_tokens"
                "   WHERE family_id = %(f)s AND revoked_at IS NOT NULL)",
                {
                    "t": digest(token),
                    "f": family_id,
                    "c": client_id,
                    "u": user_id,
                    "s": scope,
                    "l": lifetime,
                },
            )
            return cursor.rowcount == 1

    def rotate_refresh_token(self, token: str) -> RefreshToken | None:
        """The live token, marked replaced (its successor is issued next). A token that was
        replaced before is a reuse: a copy is in someone else's hands, so its whole family
        is revoked and None returned."""
        with self.pool.connection() as conn:
            with conn.cursor(row_factory=class_row(RefreshToken)) as cur:
                cur.execute(
                    "UPDATE refresh_tokens SET replaced_at = now()"
                    " WHERE token_sha256 = %s AND replaced_at IS NULL AND revoked_at IS NULL"
                    " AND expires_at > now()"
                    " RETURNING family_id, client_id, user_id, scope, issued_at, expires_at",
                    (digest(token),),
                )
                found = cur.fetchone()
            if found is None:
                reused = conn.execute(
                    "SELECT family_id FROM refresh_tokens"
                    " WHERE token_sha256 = %s AND replaced_at IS NOT NULL",
                    (digest(token),),
                ).fetchone()
                if reused is not None:
                    _revoke_family(conn, reused[0])
            return found

    def live_refresh_token(self, token: str) -> RefreshToken | None:
        with (
            self.pool.connection() as conn,
            conn.cursor(row_factory=class_row(RefreshToken)) as cur,
        ):
            cur.execute(
                "SELECT family_id, client_id, user_id, scope, issued_at, expires_at"
                " FROM refresh_tokens"
                " WHERE token_sha256 = %s AND revoked_at IS NULL",
                (digest(token),),
            )
            return cur.fetchone()

    def revoke_family(self, family_id: uuid.UUID) -> None:
        with self.pool.connection() as conn:
            _revoke_family(conn, family_id)

    # -- access tokens -------------------------------------------------------------------------

    def revoke_access_token(self, jti: str, expires_at: int) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO revoked_access_tokens (jti, expires_at)"
                " VALUES (%s, to_timestamp(%s)) ON CONFLICT DO NOTHING",
                (jti, expires_at),
            )

    def access_token_revoked(self, jti: str) -> bool:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM revoked_access_tokens WHERE jti = %s", (jti,)
            ).fetchone()
            return row is not None

    # -- clients -------------------------------------------------------------------------------

    def register_client(
        self,
        *,
        client_id: str,
        secret: str | None,
        redirect_uris: list[str],
        grant_types: list[str],
        scope: str,
        post_logout_redirect_uris: list[str] | None = None,
    ) -> None:
        """Creates or replaces the client (an operator's command, `admin client`)."""
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO oauth_clients (client_id, secret_sha256, redirect_uris, grant_types,"
                " scope, post_logout_redirect_uris) VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (client_id) DO UPDATE SET"
                " secret_sha256 = excluded.secret_sha256, redirect_uris = excluded.redirect_uris,"
                " grant_types = excluded.grant_types, scope = excluded.scope,"
                " post_logout_redirect_uris = excluded.post_logout_redirect_uris",
                (
                    client_id,
                    digest(secret) if secret else None,
                    redirect_uris,
                    grant_types,
                    scope,
                    post_logout_redirect_uris or [],
                ),
            )

    # -- device authorization (RFC 8628) -------------------------------------------------------

    def save_device_code(
        self,
        *,
        device_code: str,
        user_code: str,
        client_id: str,
        scope: str,
        lifetime: timedelta,
        interval: int,
    ) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO device_codes (device_sha256, user_code, client_id, scope,"
                " expires_at, poll_interval) VALUES (%s, %s, %s, %s, now() + %s, %s)",
                (digest(device_code), user_code, client_id, scope, lifetime, interval),
            )

    def device_credential(self, device_code: str) -> DeviceCredential | None:
        with (
            self.pool.connection() as conn,
            conn.cursor(row_factory=class_row(DeviceCredential)) as cur,
        ):
            cur.execute(
                "SELECT client_id, scope, user_code, expires_at, poll_interval, last_polled_at"
                " FROM device_codes WHERE device_sha256 = %s AND used_at IS NULL",
                (digest(device_code),),
            )
            return cur.fetchone()

    def polled_too_soon(self, user_code: str) -> bool:
        """Records this poll; True when it came sooner than the interval after the last."""
        with self.pool.connection() as conn:
            row = conn.execute(
                "UPDATE device_codes d SET last_polled_at = now() FROM device_codes old"
                " WHERE d.user_code = %s AND old.user_code = d.user_code"
                " RETURNING old.last_polled_at IS NOT NULL"
                " AND old.last_polled_at > now() - make_interval(secs => d.poll_interval)",
                (user_code,),
            ).fetchone()
            return bool(row and row[0])

    def take_device_decision(self, user_code: str) -> tuple[uuid.UUID, bool, datetime] | None:
        """The user's decision and when it was made, once (the code is used up by reading
        it)."""
        with self.pool.connection() as conn:
            row = conn.execute(
                "UPDATE device_codes SET used_at = now() WHERE user_code = %s"
                " AND approved IS NOT NULL AND used_at IS NULL"
                " RETURNING user_id, approved, decided_at",
                (user_code,),
            ).fetchone()
            return (row[0], bool(row[1]), row[2]) if row else None

    def pending_device_code(self, user_code: str) -> PendingDevice | None:
        """The client and scope a still undecided, unexpired user code asks for."""
        with (
            self.pool.connection() as conn,
            conn.cursor(row_factory=class_row(PendingDevice)) as cur,
        ):
            cur.execute(
                "SELECT user_code, client_id, scope, expires_at FROM device_codes"
                " WHERE user_code = %s"
                " AND approved IS NULL AND used_at IS NULL AND expires_at > now()",
                (user_code.strip().upper(),),
            )
            return cur.fetchone()

    def decide_device_code(self, user_code: str, user_id: uuid.UUID, approved: bool) -> bool:
        """The signed-in user approves or denies; False for an unknown, decided or expired code."""
        with self.pool.connection() as conn:
            cursor = conn.execute(
                "UPDATE device_codes SET user_id = %s, approved = %s, decided_at = now()"
                " WHERE user_code = %s"
                " AND approved IS NULL AND used_at IS NULL AND expires_at > now()",
                (user_id, approved, user_code.strip().upper()),
            )
            return cursor.rowcount == 1

    # -- personal access tokens ----------------------------------------------------------------

    def pat_holder(self, secret: str) -> tuple[UserClaims, str] | None:
        """The active user of a live personal access token and its scopes (space separated);
        records the use."""
        with self.pool.connection() as conn:
            row = conn.execute(
                "UPDATE personal_access_tokens SET last_used_at = now()"
                " WHERE token_sha256 = %s AND revoked_at IS NULL AND expires_at > now()"
                " RETURNING user_id, scopes",
                (digest(secret),),
            ).fetchone()
        if row is None:
            return None
        user = self.user(row[0])
        return (user, " ".join(row[1])) if user else None
