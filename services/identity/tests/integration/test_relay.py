"""User events reach JetStream through the outbox relay, on `<root>.user.*` subjects, with
no personal data in them."""

from __future__ import annotations

import json

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from mediaplane.bus import provision
from mediaplane.bus.testing import eventually
from mediaplane.eventlog.relay import OutboxRelay
from mediaplane.identity.testing import Server, SignUp

pytestmark = pytest.mark.integration


async def test_the_relay_publishes_user_events(server: Server, sign_up: SignUp) -> None:
    bus = server.settings.bus
    user_id = await sign_up("rel@example.org")
    nc = await nats.connect(bus.url)
    try:
        js = nc.jetstream()
        await provision(js, bus)
        async with OutboxRelay(server.settings.database_url, bus.url, poll_interval=0.2):

            async def published() -> bool:
                info = await js.stream_info(bus.stream)
                return info.state.messages >= 2

            await eventually(published, within=20)
        subscription = await js.pull_subscribe(
            f"{bus.subject_root}.user.>",
            stream=bus.stream,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE),
        )
        messages = await subscription.fetch(batch=2, timeout=5)
    finally:
        await nc.close()
    assert [m.subject for m in messages] == [
        f"{bus.subject_root}.user.registered.v1",
        f"{bus.subject_root}.user.email_verified.v1",
    ]
    for message in messages:
        body = json.loads(message.data)
        assert body["user_id"] == user_id
        assert "rel@" not in message.data.decode()
        assert message.headers is not None
        assert message.headers["Mp-Producer"] == "identity"
