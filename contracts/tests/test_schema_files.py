"""The committed schemas and examples are the contract: code must not drift from them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import msgspec
import pytest

from mediaplane.contracts import ALL_EVENTS, BEACON_REGISTRY, REGISTRY, Event
from mediaplane.contracts.compatibility import breaking_changes
from mediaplane.contracts.examples import build_examples
from mediaplane.contracts.schema_files import CONTRACTS_DIR, check, schema_of, write
from mediaplane.contracts.uploads import UploadSessionCompleted


def test_committed_schemas_and_examples_equal_what_the_code_generates() -> None:
    report = check(REGISTRY)
    assert report.drift == []
    assert report.breaking == []


def test_every_registered_version_has_a_committed_schema_and_example() -> None:
    for tag in REGISTRY.tags + BEACON_REGISTRY.tags:
        assert (CONTRACTS_DIR / "schemas" / f"{tag}.json").is_file(), tag
        assert (CONTRACTS_DIR / "examples" / f"{tag}.json").is_file(), tag
    assert {e.tag() for e in build_examples()} == set(REGISTRY.tags + BEACON_REGISTRY.tags)


@pytest.mark.parametrize(
    "path", sorted((CONTRACTS_DIR / "examples").glob("*.json")), ids=lambda p: p.stem
)
def test_every_committed_example_decodes_to_its_event(path: Path) -> None:
    registry = BEACON_REGISTRY if path.stem in BEACON_REGISTRY.tags else REGISTRY
    event = msgspec.json.decode(path.read_bytes(), type=registry.class_for(path.stem))
    assert event.tag() == path.stem
    assert json.loads(registry.encode(event)) == json.loads(path.read_bytes())
    # Readers get the newest version: an older one goes through its upcasters.
    assert registry.decode(path.read_bytes()).tag() == registry.latest_tag(path.stem)


def test_every_tag_maps_to_its_subject() -> None:
    for cls in ALL_EVENTS:
        tag = cls.tag()
        assert REGISTRY.subject(tag) == f"media.{tag}"
        assert REGISTRY.tag_of_subject(f"media.{tag}") == tag
        assert REGISTRY.class_for(tag) is cls
    assert len(set(REGISTRY.tags)) == len(ALL_EVENTS)


def test_every_event_is_frozen_kw_only_and_tagged_on_type() -> None:
    for cls in ALL_EVENTS:
        config = cls.__struct_config__
        assert config.frozen, cls
        assert config.tag_field == "type", cls
        assert config.tag == cls.tag(), cls
        assert config.forbid_unknown_fields is False, cls
        with pytest.raises(TypeError):
            cls("positional")  # type: ignore[call-arg, arg-type]


# -- compatibility: a deliberately broken copy of a published version ---------------------


class _Removed(Event, tag="upload.session.completed.v1", frozen=True, kw_only=True):
    session_id: str
    file_id: str
    size: int
    part_count: int  # `etag` removed


class _Renamed(Event, tag="upload.session.completed.v1", frozen=True, kw_only=True):
    session_id: str
    file_id: str
    size_bytes: int  # was `size`
    etag: str
    part_count: int


class _Retyped(Event, tag="upload.session.completed.v1", frozen=True, kw_only=True):
    session_id: str
    file_id: str
    size: str  # was an integer >= 0
    etag: str
    part_count: int


class _MadeRequired(Event, tag="upload.session.completed.v1", frozen=True, kw_only=True):
    session_id: str
    file_id: str
    size: int
    etag: str
    part_count: int
    causation_id: str  # optional in the envelope, required here


class _NewRequired(Event, tag="upload.session.completed.v1", frozen=True, kw_only=True):
    session_id: str
    file_id: str
    size: int
    etag: str
    part_count: int
    storage_class: str


class _AddedOptional(
    UploadSessionCompleted, tag="upload.session.completed.v1", frozen=True, kw_only=True
):
    storage_class: str | None = None


def _published() -> dict[str, object]:
    schema: dict[str, object] = json.loads(
        (CONTRACTS_DIR / "schemas" / "upload.session.completed.v1.json").read_text()
    )
    return schema


def _broken(cls: type[Event]) -> dict[str, object]:
    schema = schema_of(cls)
    # The broken copies have other class names; rename so only the fields differ.
    text = msgspec.json.encode(schema).decode().replace(cls.__name__, "UploadSessionCompleted")
    decoded: dict[str, object] = json.loads(text)
    return decoded


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (_Removed, "etag: removed or renamed"),
        (_Renamed, "size: removed or renamed"),
        (_Retyped, "size: retyped"),
        (_MadeRequired, "causation_id: made required"),
        (_NewRequired, "storage_class: added as required"),
    ],
)
def test_compatibility_check_refuses_a_broken_copy(cls: type[Event], expected: str) -> None:
    problems = breaking_changes(_published(), _broken(cls))
    assert any(p.startswith(expected) for p in problems), problems


def test_adding_an_optional_field_is_compatible() -> None:
    assert breaking_changes(_published(), _broken(_AddedOptional)) == []


def test_schemas_command_refuses_to_overwrite_a_published_version_with_a_breaking_change(
    tmp_path: Path,
) -> None:
    root = tmp_path / "contracts"
    shutil.copytree(CONTRACTS_DIR / "schemas", root / "schemas")
    shutil.copytree(CONTRACTS_DIR / "examples", root / "examples")
    published = root / "schemas" / "upload.session.completed.v1.json"
    schema = json.loads(published.read_text())
    # Pretend the published version had a field that the code has since dropped.
    schema["$defs"]["UploadSessionCompleted"]["properties"]["checksum"] = {"type": "string"}
    published.write_text(json.dumps(schema))

    problems = write(REGISTRY, root)

    assert problems == ["schemas/upload.session.completed.v1.json: checksum: removed or renamed"]
    assert "checksum" in published.read_text()  # nothing was overwritten
