"""Schemathesis against the gateway API running for real: it answers what its OpenAPI says.

The app serves on a loopback port with its own Postgres database, bucket and
JetStream names; requests carry a valid bearer token (and, for the
authentication check, none). Every check counts: no server error, only
documented status codes and content types, bodies matching their schemas.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import httpx
import pytest

from mediaplane.devstack.conformance import conformance_failures, running
from mediaplane.upload_gateway.api.app import create_app
from mediaplane.upload_gateway.config import GatewaySettings

pytestmark = pytest.mark.integration

# Per operation and generation mode (valid and invalid requests): bounds the suite's time.
MAX_EXAMPLES = 25


async def test_the_gateway_answers_as_its_openapi_document_says(
    settings: GatewaySettings, auth: Callable[..., dict[str, str]], s3: httpx.AsyncClient
) -> None:
    headers = auth("alice")
    async with running(create_app(settings)) as base_url:
        async with httpx.AsyncClient(base_url=base_url, headers=headers) as http:
            document = (await http.get("/schema/openapi.json")).json()
            # Resources that exist, so successful answers are checked too: a session left
            # open, and a file uploaded through a completed one.
            body = b"\x89PNG\r\n\x1a\n" + os.urandom(2000)
            spec = {"filename": "a.png", "size": len(body), "content_type": "image/png"}
            left_open = (await http.post("/v1/uploads", json=spec)).json()
            completed = (await http.post("/v1/uploads", json=spec)).json()
            upload = completed["upload"]
            stored = await s3.request(
                upload["method"], upload["url"], headers=upload["headers"], content=body
            )
            assert stored.status_code == 200, stored.text
            done = await http.post(f"/v1/uploads/{completed['session_id']}/complete", json={})
            assert done.status_code == 202, done.text
        failures = await asyncio.to_thread(
            conformance_failures,
            document,
            base_url=base_url,
            headers=headers,
            max_examples=MAX_EXAMPLES,
            known={
                "session_id": [left_open["session_id"], completed["session_id"]],
                "file_id": [completed["file_id"]],
            },
        )
    assert not failures, "\n\n".join(failures)
