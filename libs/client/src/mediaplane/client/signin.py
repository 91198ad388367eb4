"""Signing in to the platform's OpenID provider: the device flow (RFC 8628) for people,
personal access tokens exchanged for access tokens (RFC 8693) for scripts, refresh with
rotation, revocation (RFC 7009) and userinfo.

The OAuth protocol is Authlib's client (`AsyncOAuth2Client`: token requests, client
authentication `none` for this public client, error responses, expiry, refresh); this
module finds the endpoints (discovery), runs the device flow's polling loop, and keeps
the tokens in the credential store. Any OpenID provider with these endpoints works:
nothing here is specific to the embedded `identity` service except the PAT prefix.
"""

from __future__ import annotations

import asyncio
import fcntl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import httpx
import msgspec
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc6749 import OAuth2Token

from mediaplane.client.credentials import CredentialStore, SignIn, Tokens
from mediaplane.client.errors import MediaplaneError

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
PAT_TOKEN_TYPE = "urn:mediaplane:params:oauth:token-type:personal-access-token"
PAT_PREFIX = "mppat_"
# What the CLI asks for; the provider grants what the client is registered for.
SCOPE = "openid email offline_access files:read files:write uploads:write"
# Refresh this long before `expires_at`, so a token does not expire on the way.
LEEWAY_SECONDS = 30
# RFC 8628 section 3.5: on `slow_down`, poll 5 seconds less often from then on.
SLOW_DOWN_SECONDS = 5

SIGN_IN_AGAIN = "run `mediaplane login` to sign in again"


class TokenSource(Protocol):
    """Gives a live access token for each request (refreshing as needed)."""

    async def access_token(self) -> str | None: ...


class ProviderMetadata(msgspec.Struct, kw_only=True):
    """The OpenID discovery document's fields the CLI uses."""

    issuer: str
    token_endpoint: str
    device_authorization_endpoint: str | None = None
    revocation_endpoint: str | None = None
    userinfo_endpoint: str | None = None


class DeviceCode(msgspec.Struct, kw_only=True):
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None = None
    expires_in: int
    interval: int = 5


class UserInfo(msgspec.Struct, kw_only=True):
    sub: str
    email: str | None = None
    email_verified: bool | None = None
    roles: list[str] = msgspec.field(default_factory=list)
    plan: str | None = None


class _OAuthError(msgspec.Struct):
    error: str = "invalid_response"
    error_description: str | None = None


def _refused(response: httpx.Response) -> MediaplaneError:
    """An RFC 6749 error answer as a MediaplaneError with its `error` code."""
    try:
        body = msgspec.json.decode(response.content, type=_OAuthError)
    except (msgspec.DecodeError, msgspec.ValidationError):
        body = _OAuthError(f"http_{response.status_code}", response.text[:200])
    return MediaplaneError(
        body.error, response.status_code, body.error_description or response.reason_phrase
    )


def _device_refusal(error: OAuthError) -> MediaplaneError:
    match error.error:
        case "access_denied":
            return MediaplaneError("access_denied", 400, "the sign-in was denied in the browser")
        case "expired_token":
            return MediaplaneError(
                "expired_token",
                400,
                "the code expired before it was approved: run `mediaplane login` again",
            )
    return _oauth_failure(error)


def _oauth_failure(error: OAuthError, status: int = 400) -> MediaplaneError:
    return MediaplaneError(error.error, status, error.description or error.error)


class Identity:
    """`async with Identity(issuer, client_id, store) as identity: ...`: this CLI at one
    OpenID provider, with the sign-in the store holds for it."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        store: CredentialStore,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.store = store
        self._sleep = sleep
        self._metadata: ProviderMetadata | None = None
        self._exchanged: OAuth2Token | None = None  # a PAT's current access token
        self.oauth = AsyncOAuth2Client(
            client_id=client_id,
            token_endpoint_auth_method="none",
            revocation_endpoint_auth_method="none",
            leeway=LEEWAY_SECONDS,
            update_token=self._rotated,
            transport=transport,
            timeout=httpx.Timeout(30.0, connect=10.0),
            headers={"User-Agent": "mediaplane-client"},
        )

    async def __aenter__(self) -> Identity:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.oauth.aclose()

    # -- discovery ---------------------------------------------------------------------------

    async def metadata(self) -> ProviderMetadata:
        if self._metadata is None:
            url = f"{self.issuer}/.well-known/openid-configuration"
            response = await self._send(self.oauth.request("GET", url, withhold_token=True))
            if response.is_error:
                raise MediaplaneError(
                    "discovery_failed",
                    response.status_code,
                    f"{url} answered {response.status_code}: is MEDIAPLANE_ISSUER right?",
                )
            try:
                found = msgspec.json.decode(response.content, type=ProviderMetadata)
            except (msgspec.DecodeError, msgspec.ValidationError) as error:
                raise MediaplaneError(
                    "discovery_failed", 0, f"{url} is not an OpenID discovery document: {error}"
                ) from error
            if found.issuer.rstrip("/") != self.issuer:
                # OpenID Connect Discovery section 4.3: the document must name this issuer.
                raise MediaplaneError(
                    "discovery_failed", 0, f"{url} names another issuer: {found.issuer}"
                )
            self._metadata = found
            self.oauth.metadata["token_endpoint"] = found.token_endpoint
        return self._metadata

    # -- the device flow (RFC 8628) ------------------------------------------------------------

    async def start_device_flow(self) -> DeviceCode:
        """Asks for a device code and the user code the person enters in a browser."""
        endpoint = (await self.metadata()).device_authorization_endpoint
        if endpoint is None:
            raise MediaplaneError(
                "device_flow_unsupported", 0, "the provider has no device authorization endpoint"
            )
        response = await self._send(
            self.oauth.request(
                "POST",
                endpoint,
                data={"client_id": self.client_id, "scope": SCOPE},
                withhold_token=True,
            )
        )
        if response.is_error:
            raise _refused(response)
        return msgspec.json.decode(response.content, type=DeviceCode)

    async def finish_device_flow(self, code: DeviceCode) -> None:
        """Polls until the person approves (then stores the tokens), denies, or the code
        expires. `slow_down` makes the polls 5 seconds further apart (section 3.5)."""
        token_endpoint = (await self.metadata()).token_endpoint
        interval = code.interval
        deadline = time.monotonic() + code.expires_in
        while time.monotonic() < deadline:
            await self._sleep(interval)
            try:
                token = await self._send(
                    self.oauth.fetch_token(
                        token_endpoint, grant_type=DEVICE_GRANT, device_code=code.device_code
                    )
                )
            except OAuthError as error:
                if error.error == "slow_down":
                    interval += SLOW_DOWN_SECONDS
                elif error.error != "authorization_pending":
                    raise _device_refusal(error) from None
                continue
            self.store.put(self.issuer, SignIn(client_id=self.client_id, tokens=_tokens(token)))
            return
        raise _device_refusal(OAuthError("expired_token"))

    # -- personal access tokens (RFC 8693) -----------------------------------------------------

    async def sign_in_with_personal_access_token(self, secret: str) -> None:
        """Checks the PAT by exchanging it once, then stores it (not its access token)."""
        self._exchanged = await self._exchange(secret)
        self.store.put(self.issuer, SignIn(client_id=self.client_id, personal_access_token=secret))

    async def _exchange(self, secret: str) -> OAuth2Token:
        token_endpoint = (await self.metadata()).token_endpoint
        try:
            token: OAuth2Token = await self._send(
                self.oauth.fetch_token(
                    token_endpoint,
                    grant_type=TOKEN_EXCHANGE,
                    subject_token=secret,
                    subject_token_type=PAT_TOKEN_TYPE,
                )
            )
        except OAuthError as error:
            raise _oauth_failure(error) from None
        return token

    # -- a live access token, for every command ------------------------------------------------

    def source(self, explicit: str | None) -> TokenSource:
        """What commands authenticate with (see `access_token`)."""
        return _SignedIn(self, explicit)

    async def access_token(self, explicit: str | None = None) -> str | None:
        """`explicit` (`--token`/`MEDIAPLANE_TOKEN`: a JWT as it is, or a PAT, exchanged),
        else the stored sign-in (refreshed when it expires), else None."""
        if explicit is not None and not explicit.startswith(PAT_PREFIX):
            return explicit
        if explicit is not None:
            return await self._pat_access_token(explicit)
        stored = self.store.get(self.issuer)
        if stored is None:
            return None
        if stored.personal_access_token is not None:
            return await self._pat_access_token(stored.personal_access_token)
        if stored.tokens is None:
            return None
        if not OAuth2Token(msgspec.to_builtins(stored.tokens)).is_expired(LEEWAY_SECONDS):
            return stored.tokens.access_token
        return await self._refresh()

    async def _pat_access_token(self, secret: str) -> str:
        if self._exchanged is None or self._exchanged.is_expired(LEEWAY_SECONDS):
            self._exchanged = await self._exchange(secret)
        return str(self._exchanged["access_token"])

    async def _refresh(self) -> str:
        """Refreshes the stored tokens and stores the rotated pair. Under a file lock: two
        commands refreshing at once would present the same refresh token twice, which the
        provider takes for theft (reuse detection revokes the whole family)."""
        await self.metadata()
        async with _file_lock(self.store.path.with_name(f"{self.store.path.name}.lock")):
            # Another command may have refreshed while this one waited for the lock.
            stored = self.store.get(self.issuer)
            if stored is None or stored.tokens is None:
                raise MediaplaneError("not_signed_in", 401, f"signed out: {SIGN_IN_AGAIN}")
            self.oauth.token = msgspec.to_builtins(stored.tokens)
            try:
                await self._send(self.oauth.ensure_active_token(self.oauth.token))
            except OAuthError as error:
                if error.error == "invalid_grant":
                    # Revoked (sign out, sign out everywhere, reuse) or expired: useless now.
                    self.store.forget(self.issuer)
                    raise MediaplaneError(
                        "invalid_grant",
                        400,
                        f"the stored sign-in was revoked or has expired: {SIGN_IN_AGAIN}",
                    ) from None
                raise _oauth_failure(error) from None
            return str(self.oauth.token["access_token"])

    async def _rotated(self, token: dict[str, Any], **_: Any) -> None:
        """Authlib's `update_token` hook: the refresh answered a new pair; the old refresh
        token is spent (rotation), so the new one must be kept."""
        self.store.put(self.issuer, SignIn(client_id=self.client_id, tokens=_tokens(token)))

    # -- who, and signing out ------------------------------------------------------------------

    async def userinfo(self, explicit: str | None = None) -> UserInfo:
        endpoint = (await self.metadata()).userinfo_endpoint
        if endpoint is None:
            raise MediaplaneError("userinfo_unsupported", 0, "the provider has no userinfo")
        access = await self.access_token(explicit)
        if access is None:
            raise MediaplaneError("not_signed_in", 401, "not signed in: run `mediaplane login`")
        response = await self._send(
            self.oauth.request(
                "GET",
                endpoint,
                headers={"Authorization": f"Bearer {access}"},
                withhold_token=True,
            )
        )
        if response.is_error:
            raise _refused(response)
        return msgspec.json.decode(response.content, type=UserInfo)

    async def logout(self) -> bool:
        """Revokes the stored tokens at the provider (RFC 7009; the refresh token's whole
        family) and forgets them; False when there was no sign-in. A stored PAT is only
        forgotten: it is revoked by its owner in the account page, where it was made."""
        stored = self.store.get(self.issuer)
        if stored is None:
            return False
        if stored.tokens is not None:
            endpoint = (await self.metadata()).revocation_endpoint
            if endpoint is not None:
                if stored.tokens.refresh_token is not None:
                    await self._revoke(endpoint, stored.tokens.refresh_token, "refresh_token")
                await self._revoke(endpoint, stored.tokens.access_token, "access_token")
        self.store.forget(self.issuer)
        return True

    async def _revoke(self, endpoint: str, token: str, hint: str) -> None:
        response = await self._send(
            self.oauth.revoke_token(endpoint, token=token, token_type_hint=hint)
        )
        if response.is_error:
            raise _refused(response)

    async def _send(self, call: Awaitable[Any]) -> Any:
        try:
            return await call
        except httpx.TransportError as error:
            raise MediaplaneError(
                "connection_failed", 0, f"{self.issuer}: {type(error).__name__}: {error}"
            ) from error


class _SignedIn:
    def __init__(self, identity: Identity, explicit: str | None) -> None:
        self.identity = identity
        self.explicit = explicit

    async def access_token(self) -> str | None:
        return await self.identity.access_token(self.explicit)


def _tokens(token: dict[str, Any]) -> Tokens:
    expires_at = token.get("expires_at")
    if expires_at is None and token.get("expires_in") is not None:
        expires_at = int(time.time()) + int(token["expires_in"])
    return Tokens(
        access_token=str(token["access_token"]),
        token_type=str(token.get("token_type", "Bearer")),
        refresh_token=token.get("refresh_token"),
        expires_at=int(expires_at) if expires_at is not None else None,
        scope=token.get("scope"),
    )


@asynccontextmanager
async def _file_lock(path: Path) -> AsyncIterator[None]:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with path.open("a") as handle:
        await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
