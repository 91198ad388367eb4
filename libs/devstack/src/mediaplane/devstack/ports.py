"""Free loopback ports for servers that tests and the private platform start.

Ports are picked OUTSIDE the kernel's ephemeral range. A port from inside it
(what binding port 0 hands out) can be taken, between picking it and the server
binding it, as the source port of any outgoing connection on the machine: seen
in CI, where a relay's ops port was picked, and 16 s later, while a dozen
processes were connecting to Postgres, NATS and S3, was in use.

Each pytest-xdist worker (and whatever its tests start, which inherits its
environment) picks from stripes of its own. A port checked free is bound only
a moment later, by a server that may take seconds to start: seen in a run on
two workers, the other worker's test picked the same port in between, its
server took it, and the first test's server could not bind.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path

from mediaplane.devstack.servers import StackError

# Below the default ephemeral range (32768-60999) and above the project's own
# pinned server ports (24222, 25432, 28222, 28333, 29330+).
_PREFERRED_LOW = 30_000
_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_ATTEMPTS = 500
# Ports are dealt to workers in stripes this long; a block never spans two. The
# largest block, a private platform with 5 replicas, is about half of one.
STRIPE = 256


def ephemeral_range() -> tuple[int, int]:
    """The kernel's range for outgoing connections' source ports (Linux; a default elsewhere)."""
    try:
        low, high = (int(part) for part in _RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        return 32_768, 60_999
    return low, high


def worker_share(environ: Mapping[str, str]) -> tuple[int, int]:
    """(index, count): this pytest-xdist worker's share of the stripes; (0, 1) outside one."""
    worker = environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ...
    count = int(environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not worker.startswith("gw") or count < 2:
        return 0, 1
    return int(worker[2:]) % count, count


def candidate_ranges(size: int, share: tuple[int, int] = (0, 1)) -> list[range]:
    """Where a block of `size` ports may start: below the ephemeral range, else above
    it, inside the stripes of `share` only."""
    index, count = share
    low, high = ephemeral_range()
    ranges = []
    for span in (range(_PREFERRED_LOW, low), range(high + 1, 65_536)):
        for stripe in range(span.start // STRIPE, (span.stop - 1) // STRIPE + 1):
            if stripe % count != index:
                continue
            first = max(span.start, stripe * STRIPE)
            end = min(span.stop, (stripe + 1) * STRIPE)
            ranges.append(range(first, end - size + 1))
    return [r for r in ranges if len(r) > 0]


def free_port_block(size: int = 1) -> int:
    """The first of `size` consecutive loopback ports that are free right now.

    Random within this process's candidate ranges, so runs on the same machine
    rarely try the same ports; each candidate is checked by binding every port
    of the block.
    """
    ranges = candidate_ranges(size, worker_share(os.environ))
    if not ranges:
        raise StackError(f"no room for {size} ports outside the ephemeral range")
    starts = sum(len(span) for span in ranges)
    for _ in range(_ATTEMPTS):
        base = _nth_start(ranges, secrets.randbelow(starts))
        with ExitStack() as held:
            try:
                for port in range(base, base + size):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return base
    raise StackError(f"no {size} consecutive free ports found in {_ATTEMPTS} attempts")


def _nth_start(ranges: list[range], n: int) -> int:
    """The n-th start of all the ranges: every start equally likely, whatever its range's length."""
    for span in ranges:
        if n < len(span):
            return span[n]
        n -= len(span)
    raise IndexError(n)
