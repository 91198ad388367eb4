"""Schemathesis against a running public API: does it answer what its OpenAPI document says?

Every operation of the document gets the document's examples, `max_examples`
generated requests that match the schema and as many that do not, then
Schemathesis' coverage phase (boundary values, missing required values,
methods the document does not list), each sent with the caller's headers and
checked by every built-in check (no server error, documented status code,
content type, headers and response schema, authentication enforced, `Allow`
on OPTIONS, ...).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Collection, Generator, Mapping, Sequence
from typing import Any

import hypothesis
import schemathesis
import schemathesis.engine
import uvicorn
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from litestar import Litestar
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Err
from schemathesis.engine import events
from schemathesis.schemas import BaseSchema

from mediaplane.devstack.ports import free_port_block
from mediaplane.devstack.pytest_plugin import wait_until_ok


class _Server(uvicorn.Server):
    """uvicorn that leaves the test process's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[str]:
    """`app` served by uvicorn on a free loopback port (lifespan and all), as a base URL;
    shut down as in production (the lifespan closes what it opened) when the block ends."""
    port = free_port_block(1)
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_until_ok(f"{base_url}/health/ready")
        yield base_url
    finally:
        server.should_exit = True
        await task


# A request the schema allows may still be refused by a rule no JSON Schema holds: the
# configured content-type allow list (415), the owner's quota (413), a session's state and
# expiry (409, 410), what the domain accepts as a filename or tag (422). Those answers are
# documented; every other status still fails `positive_data_acceptance`.
DOMAIN_REFUSALS = (409, 410, 413, 415, 422)
_SETTINGS: dict[str, Any] = {
    # The APIs ignore query parameters they do not read, as HTTP APIs commonly do (a
    # cache-buster does no harm); the document lists every parameter a route reads.
    # Every API refuses a NUL character in the query or path before its handler (servicekit,
    # docs/service-conventions.md), a rule no JSON Schema of a string says: generate none.
    "generation": {"allow-extra-parameters": False, "allow-x00": False},
    "checks": {
        "positive_data_acceptance": {
            "expected-statuses": [
                "2XX",
                "3XX",
                "401",
                "403",
                "404",
                "429",
                "5XX",
                *map(str, DOMAIN_REFUSALS),
            ]
        }
    },
}
_CONFIG = SchemathesisConfig.from_dict(_SETTINGS)


def _with_known(
    known: Mapping[str, Sequence[str]],
) -> Callable[[schemathesis.Case[Any]], SearchStrategy[schemathesis.Case[Any]]]:
    def choose(case: schemathesis.Case[Any]) -> SearchStrategy[schemathesis.Case[Any]]:
        names = [name for name in case.path_parameters if known.get(name)]
        if not names:
            return st.just(case)

        def fill(values: dict[str, str]) -> schemathesis.Case[Any]:
            case.path_parameters.update(values)
            return case

        return st.fixed_dictionaries({n: st.sampled_from(known[n]) for n in names}).map(fill)

    return choose


def conformance_failures(
    document: dict[str, Any],
    *,
    base_url: str,
    headers: Mapping[str, str],
    max_examples: int,
    skip: Collection[str] = (),
    formats: Mapping[str, SearchStrategy[str]] | None = None,
    known: Mapping[str, Sequence[str]] | None = None,
) -> list[str]:
    """What failed a check, per operation (with the request to repeat it). `skip` names
    operations (`GET /v1/events`) a request/response check cannot cover, such as an
    endless stream; say why where you pass it. `formats` generate the values of the
    document's own string formats (an opaque cursor: only one the API issued is valid).
    `known` names path parameters (`file_id`) and values of resources that exist: half
    the valid requests use them, so successful answers are checked too, not only 404s."""
    for name, values in (formats or {}).items():
        schemathesis.openapi.format(name, values)
    schema = schemathesis.openapi.from_dict(document, config=_CONFIG)
    failures: list[str] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"the document is invalid: {result.err()}")
            continue
        operation = result.ok()
        if operation.label in skip:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)
            if mode is GenerationMode.POSITIVE:
                # The document's own examples too (a body that opens an upload).
                strategy = st.one_of(strategy, *schema.get_strategies_from_examples(operation))
                if known:
                    strategy = st.one_of(strategy, strategy.flatmap(_with_known(known)))

            # Generation, no shrinking: the report already holds a request to repeat, and
            # shrinking would make the suite's run time depend on what failed.
            @hypothesis.settings(
                max_examples=max_examples,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                suppress_health_check=list(hypothesis.HealthCheck),
            )
            @hypothesis.given(case=strategy)
            def check(case: schemathesis.Case[Any]) -> None:
                case.call_and_validate(base_url=base_url, headers=_headers_for(case, headers))

            try:
                check()
            except Exception as error:  # every check's failure, reported per operation
                failures.append(f"{operation.label} ({mode.value}): {error}")
    failures += _coverage_failures(document, base_url=base_url, headers=headers, skip=skip)
    return failures


def _headers_for(case: schemathesis.Case[Any], headers: Mapping[str, str]) -> dict[str, str]:
    """The caller's headers for `case`, without its credentials when the case's negated
    component is its headers and it has no `Authorization`: the mutation dropped the
    required bearer (the document's security), and adding ours back would send a valid
    request that Schemathesis then reports as schema-violating data accepted."""
    sent = dict(headers)
    header = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    dropped = "authorization" not in {name.lower() for name in case.headers or {}}
    if header is not None and header.mode is GenerationMode.NEGATIVE and dropped:
        sent = {k: v for k, v in sent.items() if k.lower() != "authorization"}
    return sent


def _coverage_failures(
    document: dict[str, Any], *, base_url: str, headers: Mapping[str, str], skip: Collection[str]
) -> list[str]:
    """Schemathesis' coverage phase (as `schemathesis run` has it): the boundaries of every
    parameter and body, missing required values, methods the document does not list."""
    config = SchemathesisConfig.from_dict(
        {
            **_SETTINGS,
            # Nothing written to the working tree (replays of past failures live there).
            "cache": {"enabled": False},
            "base-url": base_url,
            "headers": dict(headers),
            "phases": {
                "examples": {"enabled": False},
                "fuzzing": {"enabled": False},
                "stateful": {"enabled": False},
            },
            "generation": {**_SETTINGS["generation"], "deterministic": True},
        }
    )
    schema: BaseSchema = schemathesis.openapi.from_dict(document, config=config)
    for label in skip:
        method, _, path = label.partition(" ")
        schema = schema.exclude(method=method, path=path)
    failures: list[str] = []
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.NonFatalError | events.FatalError):
            failures.append(f"coverage: {event}")
        if not isinstance(event, events.ScenarioFinished):
            continue
        for checks in event.recorder.checks.values():
            for check in checks:
                if check.failure_info is not None:
                    failures.append(
                        f"{event.recorder.label} (coverage): {check.failure_info.failure.title}"
                        f"\n{check.failure_info.code_sample}"
                    )
    return failures
