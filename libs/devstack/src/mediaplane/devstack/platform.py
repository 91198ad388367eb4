"""The whole platform on this machine: what `just up` runs after `just infra-up`.

`prepare` creates each service's database and runs its `migrate` role, makes
the buckets, keeps a development JWT secret, registers the web UI and the CLI as
OAuth clients of identity and creates a dev admin (its generated password kept in
`<data dir>/platform/admin-password`, owner only), and writes a supervisord
config and an env file under `<data dir>/platform/`. `up` then runs
supervisord (supervisor, docs/adr/0006-a-local-platform-that-heals.md) in the
foreground: every service role and the Caddy edge on one base URL, each
restarted when it exits (at once after a crash, with a growing delay while it
keeps failing to start), their output on the terminal with one prefix per
role. `up` waits for every `/health/ready` and prints how to sign in. Ctrl-C
(or `platform down` from another terminal) stops them all.

`MEDIAPLANE_REPLICAS=N` (`just up --replicas N`) runs every role N times,
each replica on ports of its own (`replica_port`), and the edge balances the
API replicas. The roles are written for that: work is shared through durable
consumers and Postgres locks, never through process memory.

Every address, port and name comes from the variables the services read
themselves (`MEDIAPLANE_GATEWAY_PORT`, `MEDIAPLANE_CATALOG_DATABASE_URL`,
`MEDIAPLANE_STREAM`, `MEDIAPLANE_ORIGINALS_BUCKET`, ...) with the local
defaults, so a second platform (the end-to-end test) runs beside a
developer's on other ports, databases, buckets and streams.
"""

from __future__ import annotations

import getpass
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import psycopg
from psycopg import sql

from mediaplane.bus.permissions import DEAD_LETTERS, password_variable
from mediaplane.devstack import natsauth, s3auth
from mediaplane.devstack.background import background
from mediaplane.devstack.servers import StackError, all_servers, binary, bucket_admin
from mediaplane.devstack.settings import (
    StackSettings,
    database_url,
    repo_root,
)
from mediaplane.storage.permissions import (
    BUCKET_KINDS,
    access_key_variable,
    secret_key_variable,
)
from mediaplane.storage.permissions import SERVICES as S3_IDENTITIES


@dataclass(frozen=True, kw_only=True)
class Service:
    name: str  # database name and env prefix (`MEDIAPLANE_<NAME>_...`)
    module: str  # `python -m <module> <role>`
    roles: tuple[str, ...]
    # Roles of long CPU-bound jobs: background work, but on every core (background.py).
    bulk_roles: tuple[str, ...] = ()


SERVICES = (
    Service(name="gateway", module="mediaplane.upload_gateway", roles=("api", "verifier", "relay")),
    Service(name="catalog", module="mediaplane.catalog", roles=("api", "ingest")),
    Service(
        name="transcoder",
        module="mediaplane.transcoder",
        roles=("worker", "relay"),
        bulk_roles=("worker",),
    ),
    Service(name="thumbnailer", module="mediaplane.thumbnailer", roles=("api", "worker", "relay")),
    Service(name="janitor", module="mediaplane.janitor", roles=("worker", "relay")),
    Service(name="identity", module="mediaplane.identity", roles=("api", "relay")),
    Service(name="analytics", module="mediaplane.analytics", roles=("api", "worker")),
)

# Defaults of the services' own settings: HTTP APIs, and ops ports (the
# worker, verifier or ingest role on the ops port, the relay on the next one;
# identity has no such role, only its relay on ops + 1).
HTTP_PORTS = {
    "gateway": 8081,
    "catalog": 8082,
    "identity": 8083,
    "thumbnailer": 8084,
    "analytics": 8085,
}
OPS_PORTS = {
    "gateway": 9101,
    "catalog": 9111,
    "transcoder": 9121,
    "thumbnailer": 9131,
    "janitor": 9141,
    "identity": 9151,
    "analytics": 9161,
}

# Replica r (0 for the first) of a role listens on `replica_port(port, r)`:
# the APIs 10 ports further per replica (8081, 8091, ...), the ops ports 2
# further (a worker and its relay: 9101-9102, 9103-9104, ...), so up to 5
# replicas fit in the defaults' gaps.
HTTP_REPLICA_STRIDE = 10
OPS_REPLICA_STRIDE = 2
MAX_REPLICAS = 5


def replica_port(port: int, replica: int, *, http: bool) -> int:
    return port + replica * (HTTP_REPLICA_STRIDE if http else OPS_REPLICA_STRIDE)


def replica_name(name: str, replica: int) -> str:
    """`gateway-api` for the first replica, `gateway-api-2` for the second, ..."""
    return name if replica == 0 else f"{name}-{replica + 1}"


# The bus variables are passed through when set; the services default to the
# production names (MEDIA, media, DLQ, dlq) otherwise. So are the services' NATS
# identities: an external NATS (MEDIAPLANE_NATS_URL) brings its own, and a
# test platform on namespaced subjects runs its services as the admin.
_BUS_VARIABLES = (
    "MEDIAPLANE_STREAM",
    "MEDIAPLANE_SUBJECT_ROOT",
    "MEDIAPLANE_DLQ_STREAM",
    "MEDIAPLANE_DLQ_SUBJECT_ROOT",
    "MEDIAPLANE_STREAM_REPLICAS",
    "MEDIAPLANE_BEACON_STREAM",
    "MEDIAPLANE_BEACON_SUBJECT_ROOT",
    "MEDIAPLANE_LOG_LEVEL",
    "MEDIAPLANE_OTEL_EXPORTER",  # `none` turns tracing off
    *(
        f"MEDIAPLANE_{s.name.upper()}_NATS_{part}"
        for s in SERVICES
        for part in ("USER", "PASSWORD")
    ),
)


# Each service's S3 keys are passed through when set: an external S3
# (MEDIAPLANE_S3_ENDPOINT) brings its own identities, and a test platform gets
# the shared server's (`PrivatePlatform`).
_S3_VARIABLES = tuple(
    variable
    for s3 in S3_IDENTITIES
    for variable in (access_key_variable(s3.name), secret_key_variable(s3.name))
)


# The dev admin `prepare` creates, the web UI's OAuth client (public: PKCE) and the
# `mediaplane` command's (public: device flow, refresh, PAT exchange).
DEV_ADMIN_EMAIL = "admin@mediaplane.localhost"
WEB_UI_CLIENT = "web-ui"
WEB_UI_SCOPE = "openid email offline_access files:read files:write uploads:write"
CLI_CLIENT = "cli"
CLI_SCOPE = "openid email offline_access files:read files:write uploads:write"


@dataclass(frozen=True, kw_only=True)
class Process:
    name: str
    command: str
    ready_url: str  # polled until it answers 200
    # What this process gets besides the env file: a replica's own ports.
    environment: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class PlatformSettings:
    stack: StackSettings
    root: Path
    edge_port: int = 8080
    edge_admin_port: int = 28019
    http_ports: Mapping[str, int]
    ops_ports: Mapping[str, int]
    database_urls: Mapping[str, str]
    buckets: Mapping[str, str]  # originals, renditions, thumbnails, variants -> bucket name
    passthrough: Mapping[str, str]
    # Dev sign-in (POST /v1/dev/token, the web UI's user-name box): on unless
    # MEDIAPLANE_DEV_MODE=0, which runs the platform the way production signs in.
    dev_mode: bool = True
    admin_email: str = DEV_ADMIN_EMAIL
    replicas: int = 1  # of every role (MEDIAPLANE_REPLICAS)

    @classmethod
    def from_env(cls) -> PlatformSettings:
        env = os.environ
        stack = StackSettings.from_env()

        def port(name: str, default: int) -> int:
            return int(env.get(name, default))

        return cls(
            stack=stack,
            root=repo_root(),
            edge_port=port("MEDIAPLANE_EDGE_PORT", 8080),
            edge_admin_port=port("MEDIAPLANE_EDGE_ADMIN_PORT", 28019),
            http_ports={
                s: port(f"MEDIAPLANE_{s.upper()}_PORT", default)
                for s, default in HTTP_PORTS.items()
            },
            ops_ports={
                s: port(f"MEDIAPLANE_{s.upper()}_OPS_PORT", default)
                for s, default in OPS_PORTS.items()
            },
            database_urls={
                s.name: env.get(f"MEDIAPLANE_{s.name.upper()}_DATABASE_URL")
                or database_url(stack.pg_url, s.name)
                for s in SERVICES
            },
            buckets={
                kind: env.get(f"MEDIAPLANE_{kind.upper()}_BUCKET", kind) for kind in BUCKET_KINDS
            },
            passthrough={
                name: env[name] for name in (*_BUS_VARIABLES, *_S3_VARIABLES) if name in env
            },
            dev_mode=env.get("MEDIAPLANE_DEV_MODE", "1") != "0",
            admin_email=env.get("MEDIAPLANE_DEV_ADMIN_EMAIL", DEV_ADMIN_EMAIL),
            replicas=replica_count(env.get("MEDIAPLANE_REPLICAS", "1")),
        )

    @property
    def dir(self) -> Path:
        return self.stack.data_dir / "platform"

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.edge_port}"

    @property
    def supervisor_config(self) -> Path:
        return self.dir / "supervisord.conf"

    @property
    def logs_dir(self) -> Path:
        """Each role's own log file (`<role>.log`), besides the terminal."""
        return self.dir / "logs"

    @property
    def env_file(self) -> Path:
        return self.dir / "env"

    @property
    def admin_password_file(self) -> Path:
        return self.dir / "admin-password"

    @property
    def maildir(self) -> Path:
        return self.dir / "maildir"

    @property
    def pid_file(self) -> Path:
        return self.dir / "supervisord.pid"

    def http_port(self, service: str, replica: int) -> int:
        return replica_port(self.http_ports[service], replica, http=True)

    def ops_port(self, service: str, replica: int) -> int:
        return replica_port(self.ops_ports[service], replica, http=False)

    def upstream(self, service: str) -> str:
        """The edge's upstream of one API: every replica's address, space-separated."""
        return " ".join(f"127.0.0.1:{self.http_port(service, r)}" for r in range(self.replicas))

    def ports(self) -> dict[str, int]:
        """Every port the platform listens on, by what listens there."""
        ports = {"edge": self.edge_port, "edge admin": self.edge_admin_port}
        for replica in range(self.replicas):
            for service in SERVICES:
                name = service.name
                if name in self.http_ports:
                    ports[replica_name(f"{name}-api", replica)] = self.http_port(name, replica)
                ops = self.ops_port(name, replica)
                for worker in (r for r in service.roles if r not in ("api", "relay")):
                    ports[replica_name(f"{name}-{worker}", replica)] = ops
                if "relay" in service.roles:
                    ports[replica_name(f"{name}-relay", replica)] = ops + 1
        return ports

    def processes(self) -> list[Process]:
        python = sys.executable
        ports = self.ports()
        found = []
        for replica in range(self.replicas):
            for service in SERVICES:
                prefix = f"MEDIAPLANE_{service.name.upper()}"
                # The first replica's ports are the env file's; others get their own.
                own = (
                    {}
                    if replica == 0
                    else {
                        f"{prefix}_OPS_PORT": str(self.ops_port(service.name, replica)),
                        **(
                            {f"{prefix}_PORT": str(self.http_port(service.name, replica))}
                            if service.name in self.http_ports
                            else {}
                        ),
                    }
                )
                for role in service.roles:
                    name = replica_name(f"{service.name}-{role}", replica)
                    command = [python, "-m", service.module, role]
                    if role != "api":
                        command = background(command, every_core=role in service.bulk_roles)
                    found.append(
                        Process(
                            name=name,
                            command=shlex.join(command),
                            ready_url=f"http://127.0.0.1:{ports[name]}/health/ready",
                            environment=own,
                        )
                    )
        caddyfile = str(self.root / "deploy" / "edge" / "Caddyfile")
        found.append(
            Process(
                name="edge",
                command=shlex.join(
                    [binary("caddy"), "run", "--adapter", "caddyfile", "--config", caddyfile]
                ),
                ready_url=f"{self.edge_url}/",
            )
        )
        return found

    def environment(
        self, jwt_secret: str, playback_secret: str, variant_secret: str
    ) -> dict[str, str]:
        """What every process gets (one env file: the services' variable names never clash).

        Each service connects to our own NATS as itself (`MEDIAPLANE_<NAME>_NATS_PASSWORD`,
        from `natsauth`), with the permissions of `mediaplane.bus.permissions`, and to
        our own S3 as itself (`MEDIAPLANE_<NAME>_S3_ACCESS_KEY`, from `s3auth`), with the
        grants of `mediaplane.storage.permissions`. No process gets the S3 admin's keys.
        """
        stack = self.stack
        identities = (
            {
                f"MEDIAPLANE_{s.name.upper()}_NATS_PASSWORD": natsauth.passwords(stack)[s.name]
                for s in SERVICES
            }
            # The gateway api's admin dead-letter API (in the shared env file, so every
            # local process could read it; in compose and Kubernetes only the api has it).
            | {
                password_variable(DEAD_LETTERS): natsauth.passwords(stack)[DEAD_LETTERS],
            }
            if stack.managed["nats"]
            else {}
        )
        s3_keys = s3auth.environment(s3auth.keys(stack)) if stack.managed["seaweedfs"] else {}
        s3_host = stack.s3_endpoint.split("://", 1)[1]
        env = {
            "MEDIAPLANE_ROOT": str(self.root),
            "MEDIAPLANE_DATA_DIR": str(stack.data_dir),
            "MEDIAPLANE_NATS_URL": stack.nats_url,
            # R3 streams on a local three-node cluster (`just up --cluster`).
            "MEDIAPLANE_STREAM_REPLICAS": str(stack.stream_replicas),
            "MEDIAPLANE_S3_ENDPOINT": stack.s3_endpoint,
            "MEDIAPLANE_S3_REGION": stack.s3_region,
            "MEDIAPLANE_CLAMD_URL": stack.clamd_url,
            # Presigned URLs are signed for the edge, which forwards bucket paths to S3.
            "MEDIAPLANE_S3_PUBLIC_ENDPOINT": self.edge_url,
            # Dev sign-in (POST /v1/dev/token), opted in here only: every process
            # binds 127.0.0.1 (the gateway refuses dev mode on any other bind).
            # The APIs verify both the dev tokens (HS256, this secret) and identity's
            # (its JWKS, read directly from identity), for the one issuer and audience.
            # Dev mode off: no HS256 secret at all, only identity's tokens get in.
            **({"MEDIAPLANE_JWT_SECRET": jwt_secret} if self.dev_mode else {}),
            "MEDIAPLANE_JWKS_URL": (
                f"http://127.0.0.1:{self.http_ports['identity']}/.well-known/jwks.json"
            ),
            "MEDIAPLANE_JWT_ISSUER": self.edge_url,
            "MEDIAPLANE_JWT_AUDIENCE": "mediaplane",
            "MEDIAPLANE_CATALOG_PLAYBACK_SECRET": playback_secret,
            "MEDIAPLANE_THUMBNAILER_VARIANT_SECRET": variant_secret,
            "MEDIAPLANE_DEV_MODE": "1" if self.dev_mode else "0",
            "MEDIAPLANE_EDGE_BIND": "127.0.0.1",
            "MEDIAPLANE_EDGE_PORT": str(self.edge_port),
            "MEDIAPLANE_EDGE_ADMIN_PORT": str(self.edge_admin_port),
            "MEDIAPLANE_EDGE_ADMIN": f"127.0.0.1:{self.edge_admin_port}",
            "MEDIAPLANE_GATEWAY_UPSTREAM": self.upstream("gateway"),
            "MEDIAPLANE_CATALOG_UPSTREAM": self.upstream("catalog"),
            "MEDIAPLANE_IDENTITY_UPSTREAM": self.upstream("identity"),
            "MEDIAPLANE_THUMBNAILER_UPSTREAM": self.upstream("thumbnailer"),
            "MEDIAPLANE_ANALYTICS_UPSTREAM": self.upstream("analytics"),
            # Identity issues its tokens for the one base URL (http: loopback only);
            # its mails (verification links, resets) go to a Maildir to read locally.
            "MEDIAPLANE_IDENTITY_ISSUER": self.edge_url,
            "MEDIAPLANE_IDENTITY_MAILDIR": str(self.maildir),
            # Anyone on this machine may sign up; a signed-out /oauth/authorize goes to the
            # web UI's sign-in page, and mails link to its verify and reset pages.
            "MEDIAPLANE_IDENTITY_REGISTRATION": "open",
            "MEDIAPLANE_IDENTITY_SIGN_IN_URL": f"{self.edge_url}/",
            "MEDIAPLANE_IDENTITY_WEB_URL": self.edge_url,
            "MEDIAPLANE_S3_UPSTREAM": s3_host,
            "MEDIAPLANE_WEB_UI_DIR": str(self.root / "services" / "web-ui" / "dist"),
            # Every process sends its spans to the stack's trace backend, within a second.
            "MEDIAPLANE_OTEL_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": stack.traces_url,
            "OTEL_BSP_SCHEDULE_DELAY": "1000",
            **identities,
            **s3_keys,
            **self.passthrough,
        }
        for service in SERVICES:
            prefix = f"MEDIAPLANE_{service.name.upper()}"
            env[f"{prefix}_HOST"] = "127.0.0.1"
            env[f"{prefix}_DATABASE_URL"] = self.database_urls[service.name]
            env[f"{prefix}_OPS_PORT"] = str(self.ops_ports[service.name])
            if service.name in self.http_ports:
                env[f"{prefix}_PORT"] = str(self.http_ports[service.name])
        for kind, bucket in self.buckets.items():
            env[f"MEDIAPLANE_{kind.upper()}_BUCKET"] = bucket
        return env


def replica_count(value: str) -> int:
    """MEDIAPLANE_REPLICAS, checked: 1 to MAX_REPLICAS."""
    try:
        count = int(value)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_REPLICAS:
        raise StackError(f"MEDIAPLANE_REPLICAS must be 1 to {MAX_REPLICAS}, not {value!r}")
    return count


def _kept_secret(settings: PlatformSettings, name: str) -> str:
    """A random secret made once per data folder and kept, so tokens survive restarts."""
    path = settings.dir / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def jwt_secret(settings: PlatformSettings) -> str:
    """The dev HS256 secret of the API tokens."""
    return _kept_secret(settings, "jwt-secret")


def playback_secret(settings: PlatformSettings) -> str:
    """The catalog's key for HLS playback tokens (never the JWT secret)."""
    return _kept_secret(settings, "playback-secret")


def variant_secret(settings: PlatformSettings) -> str:
    """The thumbnailer's key for signing variant specs (never the JWT secret)."""
    return _kept_secret(settings, "variant-secret")


def _port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _create_databases(settings: PlatformSettings) -> None:
    for url in settings.database_urls.values():
        name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
        admin = database_url(url, "postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if exists.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(name))))
                print(f"database {name}: created")


def _ensure_buckets(settings: PlatformSettings) -> None:
    admin = bucket_admin(settings.stack)
    for bucket in settings.buckets.values():
        if admin.ensure(bucket):
            print(f"bucket {bucket}: created")


def _migrate(settings: PlatformSettings, env: Mapping[str, str]) -> None:
    """Each service's own `migrate` role, all at once (each is a Python start-up)."""

    def run(service: Service) -> tuple[Service, subprocess.CompletedProcess[str]]:
        done = subprocess.run(
            [sys.executable, "-m", service.module, "migrate"],
            env={**os.environ, **env},
            cwd=settings.root,
            capture_output=True,
            text=True,
            check=False,
        )
        return service, done

    with ThreadPoolExecutor(max_workers=len(SERVICES)) as pool:
        results = list(pool.map(run, SERVICES))
    for service, done in results:
        if done.returncode != 0:
            raise StackError(f"{service.name} migrate failed:\n{done.stdout}{done.stderr}")
        # "applied N migrations", without the file names: the platform's log is
        # checked for token-like words, which a name such as identity's
        # `0003_personal_access_tokens.sql` would be (`migrate` alone lists them).
        summary = done.stdout.strip().splitlines()[-1].split(":", 1)[0]
        print(f"{service.name}: {summary}")


def admin_password(settings: PlatformSettings) -> str:
    """The dev admin's password: generated once, kept owner-only, never printed."""
    return _kept_secret(settings, "admin-password")


def _seed_identity(settings: PlatformSettings, env: Mapping[str, str]) -> None:
    """Identity's web UI client (exact redirect URIs), the CLI's client and the dev admin;
    idempotent."""
    url = settings.edge_url
    web_ui = [
        *("admin", "client", "--id", WEB_UI_CLIENT, "--public"),
        *("--redirect-uri", f"{url}/callback", "--post-logout-redirect-uri", f"{url}/"),
        *("--grant", "authorization_code", "--grant", "refresh_token"),
        *("--scope", WEB_UI_SCOPE),
    ]
    cli = [
        *("admin", "client", "--id", CLI_CLIENT, "--public"),
        *("--grant", "urn:ietf:params:oauth:grant-type:device_code", "--grant", "refresh_token"),
        *("--grant", "urn:ietf:params:oauth:grant-type:token-exchange"),
        *("--scope", CLI_SCOPE),
    ]
    admin = ["admin", "create", "--email", settings.admin_email]
    # The password goes in the environment of that one process, never on its command line.
    secret = {"MEDIAPLANE_ADMIN_PASSWORD": admin_password(settings)}

    def run(args: list[str], extra: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mediaplane.identity", *args],
            env={**os.environ, **env, **extra},
            cwd=settings.root,
            capture_output=True,
            text=True,
            check=False,
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        registered = {
            name: pool.submit(run, args, {}) for name, args in (("web UI", web_ui), ("CLI", cli))
        }
        created = pool.submit(run, admin, secret)
    for name, future in registered.items():
        done = future.result()
        if done.returncode != 0:
            raise StackError(
                f"identity: registering the {name} failed:\n{done.stdout}{done.stderr}"
            )
    done = created.result()
    if done.returncode == 0:
        print(f"identity: dev admin {settings.admin_email} created")
    elif "already has an account" not in done.stderr:
        raise StackError(f"identity: creating the dev admin failed:\n{done.stderr}")


def prepare(settings: PlatformSettings) -> None:
    """Everything the processes need before they start; idempotent."""
    down = [s.name for s in all_servers(settings.stack) if not s.ready()]
    if down:
        raise StackError(f"not reachable: {', '.join(down)} (start them with `just infra-up`)")
    busy = [f"{what} ({port})" for what, port in settings.ports().items() if _port_in_use(port)]
    if busy:
        raise StackError(
            f"ports in use: {', '.join(busy)}; is the platform already running? (`just down`)"
        )
    settings.dir.mkdir(parents=True, exist_ok=True)
    env = settings.environment(
        jwt_secret(settings), playback_secret(settings), variant_secret(settings)
    )
    _create_databases(settings)
    _ensure_buckets(settings)
    _migrate(settings, env)
    _seed_identity(settings, env)
    write_run_files(settings, env)


# How supervisord restarts a role (docs/adr/0006): a role that exits after
# STARTSECS up is started again at once; one that dies sooner is retried after
# 1 s, 2 s, 3 s, ... and given up on after START_RETRIES such tries in a row.
STARTSECS = 5
START_RETRIES = 10


def _ini(value: str) -> str:
    """A value for supervisord's config parser, which expands `%(name)s`."""
    return value.replace("%", "%%")


def supervisor_config(settings: PlatformSettings) -> str:
    """supervisord in the foreground: every process, restarted when it exits.

    No secret is in here: the processes inherit supervisord's environment,
    which `up` gives the env file's values. The control socket (for
    `supervisorctl -c <this file>`) is the owner's only.
    """
    here = settings.dir
    processes = settings.processes()
    width = max(len(p.name) for p in processes)
    sections = [
        f"""[supervisord]
nodaemon = true
user = {getpass.getuser()}
directory = {_ini(str(settings.root))}
logfile = {_ini(str(settings.logs_dir / "supervisord.log"))}
logfile_maxbytes = 10MB
logfile_backups = 2
pidfile = {_ini(str(here / "supervisord.run.pid"))}
childlogdir = {_ini(str(settings.logs_dir))}

[unix_http_server]
file = {_ini(str(here / "supervisor.sock"))}
chmod = 0700

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl = unix://{_ini(str(here / "supervisor.sock"))}

[eventlistener:logs]
command = {_ini(shlex.join([sys.executable, "-m", "mediaplane.devstack.logstream", str(width)]))}
events = PROCESS_LOG
buffer_size = 10000
autorestart = true
stdout_logfile = NONE
stderr_logfile = /dev/stdout
stderr_logfile_maxbytes = 0
"""
    ]
    for process in processes:
        log = _ini(str(settings.logs_dir / f"{process.name}.log"))
        pairs = ",".join(f"{k}={v}" for k, v in sorted(process.environment.items()))
        environment = f"environment = {_ini(pairs)}\n" if pairs else ""
        sections.append(
            f"""[program:{process.name}]
command = {_ini(process.command)}
{environment}autorestart = true
startsecs = {STARTSECS}
startretries = {START_RETRIES}
stopasgroup = true
killasgroup = true
stopwaitsecs = 20
redirect_stderr = true
stdout_logfile = {log}
stdout_logfile_maxbytes = 10MB
stdout_logfile_backups = 2
stdout_events_enabled = true
"""
        )
    return "\n".join(sections)


def write_run_files(settings: PlatformSettings, env: Mapping[str, str]) -> None:
    """The supervisord config, and the env file (shell syntax: `just token` sources it)."""
    # The env file holds the JWT and playback secrets and NATS passwords: owner only.
    settings.env_file.touch(mode=0o600)
    settings.env_file.chmod(0o600)
    settings.env_file.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in sorted(env.items())))
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    settings.supervisor_config.write_text(supervisor_config(settings))


def read_env_file(settings: PlatformSettings) -> dict[str, str]:
    """The env file's values (written by `write_run_files`, one shell-quoted value a line)."""
    found = {}
    for line in settings.env_file.read_text().splitlines():
        name, _, quoted = line.partition("=")
        (found[name],) = shlex.split(quoted)
    return found


def up(settings: PlatformSettings, ready_timeout: float) -> int:
    """Prepare, run supervisord until Ctrl-C or `platform down`; say when all are ready."""
    prepare(settings)
    stopping = False

    def stop_with_supervisord(signum: int, frame: FrameType | None) -> None:
        # Ctrl-C reaches supervisord too (same process group) and `platform down`
        # signals it: it stops every role, and this process waits for that.
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop_with_supervisord)
    signal.signal(signal.SIGTERM, stop_with_supervisord)
    process = subprocess.Popen(
        [binary("supervisord"), "--configuration", str(settings.supervisor_config)],
        cwd=settings.root,
        env={**os.environ, **read_env_file(settings)},
    )
    settings.pid_file.write_text(str(process.pid))
    try:
        not_ready = wait_ready(settings, ready_timeout, alive=lambda: process.poll() is None)
        if process.poll() is None and not stopping:
            if not_ready:
                print(
                    f"not ready after {ready_timeout:.0f}s: {', '.join(not_ready)}",
                    file=sys.stderr,
                    flush=True,
                )
            else:
                print(banner(settings), flush=True)
        code = process.wait()
    finally:
        settings.pid_file.unlink(missing_ok=True)
    # 0: supervisord was asked to stop (Ctrl-C here, or `platform down` elsewhere).
    if stopping or code in (0, -signal.SIGINT, -signal.SIGTERM):
        print("mediaplane stopped (the infrastructure keeps running: `just down` stops it)")
        return 0
    return code


def down(settings: PlatformSettings, timeout: float = 30.0) -> bool:
    """Stop a platform started by `up` in another terminal; False if none ran."""
    try:
        pid = int(settings.pid_file.read_text())
    except (FileNotFoundError, ValueError):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        settings.pid_file.unlink(missing_ok=True)
        return False
    deadline = time.monotonic() + timeout
    while settings.pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    return True


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_ready(
    settings: PlatformSettings, timeout: float, alive: Callable[[], bool] = lambda: True
) -> list[str]:
    """Poll every process's readiness URL while `alive()`; returns the names not ready."""
    pending = {p.name: p.ready_url for p in settings.processes()}
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline and alive():
        pending = {name: url for name, url in pending.items() if not _answers(url)}
        if pending:
            time.sleep(1)
    return sorted(pending)


def banner(settings: PlatformSettings) -> str:
    url = settings.edge_url
    lines = [
        f"mediaplane is up: {url}"
        + (f" ({settings.replicas} replicas of every role)" if settings.replicas > 1 else ""),
        f"  web UI     {url}/",
        f"  API        {url}/v1 (files, uploads, tags, events)",
        f"  sign in    open {url}/ as {settings.admin_email} (admin); the password",
        f"             is in {settings.admin_password_file} (owner-only file)",
        "  sign up    any email on the same page: the verification mail is a file in",
        f"             {settings.maildir}/new (open the link it holds)",
    ]
    if settings.dev_mode:
        token_call = (
            f"curl -s -X POST {url}/v1/dev/token -H 'Content-Type: application/json' "
            """-d '{"sub": "alice"}'"""
        )
        lines += [
            "  dev mode   the sign-in page also takes any user name, no password. For the API:",
            f"             {token_call}",
            "             or: just token alice   (add --admin for an admin token)",
        ]
    return "\n".join(
        [
            *lines,
            f"  traces     {settings.stack.traces_url}/ (an API response's `traceresponse`",
            "             header holds its trace id: an upload's trace is its `complete`)",
            "  logs       below, one prefix per process; each also in "
            f"{settings.logs_dir}/<process>.log",
            "  healing    a process that exits is started again (supervisord: "
            f"supervisorctl -c {settings.supervisor_config} status)",
            "  stop       Ctrl-C (`just down` also stops the infrastructure)",
        ]
    )
