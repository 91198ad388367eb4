"""A whole platform for one test: `platform up` as `just up` runs it, on its own names.

Free loopback ports, its own data folder, databases, buckets and stream names,
on the shared infrastructure, so it runs beside a developer's `just up` and
other test runs. `stop()` ends every process and removes what it created.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import nats
import nats.js.errors
import psycopg
from psycopg import sql

from mediaplane.bus.permissions import ADMIN, DEAD_LETTERS, password_variable
from mediaplane.devstack import natsauth, s3auth
from mediaplane.devstack.platform import (
    HTTP_PORTS,
    HTTP_REPLICA_STRIDE,
    OPS_REPLICA_STRIDE,
    SERVICES,
)
from mediaplane.devstack.ports import free_port_block
from mediaplane.devstack.servers import StackError, binary, bucket_admin
from mediaplane.devstack.settings import StackSettings, database_url, repo_root
from mediaplane.storage.permissions import (
    BUCKET_KINDS,
    access_key_variable,
    secret_key_variable,
)
from mediaplane.storage.permissions import SERVICES as S3_IDENTITIES

if TYPE_CHECKING:
    from mediaplane.devstack.pytest_plugin import PrivateNats


def ports_needed(replicas: int) -> int:
    """Edge and edge admin; the APIs (each replica `HTTP_REPLICA_STRIDE` further, so at
    most that many APIs); then
    an ops port and a relay port per service and replica."""
    return 2 + HTTP_REPLICA_STRIDE * replicas + OPS_REPLICA_STRIDE * replicas * len(SERVICES)


class PrivatePlatform:
    """`python -m mediaplane.devstack platform up` in its own process group.

    With `nats` (a `PrivateNats`), on that server with the production stream
    names and every service connecting as itself; else on the shared one.
    `replicas`: every role that many times (MEDIAPLANE_REPLICAS).
    """

    def __init__(
        self,
        stack: StackSettings,
        data_dir: Path,
        *,
        name: str = "e2e",
        extra_env: Mapping[str, str] | None = None,
        nats: PrivateNats | None = None,
        replicas: int = 1,
    ) -> None:
        self.stack = stack
        self.nats = nats
        self.data_dir = data_dir
        self.log_path = data_dir / "platform.log"
        run = f"{name}{uuid.uuid4().hex[:8]}"
        base = free_port_block(ports_needed(replicas))
        ops_base = base + 2 + HTTP_REPLICA_STRIDE * replicas
        env = {
            "MEDIAPLANE_ROOT": str(repo_root()),
            "MEDIAPLANE_DATA_DIR": str(data_dir),
            # The infrastructure is the shared one, external to this data folder.
            "MEDIAPLANE_PG_URL": stack.pg_url,
            "MEDIAPLANE_S3_ENDPOINT": stack.s3_endpoint,
            "MEDIAPLANE_CLAMD_URL": stack.clamd_url,
            "MEDIAPLANE_EDGE_PORT": str(base),
            "MEDIAPLANE_EDGE_ADMIN_PORT": str(base + 1),
            "MEDIAPLANE_REPLICAS": str(replicas),
            **{
                f"MEDIAPLANE_{api.upper()}_PORT": str(base + 2 + i)
                for i, api in enumerate(HTTP_PORTS)
            },
            **self._bus_environment(run),
            **self._s3_environment(),
        }
        for index, service in enumerate(SERVICES):
            prefix = f"MEDIAPLANE_{service.name.upper()}"
            # Its relay: + 1; its replicas: OPS_REPLICA_STRIDE further each.
            env[f"{prefix}_OPS_PORT"] = str(ops_base + OPS_REPLICA_STRIDE * replicas * index)
            env[f"{prefix}_DATABASE_URL"] = database_url(stack.pg_url, f"{run}_{service.name}")
        for kind in BUCKET_KINDS:
            # Named after its kind first: the services' S3 grants cover `<kind>*`.
            env[f"MEDIAPLANE_{kind.upper()}_BUCKET"] = f"{kind}-{run}"
        self.env: dict[str, str] = {**env, **(extra_env or {})}
        self.base_url = f"http://127.0.0.1:{base}"
        self._process: subprocess.Popen[bytes] | None = None

    def _bus_environment(self, run: str) -> dict[str, str]:
        """Where the services' events go, and who they connect as.

        On a private NATS (`nats`): the production names, and each service as
        itself, as `just up` runs them. On the shared NATS: names of this run,
        and every service as the admin (the services' permissions are written
        for the production names).
        """
        if self.nats is not None:
            known = self.nats.passwords
            return {
                "MEDIAPLANE_NATS_URL": self.nats.anonymous_url,
                "MEDIAPLANE_NATS_USER": ADMIN,  # the devstack's own checks
                "MEDIAPLANE_NATS_PASSWORD": known[ADMIN],
                **{f"MEDIAPLANE_{s.name.upper()}_NATS_PASSWORD": known[s.name] for s in SERVICES},
                password_variable(DEAD_LETTERS): known[DEAD_LETTERS],
            }
        env = {
            "MEDIAPLANE_NATS_URL": self.stack.nats_url,
            "MEDIAPLANE_STREAM": f"{run.upper()}_MEDIA",
            "MEDIAPLANE_SUBJECT_ROOT": f"{run}.media",
            "MEDIAPLANE_DLQ_STREAM": f"{run.upper()}_DLQ",
            "MEDIAPLANE_DLQ_SUBJECT_ROOT": f"{run}.dlq",
            "MEDIAPLANE_BEACON_STREAM": f"{run.upper()}_BEACONS",
            "MEDIAPLANE_BEACON_SUBJECT_ROOT": f"{run}.beacon",
        }
        if self.stack.managed["nats"]:
            admin_password = natsauth.passwords(self.stack)[ADMIN]
            env["MEDIAPLANE_NATS_USER"] = ADMIN
            env["MEDIAPLANE_NATS_PASSWORD"] = admin_password
            for name in (*(service.name for service in SERVICES), DEAD_LETTERS):
                env[f"MEDIAPLANE_{name.upper()}_NATS_USER"] = ADMIN
                env[f"MEDIAPLANE_{name.upper()}_NATS_PASSWORD"] = admin_password
        return env

    def _s3_environment(self) -> dict[str, str]:
        """Who the services are on S3: themselves on our own server (its grants cover this
        platform's buckets), the admin on an external one (its identities are not ours)."""
        if self.stack.managed["seaweedfs"]:
            return s3auth.environment(s3auth.keys(self.stack))
        admin = self.stack.s3_admin
        env = {}
        for identity in S3_IDENTITIES:
            env[access_key_variable(identity.name)] = admin.access_key
            env[secret_key_variable(identity.name)] = admin.secret_key
        return env

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, timeout: float = 300.0) -> None:
        """Boot and wait for the readiness banner (every /health/ready answered)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # A file, not a pipe: supervisord must never find its output closed under it.
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "mediaplane.devstack", "platform", "up"],
                cwd=repo_root(),
                env={**os.environ, **self.env, "MEDIAPLANE_READY_TIMEOUT": str(timeout)},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while "mediaplane is up" not in self.log():
            if self._process.poll() is not None or "not ready after" in self.log():
                raise StackError(f"the platform did not start:\n{self.log()[-8000:]}")
            if time.monotonic() > deadline:
                raise StackError(f"the platform was not up after {timeout:.0f}s")
            time.sleep(0.5)

    def exit_code(self) -> int | None:
        """The `platform up` process's exit code; None while it runs."""
        return None if self._process is None else self._process.poll()

    def pid(self, process: str) -> int:
        """The pid of one running role (or `edge`), as supervisord knows it; 0 if none."""
        done = subprocess.run(
            [binary("supervisorctl"), "-c", str(self.data_dir / "platform" / "supervisord.conf"),
             "pid", process],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        answer = done.stdout.strip()
        return int(answer) if answer.isdigit() else 0

    def stop(self) -> None:
        """Stop every process (supervisord stops its roles), then drop what it made."""
        process = self._process
        if process is not None and process.poll() is None:
            # The wrapper and supervisord share this group; the roles have
            # their own groups and get SIGTERM from supervisord.
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self._remove_data()

    def _remove_data(self) -> None:
        with psycopg.connect(self.stack.pg_url, autocommit=True) as conn:
            for service in SERVICES:
                url = self.env[f"MEDIAPLANE_{service.name.upper()}_DATABASE_URL"]
                name = str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        admin = bucket_admin(self.stack)
        for kind in BUCKET_KINDS:
            admin.empty_and_remove(self.env[f"MEDIAPLANE_{kind.upper()}_BUCKET"])
        if self.nats is None:  # a private NATS goes away with its test
            asyncio.run(self._delete_streams())

    async def _delete_streams(self) -> None:
        nc = await nats.connect(natsauth.admin_url(self.stack))
        try:
            js = nc.jetstream()
            for stream in (self.env["MEDIAPLANE_STREAM"], self.env["MEDIAPLANE_DLQ_STREAM"]):
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await js.delete_stream(stream)
        finally:
            await nc.close()
