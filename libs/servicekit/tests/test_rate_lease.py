"""Leases of rate-limit tokens: what a process spends locally, what it asks the bucket for."""

from __future__ import annotations

import pytest

from mediaplane.servicekit.rate_lease import Ask, Leases
from mediaplane.servicekit.rate_limit import RateLimit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run(leases: Leases, key: str, requests: int, cost: int = 1) -> list[Ask]:
    """`requests` requests, each granted all it asks: the takes (round trips) they made."""
    asks = []
    for _ in range(requests):
        if not leases.spend(key, cost):
            ask = leases.ask(key, cost)
            asks.append(ask)
            leases.grant(key, ask.want, cost)
    return asks


def test_a_busy_owner_doubles_the_lease_up_to_k_and_then_takes_once_per_k() -> None:
    leases = Leases(8, 1.0, Clock())
    asks = run(leases, "alice", 1 + 2 + 4 + 8 * 10)
    assert [a.want for a in asks] == [1, 2, 4] + [8] * 10
    assert all(a.need == 1 for a in asks)


def test_an_expired_lease_is_dropped_and_the_next_one_is_what_it_spent() -> None:
    clock = Clock()
    leases = Leases(8, 1.0, clock)
    run(leases, "alice", 1 + 2 + 4 + 1)  # the fourth lease holds 8, one spent
    assert leases.held("alice") == 7
    clock.now += 1.0
    assert leases.held("alice") == 0
    assert not leases.spend("alice", 1)
    assert leases.ask("alice", 1) == Ask(need=1, want=1)


def test_an_owner_who_asks_now_and_then_takes_one_token_a_request() -> None:
    clock = Clock()
    leases = Leases(8, 1.0, clock)
    asks = []
    for _ in range(5):
        asks += run(leases, "bob", 1)
        clock.now += 2.0
    assert [a.want for a in asks] == [1] * 5  # nothing leased ahead, nothing wasted


def test_a_partial_lease_is_spent_and_owners_are_apart() -> None:
    leases = Leases(8, 1.0, Clock())
    run(leases, "carol", 1 + 2)
    ask = leases.ask("carol", 1)
    assert ask == Ask(need=1, want=4)
    leases.grant("carol", 3, 1)  # the bucket held three
    assert leases.held("carol") == 2
    assert not leases.spend("dave", 1)
    assert leases.spend("carol", 2)
    assert not leases.spend("carol", 1)


def test_a_cost_above_the_lease_asks_for_the_cost_less_what_is_left() -> None:
    leases = Leases(4, 1.0, Clock())
    run(leases, "erin", 2)  # holds one of its second lease (two)
    assert leases.held("erin") == 1
    assert not leases.spend("erin", 6)
    assert leases.ask("erin", 6) == Ask(need=5, want=5)
    leases.grant("erin", 5, 6)
    assert leases.held("erin") == 0


def test_a_lease_holds_at_least_one_token_for_some_time() -> None:
    with pytest.raises(ValueError, match="at least one token"):
        Leases(0, 1.0)
    with pytest.raises(ValueError, match="at least one token"):
        Leases(4, 0.0)


@pytest.mark.parametrize(
    ("limit", "k"),
    [
        (RateLimit(), 10),
        (RateLimit(burst=5), 1),
        (RateLimit(burst=6), 1),
        (RateLimit(burst=12), 3),
        (RateLimit(burst=1000, lease=16), 16),
    ],
)
def test_k_is_the_lease_but_never_more_than_a_quarter_of_the_burst(
    limit: RateLimit, k: int
) -> None:
    assert limit.lease_tokens == k
