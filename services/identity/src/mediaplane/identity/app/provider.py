"""The OAuth 2 / OpenID Connect provider: Authlib's AuthorizationServer and grants, wired
to this service's storage and signing keys.

Authlib implements the protocol (request validation, PKCE, error responses,
ID tokens, revocation); this module only answers its storage and policy
questions. Authlib is synchronous: the API runs each call in a worker thread
(`anyio.to_thread`), and the storage it calls blocks on its own small pool.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.grants.base import BaseGrant, TokenEndpointMixin
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc8628 import (
    DEVICE_CODE_GRANT_TYPE,
    DeviceAuthorizationEndpoint,
    DeviceCodeGrant,
)
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.discovery import OpenIDProviderMetadata
from authlib.oidc.rpinitiated import EndSessionEndpoint
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jws import extract_compact

from mediaplane.contracts import utc_now
from mediaplane.identity.adapters.keys import ALGORITHM, KeyRing
from mediaplane.identity.adapters.oauth_store import (
    AccessToken,
    AuthorizationCode,
    Client,
    DeviceCredential,
    OAuthStore,
    RefreshToken,
    UserClaims,
)
from mediaplane.identity.adapters.secrets import new_secret
from mediaplane.identity.config import IdentitySettings

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
PAT_TOKEN_TYPE = "urn:mediaplane:params:oauth:token-type:personal-access-token"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
SCOPES = (
    "openid",
    "profile",
    "email",
    "offline_access",
    "files:read",
    "files:write",
    "uploads:write",
)
Result = tuple[int, Any, list[tuple[str, str]]]


class FormRequest(OAuth2Request):  # type: ignore[misc]
    """An OAuth request from any web framework: query and form already parsed."""

    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],  # case-insensitive (Authlib reads "Authorization")
        query: Mapping[str, str],
        form: Mapping[str, str],
    ) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        # When the user granted what a device-code token continues (set by DeviceGrant).
        self.granted_at: datetime | None = None
        self._query = dict(query)
        self._form = dict(form)
        self.payload = BasicOAuth2Payload({**self._query, **self._form})

    @property
    def args(self) -> dict[str, str]:
        return self._query

    @property
    def form(self) -> dict[str, str]:
        return self._form


class Provider(AuthorizationServer):  # type: ignore[misc]
    def __init__(
        self,
        settings: IdentitySettings,
        store: OAuthStore,
        keys: KeyRing,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.settings = settings
        self.clock = clock  # which key signs and which are published (tests move it)
        self.store = store
        self.keys = keys  # replaced by the rotation task, read by worker threads
        self.register_token_generator("default", JwtAccessTokens(self))
        self.register_grant(AuthorizationCodeGrant, [S256Only(), OpenIdCode(self)])
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(DeviceGrant)
        self.register_grant(PatExchangeGrant)
        self.register_endpoint(Revocation(self))
        self.register_endpoint(DeviceAuthorization(self))
        self.register_endpoint(EndSession(self))

    # -- Authlib's framework hooks -------------------------------------------------------------

    def query_client(self, client_id: str) -> Client | None:
        return self.store.client(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        refresh = token.get("refresh_token")
        if not refresh:
            return
        if request.refresh_token is not None:
            family = request.refresh_token.family_id
            granted_at = request.refresh_token.issued_at
        elif request.authorization_code is not None:
            family = request.authorization_code.family_id
            granted_at = request.authorization_code.auth_time
        else:
            family = uuid.uuid4()
            granted_at = request.granted_at or datetime.now(UTC)
        stored = self.store.save_refresh_token(
            refresh,
            family_id=family,
            client_id=request.client.client_id,
            user_id=request.user.user_id if request.user else None,
            scope=token.get("scope", ""),
            lifetime=timedelta(seconds=self.settings.lifetimes.refresh_seconds),
            granted_at=granted_at,
        )
        if not stored:
            # Signed out everywhere, suspended, or the family revoked while this request
            # ran: nothing is handed out (Authlib answers the error instead of the tokens).
            raise InvalidGrantError("the grant was revoked: sign in again")

    def create_oauth2_request(self, request: FormRequest) -> FormRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> Result:
        return status, body, list(headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    # -- what the API asks -----------------------------------------------------------------------

    def jwks(self) -> dict[str, Any]:
        return self.keys.jwks(self.clock())

    def metadata(self) -> dict[str, Any]:
        """OpenID Provider Metadata (discovery), checked by Authlib's validator."""
        issuer = self.settings.issuer
        data = OpenIDProviderMetadata(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/oauth/authorize",
                "token_endpoint": f"{issuer}/oauth/token",
                "userinfo_endpoint": f"{issuer}/oauth/userinfo",
                "revocation_endpoint": f"{issuer}/oauth/revoke",
                "device_authorization_endpoint": f"{issuer}/oauth/device",
                "end_session_endpoint": f"{issuer}/oauth/logout",
                "jwks_uri": f"{issuer}/.well-known/jwks.json",
                "scopes_supported": list(SCOPES),
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "grant_types_supported": [
                    "authorization_code",
                    "refresh_token",
                    "client_credentials",
                    DEVICE_CODE_GRANT_TYPE,
                    TOKEN_EXCHANGE,
                ],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                    "none",
                ],
                "revocation_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                    "none",
                ],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": [ALGORITHM],
                "claims_supported": ["sub", "email", "email_verified", "roles", "plan"],
            }
        )
        data.validate()
        return dict(data)

    def decode_access_token(self, token: str) -> dict[str, Any] | None:
        """The claims of a live access token this provider signed (None otherwise)."""
        try:
            kid = extract_compact(token.encode()).protected.get("kid")
        except (JoseError, ValueError):
            return None
        for signing in self.keys.published(self.clock()):
            if signing.kid != kid:
                continue
            try:
                decoded = jwt.decode(token, signing.key, algorithms=[ALGORITHM])
            except (JoseError, ValueError):
                return None
            claims: dict[str, Any] = dict(decoded.claims)
            exp = claims.get("exp")
            if claims.get("iss") != self.settings.issuer or not isinstance(exp, int):
                return None
            if exp <= time.time():
                return None
            return claims
        return None

    def user_info(self, user: UserClaims, scope: str) -> dict[str, Any]:
        info = UserInfo(sub=str(user.user_id), roles=[user.role], plan=user.plan)
        if "email" in scope.split():
            info["email"] = user.email
            info["email_verified"] = user.email_verified
        return dict(info)


class JwtAccessTokens(BearerTokenGenerator):  # type: ignore[misc]
    """Access tokens are RS256 JWTs (RFC 9068 shape) that the services verify offline:
    `sub`, `roles`, `plan`, `scope`, `client_id`, `iss`, `aud` (the platform audience),
    `iat`, `exp`, `jti`; the signing key's `kid` in the header."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        lifetime = provider.settings.lifetimes.access_seconds
        super().__init__(
            access_token_generator=self.access_token,
            refresh_token_generator=self.refresh_token,
            expires_generator=lambda client, grant_type: lifetime,
        )

    def access_token(
        self, client: Client, grant_type: str, user: UserClaims | None, scope: str
    ) -> str:
        settings = self.provider.settings
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": settings.issuer,
            "aud": settings.audience,
            "sub": str(user.user_id) if user else client.client_id,
            "client_id": client.client_id,
            "scope": scope or "",
            "iat": now,
            "exp": now + settings.lifetimes.access_seconds,
            "jti": uuid.uuid4().hex,
        }
        if user is not None:
            claims["roles"] = [user.role]
            claims["plan"] = user.plan
        signing = self.provider.keys.signing(self.provider.clock())
        header = {"alg": ALGORITHM, "typ": "at+jwt", "kid": signing.kid}
        return str(jwt.encode(header, claims, signing.key, algorithms=[ALGORITHM]))

    def refresh_token(
        self, client: Client, grant_type: str, user: UserClaims | None, scope: str
    ) -> str | None:
        # Users' grants get one (rotated on every use); client credentials do not.
        return new_secret() if user is not None else None


class S256Only(CodeChallenge):  # type: ignore[misc]
    """PKCE is required on every authorization request, with S256 only (no `plain`)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (S256)")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: AuthorizationCode) -> str:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: AuthorizationCode) -> str:
        return "S256"


class OpenIdCode(OpenIDCode):  # type: ignore[misc]
    """ID tokens for the `openid` scope, signed with the current key."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(require_nonce=False)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return self.provider.store.nonce_used(request.payload.client_id, nonce)

    def resolve_client_private_key(self, client: Client) -> Any:
        return self.provider.keys.signing(self.provider.clock()).key

    def get_client_algorithm(self, client: Client) -> str:
        return ALGORITHM

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": ALGORITHM, "kid": self.provider.keys.signing(self.provider.clock()).kid}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        settings = self.provider.settings
        return {
            "iss": settings.issuer,
            "aud": [client.client_id],
            "exp": int(time.time()) + settings.lifetimes.access_seconds,
        }

    def generate_user_info(self, user: UserClaims, scope: str) -> UserInfo:
        return UserInfo(self.provider.user_info(user, scope))


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    server: Provider

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        self.server.store.save_code(
            code,
            client_id=request.client.client_id,
            user_id=request.user.user_id,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope or "",
            code_challenge=data["code_challenge"],
            nonce=data.get("nonce"),
            auth_time=datetime.now(UTC),
            lifetime=timedelta(seconds=self.server.settings.lifetimes.code_seconds),
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        return self.server.store.consume_code(code, client.client_id)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        return None  # consumed when it was queried

    def authenticate_user(self, authorization_code: AuthorizationCode) -> UserClaims | None:
        return self.server.store.user(authorization_code.user_id)


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    """Rotation: every refresh returns a new refresh token and retires the old one;
    presenting a retired one revokes its family (reuse detection)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: Provider

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        return self.server.store.rotate_refresh_token(refresh_token)

    def authenticate_user(self, refresh_token: RefreshToken) -> UserClaims | None:
        if refresh_token.user_id is None:
            return None
        return self.server.store.user(refresh_token.user_id)

    def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
        return None  # retired when it was authenticated


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    """RFC 7009: refresh tokens (with their family) and access tokens (by `jti`, honoured
    by this service's userinfo; other services see them expire within their lifetime)."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def __init__(self, provider: Provider) -> None:
        super().__init__(provider)
        self.provider = provider

    def query_token(
        self, token_string: str, token_type_hint: str | None
    ) -> RefreshToken | AccessToken | None:
        if token_type_hint != "access_token":
            found = self.provider.store.live_refresh_token(token_string)
            if found is not None:
                return found
        claims = self.provider.decode_access_token(token_string)
        if claims is None:
            return None
        return AccessToken(
            jti=str(claims["jti"]), client_id=str(claims["client_id"]), expires_at=claims["exp"]
        )

    def revoke_token(self, token: RefreshToken | AccessToken, request: OAuth2Request) -> None:
        if isinstance(token, RefreshToken):
            self.provider.store.revoke_family(token.family_id)
        else:
            self.provider.store.revoke_access_token(token.jti, token.expires_at)


DEVICE_CODE_SECONDS = 600
DEVICE_POLL_SECONDS = 5


class DeviceAuthorization(DeviceAuthorizationEndpoint):  # type: ignore[misc]
    """RFC 8628 section 3.1: the CLI asks for a device code and a user code."""

    EXPIRES_IN = DEVICE_CODE_SECONDS
    INTERVAL = DEVICE_POLL_SECONDS

    def __init__(self, provider: Provider) -> None:
        super().__init__(provider)
        self.provider = provider

    def authenticate_client(self, request: OAuth2Request) -> Client:
        client: Client = super().authenticate_client(request)
        if not client.check_grant_type(DEVICE_CODE_GRANT_TYPE):
            raise UnauthorizedClientError("this client may not use the device flow")
        return client

    def get_verification_uri(self) -> str:
        # The page that approves the code is the web UI's when there is one (the user
        # signs in there); Authlib adds `?user_code=` for `verification_uri_complete`.
        settings = self.provider.settings
        return f"{settings.web_url or settings.issuer}/device"

    def save_device_credential(
        self, client_id: str, scope: str | None, data: dict[str, Any]
    ) -> None:
        self.provider.store.save_device_code(
            device_code=data["device_code"],
            user_code=data["user_code"],
            client_id=client_id,
            scope=scope or "",
            lifetime=timedelta(seconds=self.EXPIRES_IN),
            interval=self.INTERVAL,
        )


class DeviceGrant(DeviceCodeGrant):  # type: ignore[misc]
    """RFC 8628 section 3.4: the CLI polls; the token comes once the user approved."""

    server: Provider

    def query_device_credential(self, device_code: str) -> DeviceCredential | None:
        return self.server.store.device_credential(device_code)

    def query_user_grant(self, user_code: str) -> tuple[UserClaims | None, bool] | None:
        decision = self.server.store.take_device_decision(user_code)
        if decision is None:
            return None
        user_id, approved, self.request.granted_at = decision
        user = self.server.store.user(user_id)
        return user, approved and user is not None

    def should_slow_down(self, credential: DeviceCredential) -> bool:
        return self.server.store.polled_too_soon(credential.user_code)


class PatExchangeGrant(BaseGrant, TokenEndpointMixin):  # type: ignore[misc]
    """RFC 8693 token exchange: a personal access token (the subject token) for a short-lived
    access token with the PAT's scopes, so services keep verifying JWTs only. Scripts
    exchange again when it expires; no refresh token."""

    GRANT_TYPE = TOKEN_EXCHANGE
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    server: Provider

    def validate_token_request(self) -> None:
        data = self.request.payload.data
        if data.get("subject_token_type") != PAT_TOKEN_TYPE or not data.get("subject_token"):
            raise InvalidRequestError(
                f"send subject_token with subject_token_type={PAT_TOKEN_TYPE}"
            )
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError("this client may not exchange tokens")
        held = self.server.store.pat_holder(data["subject_token"])
        if held is None:
            raise InvalidGrantError("the personal access token is unknown, revoked or expired")
        self.request.client = client
        self.request.user, self.request.scope = held

    def create_token_response(self) -> Result:
        token = self.generate_token(
            user=self.request.user, scope=self.request.scope, include_refresh_token=False
        )
        token["issued_token_type"] = ACCESS_TOKEN_TYPE
        return 200, token, self.TOKEN_RESPONSE_HEADER


class EndSession(EndSessionEndpoint):  # type: ignore[misc]
    """OpenID Connect RP-Initiated Logout: Authlib checks the `id_token_hint` (signed by
    this provider), the client and the exact post-logout redirect URI; the API ends the
    browser's session."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(provider)
        self.provider = provider

    def get_server_jwks(self) -> dict[str, Any]:
        return self.provider.jwks()

    def get_algorithms(self) -> list[str]:
        return [ALGORITHM]

    def resolve_client_from_id_token_claims(self, id_token_claims: dict[str, Any]) -> Any:
        # Our ID tokens name their one client as a one-element `aud` list.
        aud = id_token_claims.get("aud")
        if isinstance(aud, list) and len(aud) == 1:
            aud = aud[0]
        return self.provider.query_client(aud) if isinstance(aud, str) else None

    def end_session(self, end_session_request: Any) -> None:
        return None  # the session cookie is revoked by the API, which holds it
