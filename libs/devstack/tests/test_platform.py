"""The local platform's settings, supervisord config and env file (what `just up` runs)."""

from __future__ import annotations

import configparser
import os
import socket
import subprocess
from pathlib import Path

import psycopg
import pytest

from mediaplane.devstack import logstream, natsauth, platform, s3auth
from mediaplane.devstack.background import BACKGROUND_NICENESS, background_cores
from mediaplane.devstack.natsauth import admin_url
from mediaplane.devstack.servers import StackError
from mediaplane.devstack.settings import StackSettings
from mediaplane.storage.permissions import SERVICES as S3


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No MEDIAPLANE_* variables from the caller's shell, a data folder of the test's own."""
    for name in list(os.environ):
        if name.startswith("MEDIAPLANE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MEDIAPLANE_DATA_DIR", str(tmp_path))
    return tmp_path


def test_defaults_are_the_services_own(isolated_env: Path) -> None:
    settings = platform.PlatformSettings.from_env()
    assert settings.edge_url == "http://127.0.0.1:8080"
    assert settings.ports() == {
        "edge": 8080,
        "edge admin": 28019,
        "gateway-api": 8081,
        "gateway-verifier": 9101,
        "gateway-relay": 9102,
        "catalog-api": 8082,
        "catalog-ingest": 9111,
        "transcoder-worker": 9121,
        "transcoder-relay": 9122,
        "thumbnailer-api": 8084,
        "thumbnailer-worker": 9131,
        "thumbnailer-relay": 9132,
        "janitor-worker": 9141,
        "janitor-relay": 9142,
        "identity-api": 8083,
        "identity-relay": 9152,
        "analytics-api": 8085,
        "analytics-worker": 9161,
    }
    for service in platform.SERVICES:
        url = settings.database_urls[service.name]
        assert psycopg.conninfo.conninfo_to_dict(url)["dbname"] == service.name
    assert dict(settings.buckets) == {
        "originals": "originals",
        "renditions": "renditions",
        "thumbnails": "thumbnails",
        "variants": "variants",
    }
    assert settings.dir == isolated_env / "platform"


def test_the_services_variables_override_ports_names_and_streams(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIAPLANE_EDGE_PORT", "18080")
    monkeypatch.setenv("MEDIAPLANE_JANITOR_OPS_PORT", "18141")
    monkeypatch.setenv("MEDIAPLANE_CATALOG_DATABASE_URL", "postgresql://x@db/other_catalog")
    monkeypatch.setenv("MEDIAPLANE_THUMBNAILS_BUCKET", "my-thumbs")
    monkeypatch.setenv("MEDIAPLANE_STREAM", "MINE_MEDIA")
    settings = platform.PlatformSettings.from_env()
    env = settings.environment(
        "secret-for-this-test-0123456789abcdef",
        "playback-secret-for-this-test-0123456789",
        "variant-secret-for-this-test-0123456789",
    )
    assert settings.ports()["janitor-relay"] == 18142
    assert env["MEDIAPLANE_S3_PUBLIC_ENDPOINT"] == "http://127.0.0.1:18080"
    assert env["MEDIAPLANE_CATALOG_DATABASE_URL"] == "postgresql://x@db/other_catalog"
    assert env["MEDIAPLANE_THUMBNAILS_BUCKET"] == "my-thumbs"
    assert env["MEDIAPLANE_STREAM"] == "MINE_MEDIA"
    assert env["MEDIAPLANE_DEV_MODE"] == "1"
    # Identity issues tokens for the edge's base URL and mails into the data folder.
    assert env["MEDIAPLANE_IDENTITY_ISSUER"] == "http://127.0.0.1:18080"
    assert env["MEDIAPLANE_IDENTITY_UPSTREAM"] == "127.0.0.1:8083"
    assert env["MEDIAPLANE_IDENTITY_MAILDIR"] == str(isolated_env / "platform" / "maildir")
    # Dev mode only on loopback: a shell's MEDIAPLANE_*_HOST does not leak in.
    monkeypatch.setenv("MEDIAPLANE_GATEWAY_HOST", "0.0.0.0")
    env = platform.PlatformSettings.from_env().environment(
        "secret-for-this-test-0123456789abcdef",
        "playback-secret-for-this-test-0123456789",
        "variant-secret-for-this-test-0123456789",
    )
    binds = {name: value for name, value in env.items() if name.endswith(("_HOST", "_BIND"))}
    assert set(binds.values()) == {"127.0.0.1"}
    assert {"MEDIAPLANE_GATEWAY_HOST", "MEDIAPLANE_CATALOG_HOST", "MEDIAPLANE_EDGE_BIND"} <= set(
        binds
    )
    assert env["MEDIAPLANE_JANITOR_OPS_PORT"] == "18141"


def test_each_service_gets_its_own_nats_password_and_nobody_the_admins(isolated_env: Path) -> None:
    settings = platform.PlatformSettings.from_env()
    env = settings.environment(
        "secret-for-this-test-0123456789abcdef", "playback-secret", "variant-secret"
    )
    known = natsauth.passwords(settings.stack)
    assert (isolated_env / "nats" / "passwords.json").stat().st_mode & 0o077 == 0
    assert {k: v for k, v in env.items() if "NATS_PASSWORD" in k} == {
        **{f"MEDIAPLANE_{s.name.upper()}_NATS_PASSWORD": known[s.name] for s in platform.SERVICES},
        # The gateway api's admin dead-letter API (docs/adr/0007-the-dead-letter-api.md).
        "MEDIAPLANE_DEADLETTERS_NATS_PASSWORD": known["deadletters"],
    }
    assert known["admin"] not in env.values()
    assert natsauth.passwords(settings.stack) == known  # kept across restarts


def test_an_external_nats_brings_the_identities_from_the_environment(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIAPLANE_NATS_URL", "nats://nats.example:4222")
    monkeypatch.setenv("MEDIAPLANE_GATEWAY_NATS_PASSWORD", "pgiven")
    env = platform.PlatformSettings.from_env().environment("x" * 40, "y" * 40, "z" * 40)
    assert {k: v for k, v in env.items() if "NATS_PASSWORD" in k} == {
        "MEDIAPLANE_GATEWAY_NATS_PASSWORD": "pgiven"
    }
    assert not (isolated_env / "nats" / "passwords.json").exists()


def test_each_service_gets_its_own_s3_keys_and_nobody_the_admins(isolated_env: Path) -> None:
    settings = platform.PlatformSettings.from_env()
    env = settings.environment("x" * 40, "y" * 40, "z" * 40)
    known = s3auth.keys(settings.stack)
    assert (isolated_env / "seaweedfs" / "keys.json").stat().st_mode & 0o077 == 0
    assert {k: v for k, v in env.items() if "S3_ACCESS_KEY" in k or "S3_SECRET_KEY" in k} == {
        **{f"MEDIAPLANE_{s.name.upper()}_S3_ACCESS_KEY": known[s.name].access_key for s in S3},
        **{f"MEDIAPLANE_{s.name.upper()}_S3_SECRET_KEY": known[s.name].secret_key for s in S3},
    }
    assert len({k.secret_key for k in known.values()}) == len(S3)
    assert settings.stack.s3_admin.secret_key not in env.values()
    assert s3auth.keys(settings.stack) == known  # kept across restarts


def test_an_external_s3_brings_the_identities_from_the_environment(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIAPLANE_S3_ENDPOINT", "http://s3.example:8333")
    monkeypatch.setenv("MEDIAPLANE_CATALOG_S3_ACCESS_KEY", "given")
    monkeypatch.setenv("MEDIAPLANE_CATALOG_S3_SECRET_KEY", "given-secret")
    env = platform.PlatformSettings.from_env().environment("x" * 40, "y" * 40, "z" * 40)
    assert {k: v for k, v in env.items() if "S3_ACCESS_KEY" in k or "S3_SECRET_KEY" in k} == {
        "MEDIAPLANE_CATALOG_S3_ACCESS_KEY": "given",
        "MEDIAPLANE_CATALOG_S3_SECRET_KEY": "given-secret",
    }
    assert not (isolated_env / "seaweedfs" / "keys.json").exists()


def test_every_role_and_the_edge_are_processes_with_readiness_urls(isolated_env: Path) -> None:
    settings = platform.PlatformSettings.from_env()
    processes = {p.name: p for p in settings.processes()}
    roles = {f"{s.name}-{role}" for s in platform.SERVICES for role in s.roles}
    assert set(processes) == roles | {"edge"}
    ports = settings.ports()
    for role in roles:
        assert processes[role].ready_url == f"http://127.0.0.1:{ports[role]}/health/ready"
    assert "deploy/edge/Caddyfile" in processes["edge"].command
    # Request-serving processes first; the pipeline's roles yield the cores to them, and
    # all but the transcoder's jobs stay off the first core (background.py).
    cores = ",".join(map(str, background_cores()))
    for role in roles:
        command = processes[role].command
        niced = command.startswith(f"nice -n {BACKGROUND_NICENESS} ")
        off_first = command.startswith(f"taskset --cpu-list {cores} nice -n {BACKGROUND_NICENESS} ")
        if role.endswith("-api"):
            assert not niced, command
            assert not off_first, command
        elif role == "transcoder-worker":
            assert niced, command
        else:
            assert off_first, command
    assert not processes["edge"].command.startswith("nice")
    assert processes["edge"].ready_url == "http://127.0.0.1:8080/"


def test_supervisord_restarts_every_process_and_streams_its_output(isolated_env: Path) -> None:
    settings = platform.PlatformSettings.from_env()
    env = settings.environment(
        "s3cr3t-with%percent=signs", "pl4yb4ck-with=signs 'and quotes'", "v4r%14nt"
    )
    settings.dir.mkdir(parents=True)
    platform.write_run_files(settings, env)
    config = configparser.ConfigParser()  # supervisord's parser expands %(name)s like this
    config.read_string(settings.supervisor_config.read_text())
    programs = {
        name.split(":", 1)[1]: config[name] for name in config if name.startswith("program:")
    }
    assert set(programs) == {p.name for p in settings.processes()}
    for name, program in programs.items():
        assert program["autorestart"] == "true"
        assert int(program["startretries"]) >= 3  # backoff: 1 s, 2 s, 3 s, ... then give up
        assert program["stdout_events_enabled"] == "true"  # to the prefixing listener
        assert program["stdout_logfile"] == str(settings.logs_dir / f"{name}.log")
    assert config["eventlistener:logs"]["events"] == "PROCESS_LOG"
    assert config["unix_http_server"]["chmod"] == "0700"
    # No secret is in the config: the processes inherit them from supervisord's environment.
    text = settings.supervisor_config.read_text()
    secrets = [value for name, value in env.items() if name.endswith(("_SECRET", "_PASSWORD"))]
    assert secrets
    assert not any(secret in text for secret in secrets)


def test_the_env_file_reads_back_in_the_shell_and_in_python(isolated_env: Path) -> None:
    settings = platform.PlatformSettings.from_env()
    env = settings.environment(
        "s3cr3t-with_symbols-and=signs", "pl4yb4ck-with=signs 'and quotes'", "v4r14nt-with=signs"
    )
    settings.dir.mkdir(parents=True)
    platform.write_run_files(settings, env)
    assert platform.read_env_file(settings) == env
    assert settings.env_file.stat().st_mode & 0o077 == 0  # the secrets are in there
    # `just token` sources it.
    shell = subprocess.run(
        ["bash", "-c", f'set -a && . "{settings.env_file}" && printf %s "$MEDIAPLANE_JWT_SECRET"'],
        capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]},
    )  # fmt: skip
    assert shell.stdout == env["MEDIAPLANE_JWT_SECRET"]


def test_cluster_mode_gives_every_service_three_nodes_and_r3_streams(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIAPLANE_NATS_CLUSTER", "1")
    settings = platform.PlatformSettings.from_env()
    env = settings.environment("x" * 40, "y" * 40, "z" * 40)
    assert env["MEDIAPLANE_NATS_URL"] == (
        "nats://127.0.0.1:24222,nats://127.0.0.1:24223,nats://127.0.0.1:24224"
    )
    assert env["MEDIAPLANE_STREAM_REPLICAS"] == "3"
    monkeypatch.delenv("MEDIAPLANE_NATS_CLUSTER")
    single = platform.PlatformSettings.from_env().environment("x" * 40, "y" * 40, "z" * 40)
    assert single["MEDIAPLANE_NATS_URL"] == "nats://127.0.0.1:24222"
    assert single["MEDIAPLANE_STREAM_REPLICAS"] == "1"


def test_replicas_run_every_role_twice_on_ports_of_their_own_behind_the_edge(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIAPLANE_REPLICAS", "2")
    settings = platform.PlatformSettings.from_env()
    ports = settings.ports()
    roles = {f"{s.name}-{role}" for s in platform.SERVICES for role in s.roles}
    assert set(ports) == {"edge", "edge admin"} | roles | {f"{role}-2" for role in roles}
    assert len(set(ports.values())) == len(ports)  # no two listen on one port
    assert ports["gateway-api-2"] == 8091
    assert (ports["gateway-verifier-2"], ports["gateway-relay-2"]) == (9103, 9104)
    assert (ports["identity-api-2"], ports["identity-relay-2"]) == (8093, 9154)
    processes = {p.name: p for p in settings.processes()}
    # The second replica reads its own ports from its own variables; the first, the env file's.
    assert processes["catalog-ingest"].environment == {}
    assert processes["catalog-ingest-2"].environment == {
        "MEDIAPLANE_CATALOG_PORT": "8092",
        "MEDIAPLANE_CATALOG_OPS_PORT": "9113",
    }
    transcoder = processes["transcoder-worker-2"]
    assert transcoder.environment == {"MEDIAPLANE_TRANSCODER_OPS_PORT": "9123"}
    env = settings.environment("x" * 40, "y" * 40, "z" * 40)
    assert env["MEDIAPLANE_GATEWAY_UPSTREAM"] == "127.0.0.1:8081 127.0.0.1:8091"
    assert env["MEDIAPLANE_IDENTITY_UPSTREAM"] == "127.0.0.1:8083 127.0.0.1:8093"
    settings.dir.mkdir(parents=True)
    platform.write_run_files(settings, env)
    config = configparser.ConfigParser()
    config.read_string(settings.supervisor_config.read_text())
    assert config["program:gateway-api-2"]["environment"] == (
        "MEDIAPLANE_GATEWAY_OPS_PORT=9103,MEDIAPLANE_GATEWAY_PORT=8091"
    )
    assert "environment" not in config["program:gateway-api"]


@pytest.mark.parametrize("value", ["0", "6", "two"])
def test_a_replica_count_out_of_range_is_refused(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("MEDIAPLANE_REPLICAS", value)
    with pytest.raises(StackError, match="MEDIAPLANE_REPLICAS must be 1 to 5"):
        platform.PlatformSettings.from_env()


def test_the_secrets_are_made_once_kept_and_distinct(isolated_env: Path) -> None:
    settings = platform.PlatformSettings.from_env()
    settings.dir.mkdir(parents=True)
    first = platform.jwt_secret(settings)
    playback = platform.playback_secret(settings)
    variant = platform.variant_secret(settings)
    assert min(len(first), len(playback), len(variant)) >= 32
    assert len({first, playback, variant}) == 3
    assert platform.jwt_secret(settings) == first
    assert platform.playback_secret(settings) == playback
    assert platform.variant_secret(settings) == variant
    assert (settings.dir / "playback-secret").stat().st_mode & 0o077 == 0


@pytest.mark.integration
def test_prepare_refuses_to_start_beside_a_running_platform(
    stack: StackSettings, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        monkeypatch.setenv("MEDIAPLANE_GATEWAY_PORT", str(busy.getsockname()[1]))
        monkeypatch.setenv("MEDIAPLANE_PG_URL", stack.pg_url)
        monkeypatch.setenv("MEDIAPLANE_NATS_URL", admin_url(stack))
        monkeypatch.setenv("MEDIAPLANE_S3_ENDPOINT", stack.s3_endpoint)
        with pytest.raises(StackError, match="gateway-api"):
            platform.prepare(platform.PlatformSettings.from_env())


def test_the_log_listener_prefixes_whole_lines_and_keeps_a_partial_one() -> None:
    pending: dict[str, str] = {}
    assert logstream.lines(pending, "gateway-api", "one\ntw") == ["one"]
    assert logstream.lines(pending, "edge", "caddy\n") == ["caddy"]
    assert logstream.lines(pending, "gateway-api", "o\n") == ["two"]
    assert logstream.get_headers("processname:edge groupname:edge pid:7 channel:stdout") == {
        "processname": "edge",
        "groupname": "edge",
        "pid": "7",
        "channel": "stdout",
    }


def test_the_apis_verify_identitys_tokens_and_the_dev_ones(isolated_env: Path) -> None:
    settings = platform.PlatformSettings.from_env()
    env = settings.environment("s3cr3t", "pl4yb4ck", "v4r14nt")
    assert env["MEDIAPLANE_JWKS_URL"] == "http://127.0.0.1:8083/.well-known/jwks.json"
    assert env["MEDIAPLANE_JWT_ISSUER"] == env["MEDIAPLANE_IDENTITY_ISSUER"] == settings.edge_url
    assert env["MEDIAPLANE_JWT_AUDIENCE"] == "mediaplane"
    assert env["MEDIAPLANE_DEV_MODE"] == "1"
    assert env["MEDIAPLANE_IDENTITY_SIGN_IN_URL"] == f"{settings.edge_url}/"
    assert env["MEDIAPLANE_IDENTITY_WEB_URL"] == settings.edge_url


def test_the_banner_says_how_a_person_signs_in_without_printing_a_secret(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = platform.PlatformSettings.from_env()
    settings.dir.mkdir(parents=True)
    password = platform.admin_password(settings)
    assert len(password) >= 32
    assert settings.admin_password_file.stat().st_mode & 0o077 == 0
    text = platform.banner(settings)
    assert "http://127.0.0.1:8080/" in text
    assert platform.DEV_ADMIN_EMAIL in text
    assert str(settings.admin_password_file) in text
    assert str(settings.maildir) in text
    assert password not in text
    assert "/v1/dev/token" in text
    # Dev mode off: no dev sign-in anywhere, in the banner or the env file.
    monkeypatch.setenv("MEDIAPLANE_DEV_MODE", "0")
    closed = platform.PlatformSettings.from_env()
    assert "/v1/dev/token" not in platform.banner(closed)
    closed_env = closed.environment("s3cr3t", "pl4yb4ck", "v4r14nt")
    assert closed_env["MEDIAPLANE_DEV_MODE"] == "0"
    assert "MEDIAPLANE_JWT_SECRET" not in closed_env  # only identity's tokens get in
