"""`python -m mediaplane.identity api|relay|migrate`: one process role each (the relay
also sends the mail outbox); and `admin create|client|invite`: operators' commands."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from contextlib import AbstractAsyncContextManager

from prometheus_client import REGISTRY

from mediaplane.identity.adapters.metrics import MailMetrics
from mediaplane.identity.adapters.secrets import new_secret
from mediaplane.identity.api.app import create_app
from mediaplane.identity.app.bootstrap import Resources, apply_migrations, open_resources
from mediaplane.identity.app.mail_sender import sending
from mediaplane.identity.config import SERVICE, IdentitySettings
from mediaplane.servicekit.runtime import Role, api, migrate, relay, run_roles


async def create_admin(settings: IdentitySettings, email: str, password: str) -> str:
    """A verified admin account (the first one; later ones too)."""
    await apply_migrations(settings)
    async with open_resources(settings, pool_size=2) as resources:
        user_id = await resources.accounts.register(
            email=email, password=password, role="admin", via="admin", verified=True
        )
    if user_id is None:
        raise ValueError(f"{email} already has an account")
    return str(user_id)


async def register_client(settings: IdentitySettings, args: argparse.Namespace) -> str | None:
    """Creates or replaces an OAuth client; returns the new secret of a confidential one."""
    secret = None if args.public else new_secret()
    await apply_migrations(settings)
    async with open_resources(settings, pool_size=1) as resources:
        await asyncio.to_thread(
            resources.provider.store.register_client,
            client_id=args.id,
            secret=secret,
            redirect_uris=args.redirect_uri,
            grant_types=args.grant,
            scope=args.scope,
            post_logout_redirect_uris=args.post_logout_redirect_uri,
        )
    return secret


async def create_invite(settings: IdentitySettings) -> str:
    async with open_resources(settings, pool_size=1) as resources:
        return await resources.accounts.create_invite(created_by="cli")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mediaplane.identity")
    roles = parser.add_subparsers(dest="role", required=True)
    roles.add_parser("api")
    roles.add_parser("relay")
    roles.add_parser("migrate")
    admin = roles.add_parser("admin", help="account administration")
    admin_commands = admin.add_subparsers(dest="command", required=True)
    create = admin_commands.add_parser(
        "create",
        help="create an admin account (password from MEDIAPLANE_ADMIN_PASSWORD "
        "or asked for; never an argument, which `ps` would show)",
    )
    create.add_argument("--email", required=True)
    client = admin_commands.add_parser(
        "client", help="create or replace an OAuth client (prints a confidential one's secret once)"
    )
    client.add_argument("--id", required=True)
    client.add_argument("--public", action="store_true", help="no secret (browser, CLI): PKCE")
    client.add_argument("--redirect-uri", action="append", default=[])
    client.add_argument("--post-logout-redirect-uri", action="append", default=[])
    client.add_argument(
        "--grant",
        action="append",
        required=True,
        choices=[
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ],
    )
    client.add_argument("--scope", default="openid email offline_access")
    admin_commands.add_parser("invite", help="print a one-time invitation (7 days)")
    return parser


def run_admin(settings: IdentitySettings, args: argparse.Namespace) -> int:
    if args.command == "client":
        secret = asyncio.run(register_client(settings, args))
        print(
            f"client {args.id} registered" + (f"; secret (shown once): {secret}" if secret else "")
        )
        return 0
    if args.command == "invite":
        print(asyncio.run(create_invite(settings)))
        return 0
    password = os.environ.get("MEDIAPLANE_ADMIN_PASSWORD") or getpass.getpass("password: ")
    try:
        user_id = asyncio.run(create_admin(settings, args.email, password))
    except Exception as error:  # a refused password or email: say why, no traceback
        print(f"{SERVICE}: {getattr(error, 'detail', error)}", file=sys.stderr)
        return 1
    print(f"admin {args.email} created: {user_id}")
    return 0


def relay_resources(settings: IdentitySettings) -> AbstractAsyncContextManager[Resources]:
    """The relay role's resources: a small pool; the mail sender's metrics on the
    process registry, which the relay's ops /metrics serves."""
    return open_resources(settings, pool_size=2, mail_metrics=MailMetrics(REGISTRY))


def send_mail(resources: Resources) -> AbstractAsyncContextManager[None]:
    """The mail outbox's sender, beside the event relay in the relay role."""
    return sending(resources.mail_sender, resources.settings.database_url)


def settings_from_env() -> IdentitySettings:
    """The settings; a missing required variable is a refusal to start, like a bad value."""
    try:
        return IdentitySettings.from_env()
    except KeyError as missing:
        raise ValueError(f"{missing.args[0]} is required") from None


ROLES: dict[str, Role[IdentitySettings]] = {
    "api": api(create_app),
    "relay": relay(SERVICE, relay_resources, beside=send_mail),
    "migrate": migrate(apply_migrations),
    "admin": run_admin,
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # An admin command's stdout is its answer (an id, a secret shown once): logs go to stderr.
    return run_roles(SERVICE, ROLES, args, settings=settings_from_env, stdout_roles={"admin"})


if __name__ == "__main__":
    raise SystemExit(main())
