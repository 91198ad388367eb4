"""The role runner: dispatch, refusal to start, where logs go, the shared readiness checks."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import structlog

from mediaplane.observability import HealthChecks
from mediaplane.servicekit import checks
from mediaplane.servicekit.runtime import Role, migrations_line, once, role_parser, run_roles


@dataclass(frozen=True)
class Settings:
    name: str


@pytest.fixture(autouse=True)
def isolated_logging() -> Iterator[None]:
    """`run_roles` configures logging for the process: give it back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    config = structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)


def test_the_named_role_runs_with_the_settings_and_its_status_is_the_exit_status() -> None:
    ran: list[tuple[str, str]] = []

    def worker(settings: Settings, args: argparse.Namespace) -> int:
        ran.append((settings.name, args.role))
        return 3

    roles: dict[str, Role[Settings]] = {"worker": worker, "relay": worker}
    args = role_parser("mediaplane.test", roles).parse_args(["worker"])

    assert run_roles("test", roles, args, settings=lambda: Settings("s")) == 3
    assert ran == [("s", "worker")]


def test_an_unknown_role_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exited:
        role_parser("mediaplane.test", ["worker"]).parse_args(["api"])
    assert exited.value.code == 2


def test_invalid_settings_refuse_to_start_with_status_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def invalid() -> Settings:
        raise ValueError("refusing dev mode on MEDIAPLANE_X_HOST=0.0.0.0")

    roles: dict[str, Role[Settings]] = {"api": lambda settings, args: 0}
    args = argparse.Namespace(role="api")

    assert run_roles("test", roles, args, settings=invalid) == 2
    assert capsys.readouterr().err == (
        "test: refusing to start: refusing dev mode on MEDIAPLANE_X_HOST=0.0.0.0\n"
    )


def test_a_report_role_keeps_stdout_for_its_report(capsys: pytest.CaptureFixture[str]) -> None:
    async def report(settings: Settings, args: argparse.Namespace) -> None:
        structlog.get_logger("test").info("sweep.started")
        print('{"kind": "report"}')

    roles: dict[str, Role[Settings]] = {"sweep": once(report)}
    args = argparse.Namespace(role="sweep")
    status = run_roles("test", roles, args, settings=lambda: Settings("s"), stdout_roles={"sweep"})
    captured = capsys.readouterr()

    assert status == 0
    assert captured.out == '{"kind": "report"}\n'
    assert "sweep.started" in captured.err


def test_migrations_line() -> None:
    assert migrations_line([]) == "applied 0 migrations: none"
    assert migrations_line(["a.sql", "b.sql"]) == "applied 2 migrations: a.sql, b.sql"


async def test_the_ffmpeg_check_runs_every_tool() -> None:
    health = HealthChecks(
        {
            "present": checks.ffmpeg(["ffmpeg", "ffprobe"]),
            "missing": checks.ffmpeg(["ffmpeg", "/nonexistent/ffprobe"]),
            # Python takes no `-version`: it exits 2, as a broken tool would.
            "failing": checks.ffmpeg([sys.executable]),
        }
    )

    readiness = await health.ready()

    assert readiness.checks["present"] == "up"
    assert readiness.checks["missing"].startswith("down: FileNotFoundError")
    assert readiness.checks["failing"] == (
        f"down: RuntimeError: {sys.executable} -version exited with 2"
    )
