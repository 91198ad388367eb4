"""Signing in with the upstream OpenID provider: start (state, nonce, PKCE) and callback."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mediaplane.contracts import utc_now
from mediaplane.eventlog.database import Pool
from mediaplane.identity.adapters import links
from mediaplane.identity.adapters.secrets import digest, new_secret
from mediaplane.identity.adapters.upstream import UpstreamProvider
from mediaplane.identity.app.accounts import AccountService, SignedIn
from mediaplane.identity.config import IdentitySettings
from mediaplane.identity.domain import errors

CALLBACK_PATH = "/v1/account/federation/callback"
_STATE_SECONDS = 600


@dataclass(frozen=True, kw_only=True)
class Finished:
    signed_in: SignedIn
    return_to: str | None


class Federation:
    def __init__(
        self,
        *,
        settings: IdentitySettings,
        pool: Pool,
        accounts: AccountService,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.accounts = accounts
        self.clock = clock
        upstream = settings.upstream
        self.provider = (
            UpstreamProvider(upstream, f"{settings.issuer}{CALLBACK_PATH}") if upstream else None
        )

    def _provider(self) -> UpstreamProvider:
        if self.provider is None:
            raise errors.FederationNotConfigured("set MEDIAPLANE_IDENTITY_UPSTREAM_ISSUER")
        return self.provider

    async def start(self, *, return_to: str | None, link_user_id: uuid.UUID | None) -> str:
        """The upstream's authorization URL to send the browser to."""
        provider = self._provider()
        state, nonce = new_secret(), new_secret()
        verifier = secrets.token_urlsafe(64)
        async with self.pool.connection() as conn:
            await links.start(
                conn,
                state_sha256=digest(state),
                code_verifier=verifier,
                nonce=nonce,
                link_user_id=link_user_id,
                return_to=return_to,
                expires_at=self.clock() + timedelta(seconds=_STATE_SECONDS),
            )
        return await provider.authorization_url(state=state, nonce=nonce, code_verifier=verifier)

    async def finish(self, *, code: str, state: str, user_agent: str | None) -> Finished:
        provider = self._provider()
        async with self.pool.connection() as conn:
            started = await links.finish(conn, digest(state), self.clock())
        if started is None:
            raise errors.FederationStateInvalid("start the sign-in again")
        claims = await provider.claims(
            code=code, code_verifier=started.code_verifier, nonce=started.nonce
        )
        signed_in = await self.accounts.federated_sign_in(
            issuer=provider.upstream.issuer,
            claims=claims,
            link_user_id=started.link_user_id,
            user_agent=user_agent,
        )
        return Finished(signed_in=signed_in, return_to=started.return_to)
