"""How `pytest -n` spreads the suite over its workers.

Test by test, as xdist's `load` does, except that every test under one of the
paths the `one_worker_paths` setting lists goes to the same worker, in order:
such tests share a fixture of the session (the platform tests' private
platform), which a second worker would start again beside the first. xdist's
own `loadgroup` does this by a mark, but pytest 9 no longer reads the node id
xdist rewrites for it, so its groups are silently ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest


def scope_of(nodeid: str, paths: Sequence[str]) -> str:
    """The unit of work `nodeid` is sent in: its path's, or its own."""
    for path in paths:
        if nodeid.startswith(path.rstrip("/") + "/"):
            return path
    return nodeid


def make_scheduler(config: pytest.Config, log: object, paths: Sequence[str]) -> object:
    """xdist's scope scheduler with `scope_of` as its scopes (xdist is imported here,
    so the plugin loads without it)."""
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class OneWorkerPaths(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid, paths)

    return OneWorkerPaths(config, log)
