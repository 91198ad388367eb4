"""`python -m mediaplane.servicekit token --sub alice [--admin]`: print a development token.

Signs with MEDIAPLANE_JWT_SECRET (and MEDIAPLANE_JWT_ISSUER/_AUDIENCE when
set), the secret the local platform's services verify with.

`python -m mediaplane.servicekit openapi [--write PATH] SERVICE=MODULE:ROUTES ...`: print
(or write) one OpenAPI document merged from the services' public routes (`just openapi`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mediaplane.servicekit.auth import AuthSettings
from mediaplane.servicekit.devtoken import DEV_TOKEN_TTL, issue_dev_token
from mediaplane.servicekit.openapi import merged_document, render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mediaplane.servicekit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    token = commands.add_parser("token", help="print a signed development JWT")
    token.add_argument("--sub", required=True, help="the owner id (JWT subject)")
    token.add_argument("--admin", action="store_true", help="grant the admin role")
    token.add_argument("--ttl", type=int, default=DEV_TOKEN_TTL, help="lifetime in seconds")
    openapi = commands.add_parser("openapi", help="print the services' merged OpenAPI document")
    openapi.add_argument(
        "sources", nargs="+", metavar="SERVICE=MODULE:ROUTES", help="a service's public routes"
    )
    openapi.add_argument("--write", type=Path, help="write the document to this file")
    args = parser.parse_args(argv)
    if args.command == "openapi":
        return _openapi(args.sources, args.write)

    secret = os.environ.get("MEDIAPLANE_JWT_SECRET")
    if not secret:
        print(
            "set MEDIAPLANE_JWT_SECRET (the local platform's is in .local/platform/env)",
            file=sys.stderr,
        )
        return 2
    settings = AuthSettings(
        hs256_secret=secret,
        issuer=os.environ.get("MEDIAPLANE_JWT_ISSUER") or None,
        audience=os.environ.get("MEDIAPLANE_JWT_AUDIENCE") or None,
    )
    try:
        issued = issue_dev_token(settings, args.sub, admin=args.admin, ttl_seconds=args.ttl)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(issued.token)
    return 0


def _openapi(sources: list[str], target: Path | None) -> int:
    text = render(merged_document(sources))
    if target is None:
        sys.stdout.write(text)
    else:
        target.write_text(text)
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
