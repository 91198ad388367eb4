"""The local stack is real: Postgres answers, JetStream is on, S3 checks signatures."""

from __future__ import annotations

import dataclasses
import urllib.error
import urllib.request

import nats
import nats.errors
import psycopg
import pytest

from mediaplane.devstack.natsauth import admin_url
from mediaplane.devstack.pytest_plugin import PrivateNats, bucket_admin
from mediaplane.devstack.servers import all_servers
from mediaplane.devstack.settings import StackSettings
from mediaplane.storage import AccessDenied, BucketAdmin

pytestmark = pytest.mark.integration


def test_every_server_reports_ready(stack: StackSettings) -> None:
    assert {s.name: s.ready() for s in all_servers(stack)} == {
        "postgres": True,
        "nats": True,
        "seaweedfs": True,
    }


def test_each_test_gets_its_own_empty_database(stack: StackSettings, pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        name = conn.execute("SELECT current_database()").fetchone()
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert name is not None
    assert name[0].startswith("mp_")
    assert tables == (0,)


def test_s3_refuses_anonymous_and_wrongly_signed_writes(
    stack: StackSettings, s3_bucket: str
) -> None:
    request = urllib.request.Request(
        f"{stack.s3_endpoint}/{s3_bucket}/anonymous.txt", data=b"x", method="PUT"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403

    wrong = BucketAdmin(dataclasses.replace(stack.storage_settings(), secret_key="not-the-secret"))
    with pytest.raises(AccessDenied) as denied:
        wrong.put(s3_bucket, "forged.txt", b"x")
    assert denied.value.code == "SignatureDoesNotMatch"

    bucket_admin(stack).put(s3_bucket, "signed.txt", b"ok")
    assert bucket_admin(stack).stat(s3_bucket, "signed.txt").size == 2


@pytest.mark.skipif(
    not StackSettings.from_env().managed["nats"], reason="an external NATS has its own rules"
)
async def test_the_stacks_nats_refuses_anonymous_clients_and_admits_the_admin(
    stack: StackSettings,
) -> None:
    with pytest.raises(nats.errors.Error, match=r"[Aa]uthorization"):
        await nats.connect(stack.nats_url, allow_reconnect=False, connect_timeout=2)
    admin = await nats.connect(admin_url(stack))
    await admin.jetstream().account_info()
    await admin.close()


async def test_a_private_nats_server_keeps_jetstream_data_across_a_restart(
    private_nats: PrivateNats,
) -> None:
    nc = await nats.connect(private_nats.url)
    js = nc.jetstream()
    await js.add_stream(name="KEEP", subjects=["keep.>"])
    await js.publish("keep.one", b"1")
    await nc.close()

    private_nats.stop()
    private_nats.start()

    nc = await nats.connect(private_nats.url)
    info = await nc.jetstream().stream_info("KEEP")
    await nc.close()
    assert info.state.messages == 1
