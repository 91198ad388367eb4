"""The composition root: `Resources`, built from the settings by `open_resources`, and
`apply_migrations`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog

from mediaplane.contracts import Registry, build_registry
from mediaplane.eventlog.database import Pool, open_pool
from mediaplane.eventlog.migrator import EVENTLOG_MIGRATIONS, MigrationSource, migrate
from mediaplane.eventlog.store import EventStore
from mediaplane.identity.adapters.keys import rotate
from mediaplane.identity.adapters.mail import mailer_for
from mediaplane.identity.adapters.metrics import MailMetrics
from mediaplane.identity.adapters.oauth_store import OAuthStore, open_sync_pool
from mediaplane.identity.app.accounts import AccountService
from mediaplane.identity.app.federation import Federation
from mediaplane.identity.app.mail_admin import MailAdmin
from mediaplane.identity.app.mail_sender import MailSender
from mediaplane.identity.app.provider import Provider
from mediaplane.identity.config import SERVICE, IdentitySettings
from mediaplane.observability import HealthChecks
from mediaplane.servicekit import checks
from mediaplane.servicekit.rate_limit import RATE_LIMIT_MIGRATIONS

_log = structlog.get_logger(__name__)
IDENTITY_MIGRATIONS = MigrationSource.from_package("identity", "mediaplane.identity.migrations")


async def apply_migrations(settings: IdentitySettings) -> list[str]:
    return await migrate(
        settings.database_url, [EVENTLOG_MIGRATIONS, RATE_LIMIT_MIGRATIONS, IDENTITY_MIGRATIONS]
    )


@dataclass(frozen=True, kw_only=True)
class Resources:
    settings: IdentitySettings
    registry: Registry
    pool: Pool
    store: EventStore
    accounts: AccountService
    federation: Federation
    provider: Provider
    # Run by the relay role (`mail_sender.sending`); the API only writes mails.
    mail_sender: MailSender
    mail_admin: MailAdmin
    health: HealthChecks


async def keep_keys_rotated(resources: Resources, *, every_seconds: float = 60.0) -> None:
    """Rotate on schedule for as long as the process runs (a failure is retried next time)."""
    settings = resources.settings
    while True:
        await asyncio.sleep(every_seconds)
        try:
            resources.provider.keys = await rotate(
                resources.pool, settings.rotation, settings.lifetimes.access_seconds
            )
        except Exception:  # the current ring keeps signing; logged, tried again
            _log.exception("signing_keys.rotation_failed")


@asynccontextmanager
async def open_resources(
    settings: IdentitySettings, *, pool_size: int = 10, mail_metrics: MailMetrics | None = None
) -> AsyncIterator[Resources]:
    """Every resource of one identity process, closed on exit; `mail_metrics`: the sender's
    (the relay role passes the process registry's)."""
    registry = build_registry(settings.bus.subject_root)
    pool = await open_pool(
        settings.database_url, min_size=1, max_size=pool_size, application_name=SERVICE
    )
    sync_pool = None
    try:
        store = EventStore(pool, registry)
        accounts = AccountService(pool=pool, store=store, settings=settings)
        keys = await rotate(pool, settings.rotation, settings.lifetimes.access_seconds)
        sync_pool = await asyncio.to_thread(open_sync_pool, settings.database_url)
        provider = Provider(settings, OAuthStore(sync_pool), keys)
        yield Resources(
            settings=settings,
            registry=registry,
            pool=pool,
            store=store,
            accounts=accounts,
            federation=Federation(settings=settings, pool=pool, accounts=accounts),
            provider=provider,
            mail_sender=MailSender(
                pool=pool,
                mailer=mailer_for(settings.smtp, settings.maildir),
                retry=settings.mail_retry,
                metrics=mail_metrics,
            ),
            mail_admin=MailAdmin(pool),
            health=HealthChecks(
                {"postgres": checks.postgres(pool), "nats": checks.nats(settings.bus)}
            ),
        )
    finally:
        if sync_pool is not None:
            await asyncio.to_thread(sync_pool.close)
        await pool.close()
