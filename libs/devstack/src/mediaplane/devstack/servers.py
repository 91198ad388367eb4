"""The pinned local servers: Postgres (Debian binaries), NATS, SeaweedFS, clamd and the trace
backend.

Each server is started detached (its own session, so Ctrl-C in a terminal
that ran `just infra-up` does not kill it), writes a pid file and a log under
the data folder, and is only reported up once a real readiness check passes.
Starting a server that is already up does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import psycopg

from mediaplane.bus.permissions import render_auth_config
from mediaplane.devstack import natsauth, s3auth
from mediaplane.devstack.background import TRACES_NICENESS, background, nice_session
from mediaplane.devstack.settings import NatsNode, StackSettings, repo_root
from mediaplane.storage import BucketAdmin, StorageError
from mediaplane.storage.permissions import seaweedfs_config, seaweedfs_identity


class StackError(RuntimeError):
    """A server could not be started or did not become ready."""


def binary(name: str) -> str:
    """Find a binary: the venv's bin folder first (pinned PyPI binaries), then PATH."""
    venv_bin = Path(sys.executable).parent / name
    if venv_bin.exists():
        return str(venv_bin)
    found = shutil.which(name)
    if not found:
        raise StackError(f"{name} not found; run `just setup`")
    return found


def bucket_admin(settings: StackSettings) -> BucketAdmin:
    """Bucket housekeeping on the stack's S3 server, as its admin (through libs/storage)."""
    return BucketAdmin(settings.storage_settings())


def _pg_bindir() -> Path:
    root = Path("/usr/lib/postgresql")
    versions = sorted(root.glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise StackError("Postgres binaries not found; `apt-get install postgresql-15`")
    preferred = [p for p in versions if p.parent.parent.name == "15"]
    return (preferred or versions)[-1].parent


def _postgres_can_enter(folder: Path) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(
        ["runuser", "-u", "postgres", "--", "test", "-x", str(folder)],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def _wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # readiness probes fail in many ways while a server boots
            last_error = exc
        time.sleep(0.1)
    raise StackError(f"{what} not ready after {timeout:.0f}s: {last_error!r}")


def _pid_alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    with contextlib.suppress(ChildProcessError):  # our own child: reap it if it died
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return None
    return pid


def _spawn(
    argv: list[str],
    log: Path,
    pid_file: Path,
    cwd: Path,
    env: dict[str, str] | None = None,
    *,
    niceness: int = 0,
) -> None:
    """`argv` in a session of its own (it outlives this process); `niceness` for that
    session as a scheduling group too, since the process's own counts only inside it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=None if env is None else {**os.environ, **env},
            start_new_session=True,
        )
    if niceness:
        nice_session(proc.pid, niceness)
    pid_file.write_text(str(proc.pid))


def _terminate(pid_file: Path, timeout: float = 15.0) -> bool:
    pid = _pid_alive(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(pid_file):
        # A server this process started (a test's own) must be reaped, or it
        # stays a zombie that still answers kill(pid, 0).
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    if _pid_alive(pid_file):
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True


@dataclass
class Postgres:
    settings: StackSettings
    name: str = "postgres"

    @functools.cached_property
    def dir(self) -> Path:
        wanted = self.settings.data_dir / "postgres"
        if os.geteuid() != 0 or _postgres_can_enter(self.settings.data_dir):
            return wanted
        # Postgres refuses to run as root, and the `postgres` user cannot reach a
        # checkout under a private folder (e.g. /root): keep its data elsewhere.
        digest = hashlib.sha1(str(wanted).encode()).hexdigest()[:12]
        return Path("/var/lib/mediaplane-devstack") / digest / "postgres"

    def ready(self) -> bool:
        try:
            with psycopg.connect(self.settings.pg_url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    def _as_postgres(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv

    def start(self) -> None:
        if self.ready():
            return
        bindir = _pg_bindir()
        data = self.dir / "data"
        self.dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        if not (data / "PG_VERSION").exists():
            subprocess.run(
                self._as_postgres(
                    [
                        str(bindir / "initdb"),
                        "-D",
                        str(data),
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "-E",
                        "UTF8",
                        "--no-instructions",
                    ]
                ),
                check=True,
                capture_output=True,
            )
        options = [
            f"-p {self.settings.pg_port}",
            "-c listen_addresses=127.0.0.1",
            f"-k {self.dir}",
            "-c max_connections=400",
            "-c shared_buffers=256MB",
        ]
        if os.environ.get("MEDIAPLANE_PG_FAST") == "1":
            # CI and throwaway test stacks only: a crash may lose the last commits.
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        subprocess.run(
            self._as_postgres(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(self.dir / "postgres.log"),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    " ".join(options),
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        _wait_until(self.ready, 30, "postgres")

    def stop(self) -> bool:
        data = self.dir / "data"
        if not (data / "postmaster.pid").exists():
            return False
        subprocess.run(
            self._as_postgres(
                [str(_pg_bindir() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
            ),
            check=False,
            capture_output=True,
        )
        return True


async def _nats_probe(url: str) -> None:
    """Connect to `url` (raises if refused) and ask JetStream for the account's info."""

    async def quiet(_: Exception) -> None:
        return None

    nc = await nats.connect(
        [server.strip() for server in url.split(",")],
        connect_timeout=1,
        allow_reconnect=False,
        error_cb=quiet,
        max_reconnect_attempts=1,
    )
    try:
        await nc.jetstream().account_info()
    finally:
        await nc.close()


def nats_auth_argv(config: Path) -> list[str]:
    """`-c <config>` with the `authorization` block of `mediaplane.bus.permissions`."""
    config.write_text(render_auth_config())
    return ["-c", str(config)]


def _healthy(node: NatsNode) -> bool:
    """The node's monitoring `/healthz`: up, and (clustered) JetStream caught up with a leader."""
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{node.monitor_port}/healthz", timeout=2
        ) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Nats:
    """Our NATS: one server, or in cluster mode (`MEDIAPLANE_NATS_CLUSTER=1`, `--cluster`)
    CLUSTER_SIZE servers routed to each other, each with its own JetStream store."""

    settings: StackSettings
    name: str = "nats"

    @property
    def dir(self) -> Path:
        return self.settings.data_dir / "nats"

    def node_dir(self, node: NatsNode) -> Path:
        """The single server keeps the folder it always had; cluster nodes have their own."""
        return self.dir / "cluster" / node.name if self.settings.nats_cluster else self.dir

    def pid_file(self, node: NatsNode) -> Path:
        return self.node_dir(node) / "nats.pid"

    def _other_mode_running(self) -> bool:
        """Is the other mode's server (single, or a cluster node) running on this data folder?"""
        other = dataclasses.replace(self.settings, nats_cluster=not self.settings.nats_cluster)
        theirs = Nats(other)
        return any(_pid_alive(theirs.pid_file(node)) for node in other.nats_nodes)

    def ready(self) -> bool:
        """JetStream answers the admin, AND (for our own server) refuses anonymous clients.

        A cluster is ready when every node's `/healthz` is (JetStream has its leader).
        """
        url = self.settings.nats_url
        host, port = url.split(",")[0].rsplit("//", 1)[-1].rsplit("@", 1)[-1].rsplit(":", 1)
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
        except OSError:
            return False
        clustered = self.settings.managed["nats"] and self.settings.nats_cluster
        if clustered and not all(_healthy(node) for node in self.settings.nats_nodes):
            return False
        try:
            asyncio.run(asyncio.wait_for(_nats_probe(natsauth.admin_url(self.settings)), 5))
        except Exception:
            return False
        if self.settings.managed["nats"] and _accepts(url):
            raise StackError(
                f"NATS on {url} accepts clients without credentials: it was started before "
                f"the bus had identities; stop it (kill the pid in {self.dir / 'nats.pid'}, "
                "or `just down`) and start it again (`just infra-up`)"
            )
        return True

    def node_config(self, node: NatsNode) -> Path:
        """A cluster node's config: the identities, and its routes with their login.

        In a file of the owner's only, not on the command line, where any local
        user could read the route password.
        """
        password = natsauth.passwords(self.settings)[natsauth.ROUTE]
        routes = ", ".join(
            f'"nats://{natsauth.ROUTE}:{password}@127.0.0.1:{other.route_port}"'
            for other in self.settings.nats_nodes
            if other != node
        )
        config = self.node_dir(node) / "nats.conf"
        config.touch(mode=0o600)
        config.chmod(0o600)
        config.write_text(
            render_auth_config()
            + f"""
cluster {{
  name: mediaplane-dev
  listen: "127.0.0.1:{node.route_port}"
  authorization {{ user: {natsauth.ROUTE}, password: "{password}" }}
  routes: [{routes}]
}}
"""
        )
        return config

    def node_argv(self, node: NatsNode) -> list[str]:
        # auth.conf: the rendering `apply_identities` compares with the table.
        auth = nats_auth_argv(self.dir / "auth.conf")
        config = ["-c", str(self.node_config(node))] if self.settings.nats_cluster else auth
        argv = [
            binary("nats-server"),
            *config,
            "-js",
            "-sd",
            str(self.node_dir(node) / "jetstream"),
            "-a",
            "127.0.0.1",
            "-p",
            str(node.port),
            "-m",
            str(node.monitor_port),
        ]
        if not self.settings.nats_cluster:
            return [*argv, "-n", "mediaplane-dev"]
        # JetStream in a cluster needs a unique name per node.
        return [*argv, "-n", f"mediaplane-dev-{node.index}"]

    def start_node(self, node: NatsNode) -> None:
        """Start one node if its process is not running (does not wait for readiness)."""
        if _pid_alive(self.pid_file(node)):
            return
        folder = self.node_dir(node)
        folder.mkdir(parents=True, exist_ok=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        env = natsauth.server_environment(natsauth.passwords(self.settings))
        _spawn(self.node_argv(node), folder / "nats.log", self.pid_file(node), folder, env)

    def stop_node(self, node: NatsNode, *, kill: bool = False) -> bool:
        """Stop one node (SIGKILL with `kill`: a crash); False if it was not running."""
        pid_file = self.pid_file(node)
        pid = _pid_alive(pid_file)
        if kill and pid is not None:
            os.kill(pid, signal.SIGKILL)
            while _pid_alive(pid_file):
                time.sleep(0.05)
            pid_file.unlink(missing_ok=True)
            return True
        return _terminate(pid_file)

    def start(self) -> None:
        if self.ready():
            return
        if self.settings.managed["nats"] and self._other_mode_running():
            mode = "a single server" if self.settings.nats_cluster else "a cluster"
            raise StackError(
                f"NATS already runs as {mode} on {self.settings.data_dir}: "
                "stop it first (`just down`)"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        for node in self.settings.nats_nodes:
            self.start_node(node)
        _wait_until(self.ready, 60 if self.settings.nats_cluster else 20, "nats")

    def stop(self) -> bool:
        """Stop our servers, single or clustered, whichever runs."""
        stopped = False
        for cluster in (False, True):
            mode = dataclasses.replace(self.settings, nats_cluster=cluster)
            theirs = Nats(mode)
            for node in mode.nats_nodes:
                stopped = theirs.stop_node(node) or stopped
        return stopped

    def apply_identities(self) -> bool:
        """Restart our running server(s) if started from another permission table.

        A service added to `mediaplane.bus.permissions` later (with its new
        password variable) needs the new config AND the new variable in
        nats-server's environment, which a `--signal reload` cannot give: so
        only NATS restarts, keeping its JetStream data. `just infra-up` calls
        this; the test fixtures never restart a shared server. True if restarted.
        """
        config = self.dir / "auth.conf"
        nodes = self.settings.nats_nodes
        if not self.settings.managed["nats"] or not any(
            _pid_alive(self.pid_file(node)) for node in nodes
        ):
            return False
        if config.exists() and config.read_text() == render_auth_config():
            return False
        self.stop()
        self.start()
        return True


def _accepts(url: str) -> bool:
    """Does the server at `url` let a client in without an identity?"""
    try:
        asyncio.run(asyncio.wait_for(_nats_probe(url), 5))
    except Exception:
        return False
    return True


@dataclass
class SeaweedFS:
    settings: StackSettings
    name: str = "seaweedfs"

    @property
    def dir(self) -> Path:
        return self.settings.data_dir / "seaweedfs"

    @property
    def config_file(self) -> Path:
        return self.dir / "s3.json"

    def s3_config(self) -> dict[str, Any]:
        """The admin, every service with the grants of `mediaplane.storage.permissions`
        (keys from `s3auth`), and a read-only identity for tests."""
        config = seaweedfs_config(self.settings.s3_admin, s3auth.keys(self.settings))
        config["identities"].append(
            seaweedfs_identity("readonly", self.settings.s3_readonly, ["Read", "List"])
        )
        return config

    def rendered_config(self) -> str:
        return json.dumps(self.s3_config(), indent=2)

    def ready(self) -> bool:
        """A signed write works AND an anonymous request is refused."""
        s = self.settings
        admin = bucket_admin(s)
        bucket = "devstack-health"
        try:
            admin.ensure(bucket)
            admin.put(bucket, "probe", b"ok")
        except StorageError:
            return False
        try:
            urllib.request.urlopen(f"{s.s3_endpoint}/{bucket}/probe", timeout=2)
        except urllib.error.HTTPError as exc:
            if exc.code == 403:
                return True
            raise StackError(f"anonymous S3 read answered {exc.code}, expected 403") from exc
        raise StackError("anonymous S3 read succeeded: the S3 server does not check signatures")

    def start(self) -> None:
        if self.ready():
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        config = self.config_file
        # The keys are in here: the owner's only.
        config.touch(mode=0o600)
        config.chmod(0o600)
        config.write_text(self.rendered_config())
        b = self.settings.weed_base_port
        argv = [
            binary("weed"),
            "mini",
            f"-dir={self.dir / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={b}",
            f"-master.port.grpc={b + 10}",
            f"-volume.port={b + 1}",
            f"-volume.port.grpc={b + 11}",
            f"-filer.port={b + 2}",
            f"-filer.port.grpc={b + 12}",
            f"-s3.port={self.settings.s3_port}",
            f"-s3.port.grpc={b + 13}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            f"-admin.port={b + 3}",
            f"-admin.port.grpc={b + 14}",
            f"-admin.dataDir={self.dir / 'admin'}",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=64",
            # every bucket takes volumes; test runs create many short-lived buckets
            "-volume.max=300",
            f"-s3.config={config}",
        ]
        (self.dir / "data").mkdir(exist_ok=True)
        (self.dir / "admin").mkdir(exist_ok=True)
        _spawn(argv, self.dir / "seaweedfs.log", self.dir / "seaweedfs.pid", self.dir)
        _wait_until(self.ready, 60, "seaweedfs")

    def stop(self) -> bool:
        return _terminate(self.dir / "seaweedfs.pid")

    def apply_identities(self) -> bool:
        """Restart our running server if started with other identities or grants.

        SeaweedFS reads `-s3.config` when it starts, so a change of the table in
        `mediaplane.storage.permissions` (or a service's new keys) needs a restart;
        the data stays. `just infra-up` calls this; the test fixtures never restart
        a shared server. True if restarted.
        """
        if not self.settings.managed["seaweedfs"] or not _pid_alive(self.dir / "seaweedfs.pid"):
            return False
        config = self.config_file
        if config.exists() and config.read_text() == self.rendered_config():
            return False
        self.stop()
        self.start()
        return True


def trace_backend_binary() -> Path:
    """Phoenix, from its own locked environment (`tools/trace-backend`, `just setup`): its
    ~150 packages stay out of the platform's environment and cannot constrain it."""
    return repo_root() / "tools" / "trace-backend" / ".venv" / "bin" / "phoenix"


@dataclass
class Traces:
    """The trace backend (Arize Phoenix): OTLP/HTTP on `/v1/traces`, a UI and a query API
    (`/v1/projects/default/spans?trace_id=...`) on one port, spans in SQLite."""

    settings: StackSettings
    name: str = "traces"

    @property
    def dir(self) -> Path:
        return self.settings.data_dir / "traces"

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.settings.traces_url}/healthz", timeout=2) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def start(self) -> None:
        if self.ready():
            return
        phoenix = trace_backend_binary()
        if not phoenix.exists():
            raise StackError(f"{phoenix} missing; run `just setup`")
        self.dir.mkdir(parents=True, exist_ok=True)
        env = {
            "PHOENIX_WORKING_DIR": str(self.dir),
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(self.settings.traces_port),
            "PHOENIX_GRPC_PORT": str(self.settings.traces_grpc_port),
            # Local only: no usage reports, no fonts or scripts from elsewhere.
            "PHOENIX_TELEMETRY_ENABLED": "false",
            "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
            # Traces are for looking at now: a week is plenty, and keeps the file small.
            "PHOENIX_DEFAULT_RETENTION_POLICY_DAYS": "7",
        }
        # Background work, below the pipeline roles: it stores a span in ~5 ms of CPU, in
        # bursts as the exporters' batches arrive, and must not delay a request or the
        # pipeline it traces.
        argv = background([str(phoenix), "serve"], niceness=TRACES_NICENESS)
        _spawn(
            argv,
            self.dir / "traces.log",
            self.dir / "traces.pid",
            self.dir,
            env,
            niceness=TRACES_NICENESS,
        )
        # Its first start creates its database: minutes on a busy 2-core machine.
        _wait_until(self.ready, 300, "traces")

    def stop(self) -> bool:
        return _terminate(self.dir / "traces.pid")


# The signature databases the local clamd loads: the repo's own (EICAR and a test
# marker). There is no freshclam here: production images bring the official ones.
SIGNATURES = Path("deploy") / "clamav"
# Streams past this many bytes are refused by clamd ("INSTREAM size limit exceeded");
# the same bound applies to scanning (MaxFileSize/MaxScanSize), so nothing shorter
# is passed unscanned (AlertExceedsMax flags it instead).
CLAMD_STREAM_MAX = 1000 * 1024 * 1024


def clamd_address(url: str) -> tuple[str, int]:
    """`tcp://host:port` -> (host, port)."""
    scheme, _, rest = url.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme != "tcp" or not host or not port.isdigit():
        raise StackError(f"clamd URL must be tcp://host:port, not {url!r}")
    return host, int(port)


def clamd_command(url: str, command: bytes, timeout: float = 2.0) -> bytes:
    """Send one clamd command (`PING`, `RELOAD`, ...) and return its reply."""
    with socket.create_connection(clamd_address(url), timeout=timeout) as sock:
        sock.sendall(b"z" + command + b"\0")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    return reply.rstrip(b"\0")


def clamd_config(home: Path, port: int, stream_max: int) -> str:
    """clamd.conf for a project clamd: loopback TCP only, its own database and temp folders."""
    return "\n".join(
        [
            f"TCPSocket {port}",
            "TCPAddr 127.0.0.1",
            "Foreground yes",
            f"DatabaseDirectory {home / 'db'}",
            f"TemporaryDirectory {home / 'tmp'}",
            "LogTime yes",
            "MaxThreads 4",
            f"StreamMaxLength {stream_max}",
            f"MaxFileSize {stream_max}",
            f"MaxScanSize {stream_max}",
            # What clamd did not read whole is reported as found, never as OK.
            "AlertExceedsMax yes",
            # The database is the repo's: nothing to self-check on a timer.
            "SelfCheck 0",
            "",
        ]
    )


@dataclass
class Clamd:
    """A clamd of the project's (Debian's clamav-daemon binary) on a project port.

    It loads only the repo's signature database (`deploy/clamav`): the local
    stack has no freshclam. `home` and `port` default to the stack's; tests
    that stop clamd or need a small `stream_max` run one of their own.
    """

    settings: StackSettings
    name: str = "clamd"
    home: Path | None = None
    port: int | None = None
    stream_max: int = CLAMD_STREAM_MAX

    @property
    def dir(self) -> Path:
        return self.home or self.settings.data_dir / "clamav"

    @property
    def url(self) -> str:
        if self.port is None:
            return self.settings.clamd_url
        return f"tcp://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        try:
            return clamd_command(self.url, b"PING") == b"PONG"
        except OSError:
            return False

    def _install_signatures(self) -> bool:
        """Copy the repo's databases into clamd's folder; True when any changed."""
        db = self.dir / "db"
        db.mkdir(parents=True, exist_ok=True)
        changed = False
        for source in sorted((repo_root() / SIGNATURES).glob("*.[nh]db")):
            target = db / source.name
            if not target.exists() or target.read_bytes() != source.read_bytes():
                shutil.copyfile(source, target)
                changed = True
        return changed

    def start(self) -> None:
        if self.ready():
            if self._install_signatures():
                clamd_command(self.url, b"RELOAD")
            return
        self._install_signatures()
        (self.dir / "tmp").mkdir(exist_ok=True)
        _, port = clamd_address(self.url)
        config = self.dir / "clamd.conf"
        config.write_text(clamd_config(self.dir, port, self.stream_max))
        _spawn(
            [_clamd_binary(), "-c", str(config)],
            self.dir / "clamd.log",
            self.dir / "clamd.pid",
            self.dir,
        )
        _wait_until(self.ready, 60, "clamd")

    def stop(self) -> bool:
        return _terminate(self.dir / "clamd.pid")


def _clamd_binary() -> str:
    # /usr/sbin is not on every user's PATH.
    found = shutil.which("clamd") or (
        "/usr/sbin/clamd" if Path("/usr/sbin/clamd").exists() else None
    )
    if not found:
        raise StackError(
            "clamd not found; run `just setup` (Debian: apt-get install clamav-daemon)"
        )
    return found


Server = Postgres | Nats | SeaweedFS | Clamd | Traces


def servers(settings: StackSettings) -> list[Server]:
    """The servers this stack manages itself (external ones are only probed)."""
    managed = settings.managed
    return [s for s in all_servers(settings) if managed[s.name]]


def all_servers(settings: StackSettings) -> list[Server]:
    return [
        Postgres(settings),
        Nats(settings),
        SeaweedFS(settings),
        Clamd(settings),
        Traces(settings),
    ]
