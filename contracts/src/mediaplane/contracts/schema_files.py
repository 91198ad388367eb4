"""Write and check the committed JSON Schemas and examples of every event version."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from mediaplane.contracts.asyncapi import asyncapi_document
from mediaplane.contracts.beacons import BEACON_REGISTRY
from mediaplane.contracts.compatibility import breaking_changes
from mediaplane.contracts.envelope import Event
from mediaplane.contracts.examples import build_examples
from mediaplane.contracts.registry import Registry

CONTRACTS_DIR = Path(__file__).resolve().parents[3]


def render_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def schema_of(cls: type[Event]) -> dict[str, Any]:
    schema: dict[str, Any] = msgspec.json.schema(cls)
    return schema


def expected_files(registry: Registry) -> dict[str, str]:
    """Relative path -> content of every schema and example file the code implies, and
    the AsyncAPI document of them all."""
    classes = {**registry.classes, **BEACON_REGISTRY.classes}
    files = {f"schemas/{tag}.json": render_json(schema_of(cls)) for tag, cls in classes.items()}
    for example in build_examples():
        files[f"examples/{example.tag()}.json"] = render_json(registry.to_builtins(example))
    files["asyncapi.json"] = render_json(asyncapi_document(registry))
    return files


@dataclass
class Report:
    drift: list[str] = field(default_factory=list)
    breaking: list[str] = field(default_factory=list)


def check(registry: Registry, root: Path = CONTRACTS_DIR) -> Report:
    """Compare the committed files with what the code generates."""
    report = Report()
    expected = expected_files(registry)
    for rel, content in expected.items():
        path = root / rel
        if not path.exists():
            report.drift.append(f"{rel}: missing (run `just schemas`)")
            continue
        committed = path.read_text()
        if committed != content:
            report.drift.append(f"{rel}: differs from the code (run `just schemas`)")
            if rel.startswith("schemas/"):
                problems = breaking_changes(json.loads(committed), json.loads(content))
                report.breaking += [f"{rel}: {p}" for p in problems]
    for folder in ("schemas", "examples"):
        for path in sorted((root / folder).glob("*.json")):
            rel = f"{folder}/{path.name}"
            if rel not in expected:
                report.drift.append(f"{rel}: no event of that version in the code")
                if folder == "schemas":
                    report.breaking.append(f"{rel}: event version removed")
    return report


def write(registry: Registry, root: Path = CONTRACTS_DIR) -> list[str]:
    """Write every file; refuses (returns the problems) when a committed version would break."""
    report = check(registry, root)
    if report.breaking:
        return report.breaking
    for rel, content in expected_files(registry).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != content:
            path.write_text(content)
    return []
