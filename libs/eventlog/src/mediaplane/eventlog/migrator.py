"""Apply numbered SQL migrations (`0001_name.sql`, ...) once each, from several sources.

A source is a folder of SQL files with a namespace (`eventlog`, `gateway`, ...):
the event log ships one, and each service adds its own, so their numbers never
clash. Applied files are recorded in `schema_migrations` with a checksum; an
applied file that changed afterwards is an error, never silently skipped.

Every migrator takes the same advisory lock first, so several instances
starting at once (replicas of one service) apply each file exactly once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import psycopg
import structlog

from mediaplane.eventlog.errors import MigrationError

_log = structlog.get_logger(__name__)

# Arbitrary constant shared by every migrator of every service: one lock per database.
_LOCK_KEY = 0x6D70_6D69_6772  # "mpmigr"
_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

_CREATE_HISTORY = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    namespace  text        NOT NULL,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, name)
)
"""


@dataclass(frozen=True)
class Migration:
    namespace: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class MigrationSource:
    """A folder of `NNNN_name.sql` files applied in number order under `namespace`."""

    namespace: str
    folder: Traversable

    @classmethod
    def from_package(cls, namespace: str, package: str) -> MigrationSource:
        """The SQL files shipped inside a package (e.g. `mediaplane.gateway.migrations`)."""
        return cls(namespace, resources.files(package))

    @classmethod
    def from_directory(cls, namespace: str, directory: str | Path) -> MigrationSource:
        path = Path(directory)
        if not path.is_dir():
            raise MigrationError(f"migration folder {path} does not exist")
        return cls(namespace, path)

    def migrations(self) -> list[Migration]:
        found: dict[str, Migration] = {}
        for entry in self.folder.iterdir():
            if not entry.name.endswith(".sql"):
                continue
            match = _FILE_NAME.match(entry.name)
            if match is None:
                raise MigrationError(f"{self.namespace}: {entry.name} is not named NNNN_name.sql")
            number = match.group(1)
            if number in found:
                raise MigrationError(
                    f"{self.namespace}: {entry.name} and {found[number].name} share number {number}"
                )
            found[number] = Migration(self.namespace, entry.name, entry.read_text(encoding="utf-8"))
        return [found[number] for number in sorted(found)]


EVENTLOG_MIGRATIONS = MigrationSource.from_package("eventlog", "mediaplane.eventlog.migrations")


async def migrate(
    conninfo: str, sources: Sequence[MigrationSource] = (EVENTLOG_MIGRATIONS,)
) -> list[str]:
    """Apply the migrations not applied yet, source by source; returns their `namespace/name`."""
    _check_namespaces(sources)
    applied: list[str] = []
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            await conn.execute(_CREATE_HISTORY)
            history = await _history(conn)
            for source in sources:
                for migration in source.migrations():
                    key = (migration.namespace, migration.name)
                    if key in history:
                        if history[key] != migration.checksum:
                            raise MigrationError(f"{key[0]}/{key[1]} changed after it was applied")
                        continue
                    await _apply(conn, migration)
                    applied.append(f"{migration.namespace}/{migration.name}")
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied


def _check_namespaces(sources: Iterable[MigrationSource]) -> None:
    seen: set[str] = set()
    for source in sources:
        if source.namespace in seen:
            raise MigrationError(f"two migration sources share the namespace {source.namespace!r}")
        seen.add(source.namespace)


async def _history(conn: psycopg.AsyncConnection[Any]) -> dict[tuple[str, str], str]:
    cursor = await conn.execute("SELECT namespace, name, checksum FROM schema_migrations")
    return {(namespace, name): checksum for namespace, name, checksum in await cursor.fetchall()}


async def _apply(conn: psycopg.AsyncConnection[Any], migration: Migration) -> None:
    # One transaction per file: a failing file leaves no half-applied schema behind.
    async with conn.transaction():
        # No parameters: psycopg sends the file as a simple query, so it may hold many statements.
        await conn.execute(migration.sql.encode())
        await conn.execute(
            "INSERT INTO schema_migrations (namespace, name, checksum) VALUES (%s, %s, %s)",
            (migration.namespace, migration.name, migration.checksum),
        )
    _log.info("migration applied", namespace=migration.namespace, name=migration.name)
