"""`POST /v1/dev/token` exists only in dev mode, and its tokens work on the API."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.servicekit.auth import AuthSettings
from mediaplane.upload_gateway.api.app import create_app
from mediaplane.upload_gateway.app.bootstrap import apply_migrations
from mediaplane.upload_gateway.config import GatewaySettings

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]
UPLOAD = {"filename": "clip.mp4", "size": 1000, "content_type": "video/mp4"}


async def test_without_dev_mode_the_route_does_not_exist(client: Client) -> None:
    response = await client.post("/v1/dev/token", json={"sub": "alice"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "not_found"
    # The web UI asks this to decide whether to show its user-name box: absent too.
    probe = await client.get("/v1/dev")
    assert probe.status_code == 404
    assert probe.json()["code"] == "not_found"
    schema = await client.get("/schema/openapi.json")
    assert "/v1/dev/token" not in schema.json()["paths"]


async def test_in_dev_mode_a_token_signs_in_without_any_other_credential(
    make_gateway_settings: Callable[..., GatewaySettings],
) -> None:
    settings = make_gateway_settings(dev_mode=True)
    await apply_migrations(settings)
    async with AsyncTestClient(app=create_app(settings)) as client:
        probe = await client.get("/v1/dev")
        assert probe.status_code == 200
        assert probe.json() == {"dev_tokens": True}
        issued = await client.post("/v1/dev/token", json={"sub": "alice"})
        assert issued.status_code == 201, issued.text
        body = issued.json()
        assert body["sub"] == "alice"
        assert body["admin"] is False
        assert body["token_type"] == "Bearer"
        alice = {"Authorization": f"Bearer {body['token']}"}

        opened = await client.post("/v1/uploads", headers=alice, json=UPLOAD)
        assert opened.status_code == 201, opened.text
        session = opened.json()["session_id"]
        assert (await client.get(f"/v1/uploads/{session}", headers=alice)).status_code == 200

        # The token names its owner: bob's token does not see alice's session.
        bob_token = (await client.post("/v1/dev/token", json={"sub": "bob"})).json()["token"]
        bob = {"Authorization": f"Bearer {bob_token}"}
        assert (await client.get(f"/v1/uploads/{session}", headers=bob)).status_code == 404


async def test_in_dev_mode_bad_requests_are_refused(
    make_gateway_settings: Callable[..., GatewaySettings],
) -> None:
    settings = make_gateway_settings(dev_mode=True)
    await apply_migrations(settings)
    async with AsyncTestClient(app=create_app(settings)) as client:
        for body in ({"sub": "a/b"}, {"sub": ""}, {"sub": "alice", "owner": "bob"}, {}):
            response = await client.post("/v1/dev/token", json=body)
            assert response.status_code == 400, body
            assert response.json()["code"] == "invalid_request"
        admin = await client.post("/v1/dev/token", json={"sub": "root", "admin": True})
        assert admin.json()["admin"] is True


def test_dev_mode_needs_the_hs256_secret(
    make_gateway_settings: Callable[..., GatewaySettings],
) -> None:
    jwks_only = AuthSettings(
        jwks_url="https://idp.example/.well-known/jwks.json",
        issuer="https://idp.example/",
        audience="mediaplane",
    )
    with pytest.raises(ValueError, match="MEDIAPLANE_JWT_SECRET"):
        make_gateway_settings(dev_mode=True, auth=jwks_only)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "gateway-api"])
def test_dev_mode_refuses_a_bind_other_than_loopback(
    make_gateway_settings: Callable[..., GatewaySettings], host: str
) -> None:
    with pytest.raises(ValueError, match="needs a loopback bind"):
        make_gateway_settings(dev_mode=True, http_host=host)
    # Without dev mode any bind is fine: tokens then come from the identity provider.
    assert make_gateway_settings(http_host=host).http_host == host
