"""The composition root: builds every adapter of the identity service from its settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

from mediaplane.bus.health import ping as ping_nats
from mediaplane.contracts import Registry, build_registry
from mediaplane.eventlog.database import Pool, open_pool
from mediaplane.eventlog.database import ping as ping_database
from mediaplane.eventlog.migrator import EVENTLOG_MIGRATIONS, MigrationSource, migrate
from mediaplane.eventlog.store import EventStore
from mediaplane.identity.adapters.mail import MaildirMailer
from mediaplane.identity.app.accounts import AccountService
from mediaplane.identity.config import SERVICE, IdentitySettings
from mediaplane.observability import HealthChecks

IDENTITY_MIGRATIONS = MigrationSource.from_package("identity", "mediaplane.identity.migrations")


async def apply_migrations(settings: IdentitySettings) -> list[str]:
    return await migrate(settings.database_url, [EVENTLOG_MIGRATIONS, IDENTITY_MIGRATIONS])


@dataclass(frozen=True, kw_only=True)
class Identity:
    settings: IdentitySettings
    registry: Registry
    pool: Pool
    store: EventStore
    accounts: AccountService
    health: HealthChecks


@asynccontextmanager
async def identity(settings: IdentitySettings, *, pool_size: int = 10) -> AsyncIterator[Identity]:
    """Every resource of one identity process, closed on exit."""
    registry = build_registry(settings.bus.subject_root)
    pool = await open_pool(
        settings.database_url, min_size=1, max_size=pool_size, application_name=SERVICE
    )
    try:
        store = EventStore(pool, registry)
        accounts = AccountService(
            pool=pool, store=store, mailer=MaildirMailer(settings.maildir), settings=settings
        )
        yield Identity(
            settings=settings,
            registry=registry,
            pool=pool,
            store=store,
            accounts=accounts,
            health=HealthChecks(
                {"postgres": partial(ping_database, pool), "nats": partial(ping_nats, settings.bus)}
            ),
        )
    finally:
        await pool.close()
