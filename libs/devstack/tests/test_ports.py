"""Ports for test servers come from outside the ephemeral range and are free."""

from __future__ import annotations

import socket

import pytest

from mediaplane.devstack.ports import (
    STRIPE,
    candidate_ranges,
    ephemeral_range,
    free_port_block,
    worker_share,
)


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


def test_a_workers_share_comes_from_xdists_environment() -> None:
    assert worker_share({}) == (0, 1)
    assert worker_share({"PYTEST_XDIST_WORKER": "gw1", "PYTEST_XDIST_WORKER_COUNT": "2"}) == (1, 2)
    assert worker_share({"PYTEST_XDIST_WORKER": "gw0", "PYTEST_XDIST_WORKER_COUNT": "1"}) == (0, 1)
    assert worker_share({"PYTEST_XDIST_WORKER": "master"}) == (0, 1)


@pytest.mark.parametrize("size", [1, 16, 122])
def test_two_workers_blocks_never_share_a_port(size: int) -> None:
    """Both workers may pick any start of their own: the ports of their blocks never meet."""
    covered = [
        {
            port
            for span in candidate_ranges(size, (index, 2))
            for port in range(span.start, span.stop - 1 + size)
        }
        for index in range(2)
    ]
    assert covered[0]
    assert covered[1]
    assert not covered[0] & covered[1]
    everyone = {
        port for span in candidate_ranges(size) for port in range(span.start, span.stop - 1 + size)
    }
    assert covered[0] | covered[1] == everyone


def test_free_port_block_keeps_to_its_workers_stripes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    for _ in range(200):
        base = free_port_block(2)
        assert base // STRIPE % 2 == 1
        assert (base + 1) // STRIPE == base // STRIPE
