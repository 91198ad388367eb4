"""The local stack is real: Postgres answers, JetStream is on, S3 checks signatures."""

from __future__ import annotations

import io
import urllib.error
import urllib.request

import nats
import nats.errors
import psycopg
import pytest
from minio import Minio
from minio.error import S3Error

from mediaplane.devstack.natsauth import admin_url
from mediaplane.devstack.pytest_plugin import PrivateNats, s3_client
from mediaplane.devstack.servers import all_servers
from mediaplane.devstack.settings import StackSettings

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

    host = stack.s3_endpoint.split("://", 1)[1]
    wrong = Minio(
        host,
        access_key=stack.s3_admin.access_key,
        secret_key="not-the-secret",
        secure=False,
        region=stack.s3_region,
    )
    with pytest.raises(S3Error) as denied:
        wrong.put_object(s3_bucket, "forged.txt", io.BytesIO(b"x"), 1)
    assert denied.value.code == "SignatureDoesNotMatch"

    s3_client(stack).put_object(s3_bucket, "signed.txt", io.BytesIO(b"ok"), 2)
    assert s3_client(stack).stat_object(s3_bucket, "signed.txt").size == 2


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
