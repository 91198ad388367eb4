"""The client side of signing in with an upstream OpenID provider: Authlib's protocol
helpers (authorization request, PKCE S256), httpx for the two requests, joserfc for the
ID token. (Authlib's httpx client integration is not used: it is being moved to httpx2.)

Discovery and keys are fetched per sign-in (a sign-in is rare next to token use);
the discovered issuer must be the configured one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from mediaplane.identity.config import Upstream
from mediaplane.identity.domain.errors import UpstreamRefused

_TIMEOUT = 10.0


@dataclass(frozen=True, kw_only=True)
class UpstreamClaims:
    subject: str
    email: str | None
    email_verified: bool


class UpstreamProvider:
    def __init__(self, upstream: Upstream, redirect_uri: str) -> None:
        self.upstream = upstream
        self.redirect_uri = redirect_uri

    async def metadata(self) -> dict[str, Any]:
        url = f"{self.upstream.issuer.rstrip('/')}/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(timeout=_TIMEOUT) as http:
                response = await http.get(url)
                response.raise_for_status()
                found: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise UpstreamRefused(f"the upstream's discovery failed: {error}") from None
        if found.get("issuer") != self.upstream.issuer:
            raise UpstreamRefused("the upstream's discovery names another issuer")
        return found

    async def authorization_url(self, *, state: str, nonce: str, code_verifier: str) -> str:
        metadata = await self.metadata()
        return str(
            prepare_grant_uri(
                metadata["authorization_endpoint"],
                client_id=self.upstream.client_id,
                response_type="code",
                redirect_uri=self.redirect_uri,
                scope=self.upstream.scope,
                state=state,
                nonce=nonce,
                code_challenge=create_s256_code_challenge(code_verifier),
                code_challenge_method="S256",
            )
        )

    async def claims(self, *, code: str, code_verifier: str, nonce: str) -> UpstreamClaims:
        """Exchanges the code and checks the ID token: signature (the upstream's JWKS),
        issuer, audience (our client id), expiry and nonce."""
        metadata = await self.metadata()
        # client_secret_basic: id and secret form-encoded first (RFC 6749 section 2.3.1).
        credentials = (
            quote(self.upstream.client_id, safe=""),
            quote(self.upstream.client_secret, safe=""),
        )
        try:
            async with httpx.AsyncClient(timeout=_TIMEOUT) as http:
                response = await http.post(
                    metadata["token_endpoint"],
                    data={
                        "grant_type": "authorization_code",
                        "code": code,
                        "redirect_uri": self.redirect_uri,
                        "code_verifier": code_verifier,
                    },
                    auth=credentials,
                )
                token = response.json()
                if response.status_code != 200:
                    raise UpstreamRefused(
                        f"the upstream refused the code: {token.get('error', response.status_code)}"
                    )
                keys = (await http.get(metadata["jwks_uri"])).json()
        except (httpx.HTTPError, ValueError) as error:
            raise UpstreamRefused(f"the upstream could not be asked: {error}") from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise UpstreamRefused("the upstream sent no ID token")
        try:
            decoded = jwt.decode(id_token, KeySet.import_key_set(keys))
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.upstream.issuer},
                aud={"essential": True, "value": self.upstream.client_id},
                sub={"essential": True},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as error:
            raise UpstreamRefused(f"the upstream's ID token is not valid: {error}") from None
        claims = decoded.claims
        email = claims.get("email")
        return UpstreamClaims(
            subject=str(claims["sub"]),
            email=email if isinstance(email, str) else None,
            email_verified=claims.get("email_verified") is True,
        )
