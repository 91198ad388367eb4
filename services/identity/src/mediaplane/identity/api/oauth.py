"""OAuth 2 / OpenID Connect over HTTP: discovery, JWKS, authorize, token, revoke, userinfo.

Authlib answers every protocol request (errors are RFC 6749 JSON, or a redirect
to a registered redirect URI); these handlers only translate HTTP in and out and
run Authlib, which is synchronous, in a worker thread.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
from authlib.oauth2 import OAuth2Error
from litestar import Controller, Request, Response, get, post, route
from litestar.datastructures import FormMultiDict
from litestar.response import Redirect

from mediaplane.identity.api.account import MAX_BODY, SESSION_COOKIE, accounts, session_cookie
from mediaplane.identity.app.provider import FormRequest, Provider, Result
from mediaplane.identity.domain.errors import NotSignedIn

Req = Request[Any, Any, Any]
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def provider(request: Req) -> Provider:
    found: Provider = request.app.state.provider
    return found


def _oauth_error(status: int, error: str, description: str) -> Response[dict[str, str]]:
    return Response(
        {"error": error, "error_description": description}, status_code=status, headers=_NO_STORE
    )


def _single(values: FormMultiDict | Any) -> dict[str, str] | None:
    """Parameters as a dict; None when one is repeated (RFC 6749 section 3.1)."""
    items = list(values.multi_items())
    single = {key: str(value) for key, value in items}
    return single if len(single) == len(items) else None


async def oauth_request(request: Req, *, with_form: bool) -> FormRequest | None:
    """The request for Authlib; its URI is the issuer's (never the Host header's)."""
    query = _single(request.query_params)
    form: dict[str, str] | None = {}
    if with_form:
        form = _single(await request.form())
    if query is None or form is None:
        return None
    owner = provider(request)
    uri = f"{owner.settings.issuer}{request.url.path}"
    if request.url.query:
        uri = f"{uri}?{request.url.query}"
    return FormRequest(request.method, uri, request.headers, query, form)


def _respond(result: Result) -> Response[Any]:
    status, body, headers = result
    return Response(body, status_code=status, headers=dict(headers))


class DiscoveryController(Controller):
    path = "/.well-known"
    tags = ["oidc"]

    @get("/openid-configuration")
    async def configuration(self, request: Req) -> dict[str, Any]:
        return provider(request).metadata()

    @get("/jwks.json")
    async def jwks(self, request: Req) -> Response[dict[str, Any]]:
        keys = provider(request).jwks()
        return Response(keys, headers={"Cache-Control": "public, max-age=300"})


class OAuthController(Controller):
    path = "/oauth"
    tags = ["oauth"]
    request_max_body_size = MAX_BODY

    @get("/authorize")
    async def authorize(self, request: Req) -> Response[Any]:
        """The code flow's first leg, for a signed-in user (no consent screen: every client
        is first-party, registered by an operator)."""
        service = accounts(request)
        try:
            account = await service.session(request.cookies.get(SESSION_COOKIE))
        except NotSignedIn:
            sign_in = service.settings.sign_in_url
            if sign_in is None:
                raise
            # Back to this same request afterwards: a path on this service, never a URL
            # someone else chose (no open redirect).
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return Redirect(f"{sign_in}?{urlencode({'return_to': back})}", status_code=303)
        built = await oauth_request(request, with_form=False)
        if built is None:
            return _oauth_error(400, "invalid_request", "a parameter is repeated")
        owner = provider(request)

        def run() -> Result:
            user = owner.store.user(account.user_id)
            try:
                grant = owner.get_consent_grant(built, end_user=user)
            except OAuth2Error as error:
                return owner.handle_error_response(built, error)  # type: ignore[no-any-return]
            return owner.create_authorization_response(  # type: ignore[no-any-return]
                built, grant_user=user, grant=grant
            )

        return _respond(await anyio.to_thread.run_sync(run))

    @post("/token")
    async def token(self, request: Req) -> Response[Any]:
        built = await oauth_request(request, with_form=True)
        if built is None:
            return _oauth_error(400, "invalid_request", "a parameter is repeated")
        owner = provider(request)
        return _respond(await anyio.to_thread.run_sync(owner.create_token_response, built))

    @post("/revoke")
    async def revoke(self, request: Req) -> Response[Any]:
        built = await oauth_request(request, with_form=True)
        if built is None:
            return _oauth_error(400, "invalid_request", "a parameter is repeated")
        owner = provider(request)
        result = await anyio.to_thread.run_sync(owner.create_endpoint_response, "revocation", built)
        return _respond(result)

    @post("/device")
    async def device(self, request: Req) -> Response[Any]:
        """RFC 8628: a device code for the CLI; the user approves the user code signed in
        (`POST /v1/account/device`)."""
        built = await oauth_request(request, with_form=True)
        if built is None:
            return _oauth_error(400, "invalid_request", "a parameter is repeated")
        owner = provider(request)
        result = await anyio.to_thread.run_sync(
            owner.create_endpoint_response, "device_authorization", built
        )
        return _respond(result)

    @route("/logout", http_method=["GET", "POST"], status_code=200)
    async def logout(self, request: Req) -> Response[Any]:
        """OpenID Connect RP-Initiated Logout. Without a valid `id_token_hint` only a POST
        (the client's own confirmation) signs out: a cross-site link cannot."""
        built = await oauth_request(request, with_form=request.method == "POST")
        if built is None:
            return _oauth_error(400, "invalid_request", "a parameter is repeated")
        owner = provider(request)

        def validate() -> Any:
            try:
                return owner.validate_endpoint_request("end_session", built)
            except OAuth2Error as error:
                return owner.handle_error_response(built, error)

        validated = await anyio.to_thread.run_sync(validate)
        if isinstance(validated, tuple):
            return _respond(validated)
        if validated.needs_confirmation and request.method == "GET":
            return _oauth_error(
                400, "invalid_request", "send id_token_hint, or confirm with a POST"
            )
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await accounts(request).sign_out(token)
        result = await anyio.to_thread.run_sync(
            owner.create_endpoint_response, "end_session", validated
        )
        response: Response[Any] = (
            _respond(result) if result else Response({"status": "signed_out"}, headers=_NO_STORE)
        )
        response.set_cookie(session_cookie("", 0))
        return response

    @get("/userinfo")
    async def userinfo(self, request: Req) -> Response[Any]:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        owner = provider(request)
        challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        claims = owner.decode_access_token(token.strip()) if scheme.lower() == "bearer" else None
        if claims is None or claims.get("aud") != owner.settings.audience:
            return Response(
                {"error": "invalid_token", "error_description": "no valid access token"},
                status_code=401,
                headers=challenge,
            )

        def run() -> dict[str, Any] | None:
            if owner.store.access_token_revoked(str(claims["jti"])):
                return None
            user = owner.store.user(str(claims["sub"]))
            return owner.user_info(user, str(claims.get("scope", ""))) if user else None

        info = await anyio.to_thread.run_sync(run)
        if info is None:
            return Response(
                {"error": "invalid_token", "error_description": "revoked, or the user is gone"},
                status_code=401,
                headers=challenge,
            )
        return Response(info, headers=_NO_STORE)
