"""Every refusal the identity domain and application can raise has a declared HTTP answer."""

from __future__ import annotations

import inspect

from mediaplane.domain import DomainError
from mediaplane.identity.api.problems import PROBLEMS
from mediaplane.identity.app import accounts, federation, provider
from mediaplane.identity.domain import errors
from mediaplane.servicekit import pagination


def _codes() -> set[str]:
    classes = [
        obj
        for module in (errors, accounts, federation, provider, pagination)
        for _, obj in inspect.getmembers(module, inspect.isclass)
    ]
    return {c.code for c in classes if issubclass(c, DomainError) and c is not DomainError}


def test_every_domain_error_code_maps_to_a_problem() -> None:
    codes = _codes()
    assert {"invalid_credentials", "identity_linked_elsewhere"} <= codes
    assert codes - PROBLEMS.keys() == set()


def test_no_table_entry_without_a_domain_error() -> None:
    assert PROBLEMS.keys() - _codes() == set()


def test_the_codes_are_the_contract() -> None:
    statuses = {code: problem.status for code, problem in PROBLEMS.items()}
    assert (statuses["invalid_credentials"], statuses["user_exists"]) == (401, 409)
    assert (statuses["link_invalid"], statuses["upstream_refused"]) == (410, 502)
