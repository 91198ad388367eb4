"""Where the local stack lives and how to reach it.

Every address can be pointed at an external server with an environment
variable (compose and production do that); the defaults are the project's own
pinned servers on project ports, so they never clash with a system Postgres on
5432 or a system NATS on 4222.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from mediaplane.storage import StorageSettings
from mediaplane.storage.permissions import Keys


def repo_root() -> Path:
    """The checkout: `MEDIAPLANE_ROOT`, else the nearest folder up with the justfile."""
    env = os.environ.get("MEDIAPLANE_ROOT")
    if env:
        return Path(env)
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "justfile").exists() and (candidate / "contracts").is_dir():
            return candidate
    return here


CLUSTER_SIZE = 3  # NATS nodes in cluster mode: R3 streams survive one node's loss


@dataclass(frozen=True, kw_only=True)
class NatsNode:
    """One nats-server of the local stack: client, monitoring and cluster route ports."""

    index: int
    port: int
    monitor_port: int
    route_port: int

    @property
    def name(self) -> str:
        return f"nats-{self.index}"


@dataclass(frozen=True, kw_only=True)
class StackSettings:
    """Addresses and local ports of the infrastructure."""

    data_dir: Path
    pg_port: int = 25432
    nats_port: int = 24222
    nats_monitor_port: int = 28222
    # Cluster mode: CLUSTER_SIZE nodes on consecutive client, monitor and route ports.
    nats_cluster: bool = False
    nats_route_port: int = 26222
    s3_port: int = 28333
    weed_base_port: int = 29330
    # The trace backend: OTLP/HTTP in, UI and query API on the same port (its gRPC
    # receiver, unused, needs a port of its own).
    traces_port: int = 26006
    traces_grpc_port: int = 26007
    traces_url_override: str | None = None
    clamd_port: int = 23310
    pg_url_override: str | None = None
    nats_url_override: str | None = None
    s3_endpoint_override: str | None = None
    clamd_url_override: str | None = None
    s3_admin: Keys = field(
        default_factory=lambda: Keys(access_key="mediaplane", secret_key="mediaplane-dev-secret")
    )
    s3_readonly: Keys = field(
        default_factory=lambda: Keys(access_key="readonly", secret_key="readonly-dev-secret")
    )
    s3_region: str = "us-east-1"

    @property
    def pg_url(self) -> str:
        """Admin URL of the server (database `postgres`)."""
        return self.pg_url_override or f"postgresql://postgres@127.0.0.1:{self.pg_port}/postgres"

    @property
    def nats_nodes(self) -> list[NatsNode]:
        """The managed nats-servers: one, or CLUSTER_SIZE in cluster mode."""
        return [
            NatsNode(
                index=i,
                port=self.nats_port + i,
                monitor_port=self.nats_monitor_port + i,
                route_port=self.nats_route_port + i,
            )
            for i in range(CLUSTER_SIZE if self.nats_cluster else 1)
        ]

    @property
    def nats_url(self) -> str:
        """The server, or every node of the cluster, comma-separated (`BusSettings.servers`)."""
        return self.nats_url_override or ",".join(
            f"nats://127.0.0.1:{node.port}" for node in self.nats_nodes
        )

    @property
    def stream_replicas(self) -> int:
        """How many servers keep each stream: all three of a local cluster."""
        return CLUSTER_SIZE if self.nats_cluster else 1

    @property
    def s3_endpoint(self) -> str:
        return self.s3_endpoint_override or f"http://127.0.0.1:{self.s3_port}"

    @property
    def traces_url(self) -> str:
        return self.traces_url_override or f"http://127.0.0.1:{self.traces_port}"

    @property
    def clamd_url(self) -> str:
        return self.clamd_url_override or f"tcp://127.0.0.1:{self.clamd_port}"

    def storage_settings(self) -> StorageSettings:
        """What a service's object store needs to reach this stack's S3 as its admin."""
        return StorageSettings.from_urls(
            self.s3_endpoint,
            access_key=self.s3_admin.access_key,
            secret_key=self.s3_admin.secret_key,
            region=self.s3_region,
        )

    @property
    def managed(self) -> dict[str, bool]:
        """Which servers this stack starts itself (the rest are external)."""
        return {
            "postgres": self.pg_url_override is None,
            "nats": self.nats_url_override is None,
            "seaweedfs": self.s3_endpoint_override is None,
            "traces": self.traces_url_override is None,
            "clamd": self.clamd_url_override is None,
        }

    @classmethod
    def from_env(cls) -> StackSettings:
        env = os.environ
        data_dir = Path(env.get("MEDIAPLANE_DATA_DIR", str(repo_root() / ".local")))
        admin = Keys(
            access_key=env.get("MEDIAPLANE_S3_ACCESS_KEY", "mediaplane"),
            secret_key=env.get("MEDIAPLANE_S3_SECRET_KEY", "mediaplane-dev-secret"),
        )
        return cls(
            data_dir=data_dir,
            # A second managed NATS beside the usual one (e.g. a branch that changes how
            # NATS runs); Postgres, clamd and the traces have fixed ports.
            nats_port=int(env.get("MEDIAPLANE_NATS_PORT", "24222")),
            nats_monitor_port=int(env.get("MEDIAPLANE_NATS_MONITOR_PORT", "28222")),
            nats_cluster=env.get("MEDIAPLANE_NATS_CLUSTER", "") == "1",
            nats_route_port=int(env.get("MEDIAPLANE_NATS_ROUTE_PORT", "26222")),
            # Likewise a second managed SeaweedFS (a branch that changes its identities):
            # S3 on this port, its master, volume, filer and admin on the 15 from the base.
            s3_port=int(env.get("MEDIAPLANE_S3_PORT", "28333")),
            weed_base_port=int(env.get("MEDIAPLANE_WEED_BASE_PORT", "29330")),
            pg_url_override=env.get("MEDIAPLANE_PG_URL"),
            nats_url_override=env.get("MEDIAPLANE_NATS_URL"),
            s3_endpoint_override=env.get("MEDIAPLANE_S3_ENDPOINT"),
            traces_url_override=env.get("MEDIAPLANE_TRACES_URL"),
            clamd_url_override=env.get("MEDIAPLANE_CLAMD_URL"),
            s3_admin=admin,
            s3_region=env.get("MEDIAPLANE_S3_REGION", "us-east-1"),
        )


def database_url(admin_url: str, name: str) -> str:
    """The URL of database `name` on the server that `admin_url` points at."""
    info = psycopg.conninfo.conninfo_to_dict(admin_url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})
