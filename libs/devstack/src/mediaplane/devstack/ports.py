"""Free loopback ports for servers that tests and the private platform start.

Ports are picked OUTSIDE the kernel's ephemeral range. A port from inside it
(what binding port 0 hands out) can be taken, between picking it and the server
binding it, as the source port of any outgoing connection on the machine: seen
in CI, where a relay's ops port was picked, and 16 s later, while a dozen
processes were connecting to Postgres, NATS and S3, was in use.
"""

from __future__ import annotations

import secrets
import socket
from contextlib import ExitStack
from pathlib import Path

from mediaplane.devstack.servers import StackError

# Below the default ephemeral range (32768-60999) and above the project's own
# pinned server ports (24222, 25432, 28222, 28333, 29330+).
_PREFERRED_LOW = 30_000
_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_ATTEMPTS = 500


def ephemeral_range() -> tuple[int, int]:
    """The kernel's range for outgoing connections' source ports (Linux; a default elsewhere)."""
    try:
        low, high = (int(part) for part in _RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        return 32_768, 60_999
    return low, high


def candidate_ranges(size: int) -> list[range]:
    """Where a block of `size` ports may start: below the ephemeral range, else above it."""
    low, high = ephemeral_range()
    ranges = [range(_PREFERRED_LOW, low - size + 1), range(high + 1, 65_536 - size + 1)]
    return [r for r in ranges if len(r) > 0]


def free_port_block(size: int = 1) -> int:
    """The first of `size` consecutive loopback ports that are free right now.

    Random within the candidate ranges, so runs on the same machine rarely try
    the same ports; each candidate is checked by binding every port of the block.
    """
    ranges = candidate_ranges(size)
    if not ranges:
        raise StackError(f"no room for {size} ports outside the ephemeral range")
    for _ in range(_ATTEMPTS):
        span = ranges[secrets.randbelow(len(ranges))]
        base = span[secrets.randbelow(len(span))]
        with ExitStack() as held:
            try:
                for port in range(base, base + size):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return base
    raise StackError(f"no {size} consecutive free ports found in {_ATTEMPTS} attempts")
