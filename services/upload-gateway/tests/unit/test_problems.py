"""Every refusal the gateway's domain and application can raise has a declared HTTP answer."""

from __future__ import annotations

import inspect

from mediaplane.domain import DomainError
from mediaplane.upload_gateway.api.problems import PROBLEMS
from mediaplane.upload_gateway.app import service
from mediaplane.upload_gateway.domain import errors


def _codes() -> set[str]:
    classes = [
        *(obj for _, obj in inspect.getmembers(errors, inspect.isclass)),
        *(obj for _, obj in inspect.getmembers(service, inspect.isclass)),
    ]
    return {c.code for c in classes if issubclass(c, DomainError) and c is not DomainError}


def test_every_domain_error_code_maps_to_a_problem() -> None:
    codes = _codes()
    assert "quota_exceeded" in codes
    assert "concurrent_modification" in codes
    assert codes - PROBLEMS.keys() == set()


def test_client_errors_are_4xx_and_the_codes_are_the_contract() -> None:
    assert all(400 <= problem.status < 500 for problem in PROBLEMS.values())
    assert (PROBLEMS["session_not_found"].status, PROBLEMS["quota_exceeded"].status) == (404, 413)
