"""Is a new JSON Schema of an event version still readable by the old readers?

Within a version, the only allowed change is adding an optional field with a
default. Removing, renaming, retyping a field or making it required breaks
consumers that were written against the old schema, so it needs a new version
(and an upcaster). Descriptions and titles may change freely.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]
_COSMETIC = {"description", "title", "examples"}


def _resolve(node: Any, defs: Schema, seen: frozenset[str] = frozenset()) -> Any:
    """Inline `$ref`s so two schemas can be compared structurally."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name in seen:
                return {"$recursive": name}
            return _resolve(defs[name], defs, seen | {name})
        return {k: _resolve(v, defs, seen) for k, v in node.items() if k not in _COSMETIC}
    if isinstance(node, list):
        return [_resolve(v, defs, seen) for v in node]
    return node


def _root(schema: Schema) -> Any:
    return _resolve(schema, schema.get("$defs", {}))


def _compare(old: Any, new: Any, path: str, problems: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict) and "properties" in old:
        if "properties" not in new:
            problems.append(f"{path or '$'}: retyped (no longer an object)")
            return
        old_props, new_props = old["properties"], new["properties"]
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        for name, old_prop in old_props.items():
            where = f"{path}.{name}" if path else name
            if name not in new_props:
                problems.append(f"{where}: removed or renamed")
                continue
            if name in new_required and name not in old_required:
                problems.append(f"{where}: made required")
            _compare(old_prop, new_props[name], where, problems)
        for name in new_props.keys() - old_props.keys():
            where = f"{path}.{name}" if path else name
            if name in new_required:
                problems.append(f"{where}: added as required (old producers do not send it)")
        return
    if (
        isinstance(old, dict)
        and isinstance(new, dict)
        and old.get("type") == "array" == new.get("type")
    ):
        rest_old = {k: v for k, v in old.items() if k != "items"}
        rest_new = {k: v for k, v in new.items() if k != "items"}
        if rest_old != rest_new:
            problems.append(f"{path}: retyped ({rest_old} -> {rest_new})")
        _compare(old.get("items"), new.get("items"), f"{path}[]", problems)
        return
    if isinstance(old, dict) and isinstance(new, dict) and "anyOf" in old and "anyOf" in new:
        if len(old["anyOf"]) != len(new["anyOf"]):
            problems.append(f"{path}: retyped (union changed)")
            return
        rest_old = {k: v for k, v in old.items() if k != "anyOf"}
        rest_new = {k: v for k, v in new.items() if k != "anyOf"}
        if rest_old != rest_new:
            problems.append(f"{path}: retyped ({rest_old} -> {rest_new})")
        for i, (o, n) in enumerate(zip(old["anyOf"], new["anyOf"], strict=True)):
            _compare(o, n, f"{path}|{i}", problems)
        return
    if old != new:
        problems.append(f"{path}: retyped ({old} -> {new})")


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """Every change from `old` to `new` that an existing reader would trip on."""
    problems: list[str] = []
    _compare(_root(old), _root(new), "", problems)
    return problems
