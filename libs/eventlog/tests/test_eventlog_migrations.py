"""Migrations: idempotent, safe with concurrent migrators, extendable by services."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from mediaplane.eventlog import EVENTLOG_MIGRATIONS, MigrationError, MigrationSource, migrate

pytestmark = pytest.mark.integration


async def _tables(url: str) -> set[str]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cursor = await conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {name for (name,) in await cursor.fetchall()}


async def test_migrate_twice_applies_once(pg_url: str) -> None:
    first = await migrate(pg_url)
    assert first == [
        "eventlog/0001_event_log.sql",
        "eventlog/0002_outbox.sql",
        "eventlog/0003_projection_checkpoints.sql",
        "eventlog/0004_drop_projection_checkpoints.sql",
    ]
    assert await migrate(pg_url) == []
    tables = await _tables(pg_url)
    assert {"event_log", "outbox", "schema_migrations"} <= tables
    assert "projection_checkpoints" not in tables


async def test_concurrent_migrators_apply_each_file_once(pg_url: str) -> None:
    results = await asyncio.gather(*(migrate(pg_url) for _ in range(4)))
    applied = [name for result in results for name in result]
    assert sorted(applied) == sorted(set(applied))
    assert len(applied) == 4


async def test_service_migrations_run_after_the_eventlog_in_their_namespace(
    pg_url: str, tmp_path: Path
) -> None:
    (tmp_path / "0001_sessions.sql").write_text(
        "CREATE TABLE sessions (id uuid PRIMARY KEY);\n"
        "CREATE INDEX sessions_by_log ON event_log (recorded_at);\n"
    )
    service = MigrationSource.from_directory("gateway", tmp_path)
    applied = await migrate(pg_url, [EVENTLOG_MIGRATIONS, service])
    assert applied[-1] == "gateway/0001_sessions.sql"
    assert "sessions" in await _tables(pg_url)
    assert await migrate(pg_url, [EVENTLOG_MIGRATIONS, service]) == []


async def test_an_applied_migration_that_changed_is_an_error(pg_url: str, tmp_path: Path) -> None:
    script = tmp_path / "0001_things.sql"
    script.write_text("CREATE TABLE things (id int);")
    service = MigrationSource.from_directory("svc", tmp_path)
    await migrate(pg_url, [service])
    script.write_text("CREATE TABLE things (id bigint);")
    with pytest.raises(MigrationError, match="changed"):
        await migrate(pg_url, [service])


async def test_a_failing_migration_leaves_nothing_behind(pg_url: str, tmp_path: Path) -> None:
    (tmp_path / "0001_broken.sql").write_text("CREATE TABLE half (id int); SELECT nonsense;")
    with pytest.raises(psycopg.errors.UndefinedColumn):
        await migrate(pg_url, [MigrationSource.from_directory("svc", tmp_path)])
    assert "half" not in await _tables(pg_url)


def test_the_command_line_migrates(pg_url: str, tmp_path: Path) -> None:
    (tmp_path / "0001_extra.sql").write_text("CREATE TABLE extra (id int);")
    command = [sys.executable, "-m", "mediaplane.eventlog", "migrate", "--database-url", pg_url]
    command += ["--directory", f"svc={tmp_path}"]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    tables = asyncio.run(_tables(pg_url))
    assert {"event_log", "extra"} <= tables
