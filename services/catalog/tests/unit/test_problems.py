"""Every refusal the catalog's domain can raise has a declared HTTP answer."""

from __future__ import annotations

import inspect

from mediaplane.catalog.api.problems import PROBLEMS
from mediaplane.domain import DomainError
from mediaplane.servicekit import pagination


def test_every_domain_error_code_maps_to_a_problem() -> None:
    codes = {
        c.code
        for _, c in inspect.getmembers(pagination, inspect.isclass)
        if issubclass(c, DomainError) and c is not DomainError
    }
    assert codes == {"invalid_cursor"}
    assert codes - PROBLEMS.keys() == set()
    assert PROBLEMS["invalid_cursor"].status == 400
