"""Sign-in with the upstream OpenID provider: the browser goes to `start`, comes back to
`callback` with a session cookie (and to `return_to`, a path on this site)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect

from mediaplane.identity.api.account import SESSION_COOKIE, accounts, session_cookie
from mediaplane.identity.app.federation import Federation
from mediaplane.identity.domain.errors import FederationStateInvalid, UpstreamRefused

Req = Request[Any, Any, Any]


def federation(request: Req) -> Federation:
    found: Federation = request.app.state.federation
    return found


def _local_path(return_to: str | None) -> str | None:
    """Only a path on this site (no scheme, no `//host`): never an open redirect."""
    if return_to and return_to.startswith("/") and not return_to.startswith(("//", "/\\")):
        return return_to
    return None


class FederationController(Controller):
    path = "/v1/account/federation"
    tags = ["account"]

    @get("/start")
    async def start(
        self,
        request: Req,
        return_to: Annotated[str | None, QueryParameter(max_length=2000)] = None,
        link: FromQuery[bool] = False,
    ) -> Redirect:
        """To the upstream's sign-in. With `link=true` a signed-in user links the upstream
        account to this one instead (explicit linking)."""
        link_user_id = None
        if link:
            account = await accounts(request).session(request.cookies.get(SESSION_COOKIE))
            link_user_id = account.user_id
        url = await federation(request).start(
            return_to=_local_path(return_to), link_user_id=link_user_id
        )
        return Redirect(url, status_code=302)

    @get("/callback")
    async def callback(
        self,
        request: Req,
        # `state` is a name Litestar reserves (the app state).
        oauth_state: Annotated[str | None, QueryParameter(name="state", max_length=200)] = None,
        code: Annotated[str | None, QueryParameter(max_length=2000)] = None,
        error: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> Response[Any]:
        if error:
            raise UpstreamRefused(f"the upstream answered {error}")
        if not oauth_state or not code:
            raise FederationStateInvalid("the callback needs state and code")
        finished = await federation(request).finish(
            code=code, state=oauth_state, user_agent=request.headers.get("user-agent")
        )
        signed_in = finished.signed_in
        response: Response[Any] = Redirect(finished.return_to or "/", status_code=303)
        response.set_cookie(
            session_cookie(
                signed_in.session_token,
                int(
                    (
                        signed_in.expires_at - signed_in.expires_at.now(signed_in.expires_at.tzinfo)
                    ).total_seconds()
                ),
            )
        )
        return response
