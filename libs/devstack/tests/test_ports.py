"""Ports for test servers come from outside the ephemeral range and are free."""

from __future__ import annotations

import socket

from mediaplane.devstack.ports import candidate_ranges, ephemeral_range, free_port_block


def test_a_block_is_free_and_outside_the_ephemeral_range() -> None:
    low, high = ephemeral_range()
    for size in (1, 2, 12):
        base = free_port_block(size)
        ports = range(base, base + size)
        assert all(not low <= port <= high for port in ports), (base, size, low, high)
        for port in ports:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", port))


def test_a_taken_port_is_never_handed_out() -> None:
    base = free_port_block(1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", base))
        taken.listen()
        assert all(free_port_block(1) != base for _ in range(200))


def test_candidate_ranges_leave_room_for_the_whole_block() -> None:
    for span in candidate_ranges(20):
        assert span.stop - 1 + 20 <= 65_536
