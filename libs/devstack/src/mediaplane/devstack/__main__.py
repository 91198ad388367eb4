"""`python -m mediaplane.devstack up|down|status|env [--cluster]`: the local
infrastructure (`--cluster`: NATS as three nodes, streams kept on all three).

`python -m mediaplane.devstack platform prepare|up|down [--replicas N]`: the
services on top of it (see `platform.py`; `just up` and `just down`), every role
N times with `--replicas N`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from mediaplane.devstack import platform
from mediaplane.devstack.servers import Nats, SeaweedFS, StackError, all_servers, servers
from mediaplane.devstack.settings import StackSettings

# The first start on a fresh 2-core machine imports every service at once (a test
# platform of several replicas on a busy machine gives itself longer).
READY_TIMEOUT = float(os.environ.get("MEDIAPLANE_READY_TIMEOUT", 300.0))


def platform_main(command: str) -> int:
    try:
        settings = platform.PlatformSettings.from_env()
        if command == "prepare":
            platform.prepare(settings)
            print(f"prepared: {settings.supervisor_config} and {settings.env_file}")
            return 0
        if command == "up":
            return platform.up(settings, READY_TIMEOUT)
        print(f"platform: {'stopped' if platform.down(settings) else 'was not running'}")
        return 0
    except StackError as exc:
        print(f"platform: {exc}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "env", "platform"])
    parser.add_argument(
        "action", nargs="?", choices=["prepare", "up", "down"], help="platform only"
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="NATS as a three-node cluster with R3 streams (= MEDIAPLANE_NATS_CLUSTER=1)",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        help="platform: run every role this many times (= MEDIAPLANE_REPLICAS)",
    )
    args = parser.parse_args(argv)
    if args.cluster:
        os.environ["MEDIAPLANE_NATS_CLUSTER"] = "1"
    if args.replicas is not None:
        os.environ["MEDIAPLANE_REPLICAS"] = str(args.replicas)
    if args.command == "platform":
        if args.action is None:
            parser.error("platform needs an action: prepare, up or down")
        return platform_main(args.action)
    if args.action is not None:
        parser.error(f"{args.command} takes no action")
    settings = StackSettings.from_env()

    if args.command == "up":
        for server in servers(settings):
            started = time.monotonic()
            try:
                server.start()
                if isinstance(server, Nats | SeaweedFS) and server.apply_identities():
                    print(f"{server.name}: restarted with the current identities")
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
    print(f"MEDIAPLANE_CLAMD_URL={settings.clamd_url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
