"""Schemathesis against the gateway API running for real: it answers what its OpenAPI says.

The app serves on a loopback port with its own Postgres database, bucket and
JetStream names; requests carry a valid bearer token (and, for the
authentication check, none). Every check counts: no server error, only
documented status codes and content types, bodies matching their schemas.
"""

from __future__ import annotations

import asyncio
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
    settings: GatewaySettings, auth: Callable[..., dict[str, str]]
) -> None:
    async with running(create_app(settings)) as base_url:
        async with httpx.AsyncClient() as http:
            document = (await http.get(f"{base_url}/schema/openapi.json")).json()
        failures = await asyncio.to_thread(
            conformance_failures,
            document,
            base_url=base_url,
            headers=auth("alice"),
            max_examples=MAX_EXAMPLES,
        )
    assert not failures, "\n\n".join(failures)
