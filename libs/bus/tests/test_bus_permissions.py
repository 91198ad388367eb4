"""The services' NATS identities on a real nats-server with the generated config.

A private server (production stream and subject names, which the permissions
are written for): each service can do its own work (publish its events, run
its durables, dead-letter) and nothing of another's.
"""

from __future__ import annotations

import nats
import nats.errors
import pytest
from nats.aio.client import Client

from mediaplane.bus import Bus, BusSettings, Delivery, PoisonEvent, provision, read_dead_letters
from mediaplane.bus.dead_letter import get_dead_letter, page_dead_letters
from mediaplane.bus.permissions import DEAD_LETTERS, SERVICES, identity, publish_allowed
from mediaplane.bus.redrive import redrive
from mediaplane.bus.testing import eventually
from mediaplane.contracts import BEACON_REGISTRY, REGISTRY, Event, FileVerified
from mediaplane.contracts import headers as h
from mediaplane.contracts.asyncapi import PRODUCERS
from mediaplane.contracts.examples import build_examples
from mediaplane.devstack.pytest_plugin import PrivateNats

EXAMPLES = build_examples()


def test_every_event_family_is_published_by_exactly_one_service() -> None:
    families = {tag.split(".", 1)[0] for tag in REGISTRY.tags}
    owners = {family: [s.name for s in SERVICES if family in s.families] for family in families}
    assert all(len(names) == 1 for names in owners.values()), owners
    assert {f for s in SERVICES for f in s.families} == families


def test_the_asyncapi_producers_are_the_services_allowed_to_publish() -> None:
    # contracts/asyncapi.json names a producing service per family (contracts cannot
    # import the bus): the same grouping of families as the NATS permissions.
    # Beacon families live on the producer's own stream (`side_stream`), not `media.>`.
    beacons = {tag.split(".", 1)[0] for tag in BEACON_REGISTRY.tags}
    documented: dict[str, set[str]] = {}
    for family, service in PRODUCERS.items():
        if family not in beacons:
            documented.setdefault(service, set()).add(family)
    allowed = [set(s.families) for s in SERVICES if s.families]
    assert sorted(map(sorted, documented.values())) == sorted(map(sorted, allowed))
    for family in beacons:
        assert identity(PRODUCERS[family]).side_stream == "BEACONS"


def test_no_service_may_delete_or_purge() -> None:
    for service in SERVICES:
        allowed = publish_allowed(service, BusSettings())
        assert not [
            s for s in allowed if any(v in s for v in ("DELETE", "PURGE", ".>.", "$JS.API.>"))
        ]
        assert "media.>" not in allowed


class Errors:
    """The asynchronous errors a connection gets (permission violations come this way)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def record(self, error: Exception) -> None:
        self.seen.append(str(error))


async def connect_as(server: PrivateNats, name: str, errors: Errors) -> Client:
    settings = server.bus_settings(name)
    return await nats.connect(settings.url, error_cb=errors.record, **settings.connect_options())


@pytest.fixture
async def server(private_nats: PrivateNats) -> PrivateNats:
    """The private server with both streams provisioned by the admin."""
    nc = await nats.connect(private_nats.url)
    await provision(nc.jetstream(), BusSettings())
    await nc.close()
    return private_nats


@pytest.mark.integration
async def test_anonymous_clients_are_refused(server: PrivateNats) -> None:
    with pytest.raises(nats.errors.Error):
        await nats.connect(server.anonymous_url, allow_reconnect=False, connect_timeout=2)


@pytest.mark.integration
async def test_a_wrong_password_is_refused(server: PrivateNats) -> None:
    settings = server.bus_settings("gateway")
    with pytest.raises(nats.errors.Error):
        await nats.connect(
            settings.url, allow_reconnect=False, connect_timeout=2, user="gateway", password="x"
        )


@pytest.mark.integration
async def test_the_thumbnailer_cannot_publish_a_file_verified_event(server: PrivateNats) -> None:
    errors = Errors()
    nc = await connect_as(server, "thumbnailer", errors)
    js = nc.jetstream()
    forged = next(e for e in EXAMPLES if isinstance(e, FileVerified))
    with pytest.raises(nats.errors.TimeoutError):
        await js.publish(REGISTRY.subject_of(forged), REGISTRY.encode(forged), timeout=1)
    own = next(e for e in EXAMPLES if e.tag().startswith("thumbnail."))
    ack = await js.publish(REGISTRY.subject_of(own), REGISTRY.encode(own), stream="MEDIA")
    await nc.close()

    refused = 'permissions violation for publish to "media.file.verified.v1"'
    assert any(refused in e.lower() for e in errors.seen), errors.seen
    admin = await nats.connect(server.url)
    info = await admin.jetstream().stream_info("MEDIA")
    await admin.close()
    assert (info.state.messages, ack.seq) == (1, 1)  # only its own event got in


@pytest.mark.integration
async def test_a_service_cannot_read_core_traffic_or_another_services_inbox(
    server: PrivateNats,
) -> None:
    errors = Errors()
    nc = await connect_as(server, "thumbnailer", errors)
    for subject in ("media.>", "dlq.>", "_INBOX.>", "_INBOX_catalog.>", ">"):
        await nc.subscribe(subject)
    await nc.flush()

    def refused() -> list[str]:
        return [e for e in errors.seen if "permissions violation for subscription" in e.lower()]

    # Violations arrive asynchronously.
    await eventually(lambda: len(refused()) >= 5)
    await nc.close()
    assert len(refused()) == 5, errors.seen


@pytest.mark.integration
async def test_a_service_cannot_delete_streams_or_consumers(server: PrivateNats) -> None:
    errors = Errors()
    nc = await connect_as(server, "catalog", errors)
    js = nc.jetstream(timeout=1)
    with pytest.raises(nats.errors.TimeoutError):
        await js.delete_stream("MEDIA")
    with pytest.raises(nats.errors.TimeoutError):
        await js.purge_stream("DLQ")
    await nc.close()
    assert any("permissions violation" in e.lower() for e in errors.seen)


def _own_event(name: str) -> Event | None:
    families = identity(name).families
    return next((e for e in EXAMPLES if e.tag().split(".", 1)[0] in families), None)


@pytest.mark.integration
@pytest.mark.parametrize("name", [s.name for s in SERVICES if s.durables])
async def test_each_service_runs_its_durables_dead_letters_and_publishes_as_itself(
    server: PrivateNats, name: str
) -> None:
    """What every service does on the bus works with its own identity alone."""
    settings = server.bus_settings(name)
    bus = Bus(settings, REGISTRY, producer=name, graceful_timeout=5)
    seen: list[int] = []

    async def refuse(event: Event, delivery: Delivery) -> None:
        seen.append(delivery.delivery_count)
        raise PoisonEvent("test")

    for durable in identity(name).durables:
        bus.consumer(durable, events=[FileVerified], backoff=[0.05])(refuse)
    admin = await nats.connect(server.url)
    admin_js = admin.jetstream()
    verified = next(e for e in EXAMPLES if isinstance(e, FileVerified))
    await admin_js.publish(REGISTRY.subject_of(verified), REGISTRY.encode(verified), stream="MEDIA")
    durables = identity(name).durables

    async def all_dead_lettered() -> bool:
        return len(await read_dead_letters(admin_js, BusSettings())) == len(durables)

    async with bus.running():
        await eventually(all_dead_lettered)
        own = _own_event(name)
        if own is not None:
            ack = await bus.publish(own)
            assert ack.stream == "MEDIA"
    letters = await read_dead_letters(admin_js, BusSettings())
    await admin.close()
    assert seen == [1] * len(durables)
    assert sorted(letter.consumer for letter in letters) == sorted(durables)
    assert all(letter.reason == "poison: test" for letter in letters)


@pytest.mark.integration
async def test_the_dead_letter_api_identity_reads_deletes_and_redrives_only(
    server: PrivateNats,
) -> None:
    """`deadletters` (the admin dead-letter API) may read, redrive and delete DLQ messages;
    publishing a dead letter, reading the event stream, purging, or reading core traffic
    is refused."""
    admin = await nats.connect(server.url)
    admin_js = admin.jetstream()
    await admin_js.publish(
        "dlq.thumbnailer-file-verified.media.file.verified.v1",
        b"{}",
        headers={
            h.DLQ_ORIGINAL_SUBJECT: "media.file.verified.v1",
            h.DLQ_CONSUMER: "thumbnailer-file-verified",
        },
    )
    errors = Errors()
    nc = await connect_as(server, DEAD_LETTERS, errors)
    js = nc.jetstream(timeout=1)
    settings = BusSettings()
    letters, _ = await page_dead_letters(js, settings)
    assert [letter.sequence for letter in letters] == [1]
    ack = await redrive(js, settings, letters[0])
    assert (ack.stream, await get_dead_letter(js, settings, 1)) == ("MEDIA", None)

    with pytest.raises(nats.errors.TimeoutError):  # forging a dead letter
        await js.publish("dlq.catalog-ingest.media.file.verified.v1", b"{}", timeout=1)
    with pytest.raises(nats.errors.TimeoutError):  # reading the event stream
        await js.get_msg("MEDIA", 1)
    with pytest.raises(nats.errors.TimeoutError):
        await js.purge_stream("DLQ")
    await nc.subscribe("media.>")
    await nc.flush()
    await eventually(lambda: len(errors.seen) >= 4)
    await nc.close()
    await admin.close()
    publishes = [e for e in errors.seen if "permissions violation for publish" in e.lower()]
    subscriptions = [
        e for e in errors.seen if "permissions violation for subscription" in e.lower()
    ]
    assert (len(publishes), len(subscriptions)) == (3, 1), errors.seen
