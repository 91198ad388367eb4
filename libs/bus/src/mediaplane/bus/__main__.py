"""`python -m mediaplane.bus dlq list|redrive|discard`: the dead-letter queue for operators.

Reads `MEDIAPLANE_NATS_URL`, `MEDIAPLANE_STREAM`, `MEDIAPLANE_DLQ_STREAM`, ...
and the operator's identity, `MEDIAPLANE_NATS_USER` and `MEDIAPLANE_NATS_PASSWORD`
(`BusSettings.from_env`).

`python -m mediaplane.bus auth-config`: print nats-server's `authorization`
block (`permissions.py`), as committed in deploy/nats/auth.conf.
`python -m mediaplane.bus new-passwords`: a fresh password for every identity,
as `MEDIAPLANE_<NAME>_NATS_PASSWORD=...` lines (`just compose-env` uses it).
"""

from __future__ import annotations

import argparse
import asyncio
import json

import nats

from mediaplane.bus.dead_letter import read_dead_letters
from mediaplane.bus.permissions import (
    ADMIN,
    DEAD_LETTERS,
    SERVICES,
    new_password,
    password_variable,
    render_auth_config,
)
from mediaplane.bus.redrive import discard, redrive
from mediaplane.bus.settings import BusSettings


async def _dlq(args: argparse.Namespace) -> int:
    settings = BusSettings.from_env()
    nc = await nats.connect(settings.servers, **settings.connect_options())
    try:
        js = nc.jetstream()
        letters = await read_dead_letters(js, settings, limit=args.limit)
        if args.consumer:
            letters = [x for x in letters if x.consumer == args.consumer]
        if args.action == "list":
            for letter in letters:
                print(
                    json.dumps(
                        {
                            "sequence": letter.sequence,
                            "consumer": letter.consumer,
                            "subject": letter.original_subject,
                            "deliveries": letter.deliveries,
                            "reason": letter.reason,
                        }
                    )
                )
            return 0
        chosen = letters if args.all else [x for x in letters if x.sequence in set(args.sequences)]
        if not chosen:
            print("no dead letters match")
            return 1
        for letter in chosen:
            if args.action == "redrive":
                ack = await redrive(js, settings, letter)
                print(f"redrove {letter.sequence} -> {settings.stream} seq {ack.seq}")
            else:
                await discard(js, settings, letter)
                print(f"discarded {letter.sequence}")
        return 0
    finally:
        await nc.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mediaplane.bus")
    sub = parser.add_subparsers(dest="command", required=True)
    dlq = sub.add_parser("dlq", help="inspect and act on dead letters")
    dlq.add_argument("action", choices=["list", "redrive", "discard"])
    dlq.add_argument("sequences", nargs="*", type=int, help="DLQ sequences to act on")
    dlq.add_argument("--all", action="store_true", help="act on every (matching) dead letter")
    dlq.add_argument("--consumer", help="only this consumer's dead letters")
    dlq.add_argument("--limit", type=int, default=1000)
    sub.add_parser("auth-config", help="print nats-server's authorization block")
    sub.add_parser("new-passwords", help="print a new password for every NATS identity")
    args = parser.parse_args(argv)
    if args.command == "auth-config":
        print(render_auth_config(), end="")
        return 0
    if args.command == "new-passwords":
        for name in (ADMIN, *(s.name for s in SERVICES), DEAD_LETTERS):
            print(f"{password_variable(name)}={new_password()}")
        return 0
    if args.action != "list" and not (args.all or args.sequences):
        parser.error("name DLQ sequences or pass --all")
    return asyncio.run(_dlq(args))


if __name__ == "__main__":
    raise SystemExit(main())
