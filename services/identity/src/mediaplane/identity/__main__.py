"""`python -m mediaplane.identity api|relay|migrate|admin create`: one process role each."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

import uvicorn

from mediaplane.identity.api.app import create_app
from mediaplane.identity.app.bootstrap import apply_migrations, identity
from mediaplane.identity.config import SERVICE, IdentitySettings
from mediaplane.observability import configure_logging, configure_tracing
from mediaplane.observability.serve import run_until_signalled
from mediaplane.servicekit.roles import migrations_line, serve_relay


async def run_relay(settings: IdentitySettings, stop: asyncio.Event) -> None:
    async with identity(settings, pool_size=2) as resources:
        await serve_relay(
            service=SERVICE,
            database_url=settings.database_url,
            nats_url=settings.bus.url,
            nats_options=settings.bus.connect_options(),
            health=resources.health,
            host=settings.http_host,
            port=settings.ops_port + 1,
            stop=stop,
        )


async def create_admin(settings: IdentitySettings, email: str, password: str) -> str:
    """A verified admin account (the first one; later ones too)."""
    await apply_migrations(settings)
    async with identity(settings, pool_size=2) as resources:
        user_id = await resources.accounts.register(
            email=email, password=password, role="admin", via="admin", verified=True
        )
    if user_id is None:
        raise ValueError(f"{email} already has an account")
    return str(user_id)


def main(argv: list[str] | None = None) -> int:
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
    args = parser.parse_args(argv)
    configure_logging(
        f"{SERVICE}-{args.role}", level=os.environ.get("MEDIAPLANE_LOG_LEVEL", "INFO")
    )
    configure_tracing(SERVICE)
    try:
        settings = IdentitySettings.from_env()
    except (KeyError, ValueError) as error:
        print(f"{SERVICE}: refusing to start: {error}", file=sys.stderr)
        return 2

    if args.role == "migrate":
        print(migrations_line(asyncio.run(apply_migrations(settings))))
        return 0
    if args.role == "admin":
        password = os.environ.get("MEDIAPLANE_ADMIN_PASSWORD") or getpass.getpass("password: ")
        try:
            user_id = asyncio.run(create_admin(settings, args.email, password))
        except Exception as error:  # a refused password or email: say why, no traceback
            print(f"{SERVICE}: {getattr(error, 'detail', error)}", file=sys.stderr)
            return 1
        print(f"admin {args.email} created: {user_id}")
        return 0
    if args.role == "api":
        uvicorn.run(
            create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None
        )
        return 0
    run_until_signalled(lambda stop: run_relay(settings, stop))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
