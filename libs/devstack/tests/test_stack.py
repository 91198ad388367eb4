"""The local stack is real: Postgres answers, JetStream is on, S3 checks signatures."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import nats
import nats.errors
import psycopg
import pytest

from mediaplane.bus import permissions
from mediaplane.devstack import natsauth
from mediaplane.devstack.background import TRACES_NICENESS, background_cores
from mediaplane.devstack.natsauth import admin_url
from mediaplane.devstack.ports import free_port_block
from mediaplane.devstack.pytest_plugin import PrivateNats, bucket_admin
from mediaplane.devstack.servers import (
    SIGNATURES,
    Clamd,
    Nats,
    StackError,
    Traces,
    all_servers,
    binary,
    clamd_command,
)
from mediaplane.devstack.settings import StackSettings, repo_root
from mediaplane.storage import AccessDenied, BucketAdmin

pytestmark = pytest.mark.integration
# How the trace backend runs is the stack's to check only where the stack starts it.
managed_traces = pytest.mark.skipif(
    not StackSettings.from_env().managed["traces"],
    reason="an external trace backend runs as its owner sets",
)


def test_every_server_reports_ready(stack: StackSettings) -> None:
    assert {s.name: s.ready() for s in all_servers(stack)} == {
        "postgres": True,
        "nats": True,
        "seaweedfs": True,
        "clamd": True,
        "traces": True,
    }


@managed_traces
def test_the_trace_backend_runs_as_background_work(stack: StackSettings) -> None:
    """It stores a span in ~5 ms of CPU: at the requests' priority, or on their first
    core, it would hold a core whenever a batch of spans arrives; beside the pipeline at
    its niceness, it would delay the pipeline."""
    pid = int((Traces(stack).dir / "traces.pid").read_text())
    # stat(5): the niceness is field 19, the 17th after the command's closing parenthesis.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    assert int(fields[16]) == TRACES_NICENESS
    assert os.sched_getaffinity(pid) == set(background_cores())


@managed_traces
@pytest.mark.skipif(
    not Path("/proc/self/autogroup").exists(),
    reason="this kernel does not group sessions (no autogroup): a niceness counts everywhere",
)
def test_the_trace_backends_session_is_niced_as_a_group(stack: StackSettings) -> None:
    """Where sessions are scheduling groups, its own niceness counts only inside its
    session: the session, one group among the others, needs the niceness too."""
    pid = int((Traces(stack).dir / "traces.pid").read_text())
    # proc(5): "/autogroup-<id> nice <niceness>"; the kernel's root group, where a
    # process whose session began at boot stays (CI's runner), prints nothing.
    group = Path(f"/proc/{pid}/autogroup").read_text().split()
    assert group[1:] == ["nice", str(TRACES_NICENESS)]
    assert not Path("/proc/self/autogroup").read_text().startswith(f"{group[0]} ")


def test_clamd_runs_on_the_repos_signatures_only(stack: StackSettings) -> None:
    clamd = Clamd(stack)
    assert clamd_command(stack.clamd_url, b"PING") == b"PONG"
    shipped = sorted(p.name for p in (repo_root() / SIGNATURES).glob("*.ndb"))
    assert shipped == ["mediaplane.ndb"]
    assert sorted(p.name for p in (clamd.dir / "db").iterdir()) == shipped
    assert clamd_command(stack.clamd_url, b"VERSION").startswith(b"ClamAV ")


def test_a_private_clamd_stops_and_starts_again(private_clamd: Clamd) -> None:
    assert private_clamd.ready()
    assert private_clamd.stop()
    assert not private_clamd.ready()
    private_clamd.start()
    assert clamd_command(private_clamd.url, b"PING") == b"PONG"


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


def _connects(url: str) -> bool:
    async def attempt() -> None:
        nc = await nats.connect(url, allow_reconnect=False, connect_timeout=2)
        await nc.close()

    try:
        asyncio.run(attempt())
    except nats.errors.Error:
        return False
    return True


def test_infra_up_restarts_a_nats_started_before_a_service_was_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server (and passwords file) from before the newest service existed:
    `apply_identities` restarts it with the new identity's password, keeping JetStream
    data; then nothing."""
    newest = permissions.SERVICES[-1].name
    port = free_port_block(2)
    settings = StackSettings(data_dir=tmp_path, nats_port=port, nats_monitor_port=port + 1)
    server = Nats(settings)
    with monkeypatch.context() as before:
        before.setattr(permissions, "SERVICES", permissions.SERVICES[:-1])
        # The other logins (admin, the dead-letter API's) are not services: they stay.
        before.setattr(natsauth, "IDENTITIES", tuple(i for i in natsauth.IDENTITIES if i != newest))
        assert newest not in natsauth.IDENTITIES
        server.start()
    try:
        assert newest not in json.loads(natsauth.passwords_file(settings).read_text())
        known = natsauth.passwords(settings)  # now adds its password to the file
        as_newest = natsauth.url_with_identity(settings.nats_url, newest, known[newest])
        assert not _connects(as_newest)  # the running server does not know it yet
        pid = (tmp_path / "nats" / "nats.pid").read_text()

        assert server.apply_identities()

        assert (tmp_path / "nats" / "nats.pid").read_text() != pid
        assert _connects(as_newest)
        assert natsauth.passwords(settings) == known  # nobody else's password changed
        assert not server.apply_identities()  # current already: no second restart
    finally:
        server.stop()


def test_a_cluster_of_three_keeps_r3_streams_and_its_routes_need_the_login(
    tmp_path: Path,
) -> None:
    """`just infra-up --cluster` on free ports: three nodes, R3 streams, the identities as
    for one server; the route password in an owner-only file, never on a command line."""
    base = free_port_block(9)
    settings = StackSettings(
        data_dir=tmp_path,
        nats_port=base,
        nats_monitor_port=base + 3,
        nats_route_port=base + 6,
        nats_cluster=True,
    )
    cluster = Nats(settings)

    async def r3_stream_copies() -> int:
        nc = await nats.connect(admin_url(settings).split(","))
        try:
            js = nc.jetstream()
            await js.add_stream(name="R3", subjects=["r3.>"], num_replicas=3)
            info = await js.stream_info("R3")
        finally:
            await nc.close()
        assert info.cluster is not None
        return 1 + len(info.cluster.replicas or [])  # the leader and its followers

    cluster.start()
    try:
        assert len(settings.nats_url.split(",")) == 3
        assert asyncio.run(r3_stream_copies()) == 3
        assert not _connects(settings.nats_url.split(",")[1])  # anonymous: refused

        route_password = natsauth.passwords(settings)[natsauth.ROUTE]
        for node in settings.nats_nodes:
            config = cluster.node_dir(node) / "nats.conf"
            assert config.stat().st_mode & 0o077 == 0
            pid = int(cluster.pid_file(node).read_text())
            assert route_password not in Path(f"/proc/{pid}/cmdline").read_text()

        # A server routing to the cluster without the login is turned away.
        intruder_port = free_port_block(2)
        node = settings.nats_nodes[0]
        intruder = subprocess.Popen(
            [binary("nats-server"), "-a", "127.0.0.1", "-p", str(intruder_port),
             "--cluster_name", "mediaplane-dev",
             "--cluster", f"nats://127.0.0.1:{intruder_port + 1}",
             "--routes", f"nats://127.0.0.1:{node.route_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        log = cluster.node_dir(node) / "nats.log"
        try:
            refused = "Router connection closed: Authentication Failure"
            for _ in range(600):  # the server gives a route its auth timeout first
                if refused in log.read_text():
                    break
                time.sleep(0.1)
            assert refused in log.read_text()
        finally:
            intruder.terminate()
            intruder.wait()

        # The single server cannot start over a running cluster's data folder.
        single = Nats(dataclasses.replace(settings, nats_cluster=False, nats_port=base + 8))
        with pytest.raises(StackError, match="already runs as a cluster"):
            single.start()
    finally:
        assert cluster.stop()
    assert not any(cluster.pid_file(node).exists() for node in settings.nats_nodes)
