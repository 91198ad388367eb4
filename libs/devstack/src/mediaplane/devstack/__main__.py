"""`python -m mediaplane.devstack up|down|status|env`: the local infrastructure."""

from __future__ import annotations

import argparse
import sys
import time

from mediaplane.devstack.servers import StackError, all_servers, servers
from mediaplane.devstack.settings import StackSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    args = parser.parse_args(argv)
    settings = StackSettings.from_env()

    if args.command == "up":
        for server in servers(settings):
            started = time.monotonic()
            try:
                server.start()
            except StackError as exc:
                print(f"{server.name}: FAILED: {exc}", file=sys.stderr)
                return 1
            print(f"{server.name}: ready ({time.monotonic() - started:.1f}s)")
        for server in all_servers(settings):
            if server not in servers(settings) and not server.ready():
                print(f"{server.name}: external server not reachable", file=sys.stderr)
                return 1
        return 0
    if args.command == "down":
        for server in reversed(servers(settings)):
            print(f"{server.name}: {'stopped' if server.stop() else 'was not running'}")
        return 0
    if args.command == "status":
        down = 0
        for server in all_servers(settings):
            ok = server.ready()
            down += not ok
            print(f"{server.name}: {'up' if ok else 'down'}")
        return 1 if down else 0
    print(f"MEDIAPLANE_PG_URL={settings.pg_url}")
    print(f"MEDIAPLANE_NATS_URL={settings.nats_url}")
    print(f"MEDIAPLANE_S3_ENDPOINT={settings.s3_endpoint}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
