"""The AsyncAPI document: every registered event version, its subject, payload and producer."""

from __future__ import annotations

import json

import pytest

from mediaplane.contracts import (
    BEACON_REGISTRY,
    REGISTRY,
    FileUploaded,
    FileVerified,
    build_registry,
)
from mediaplane.contracts.asyncapi import asyncapi_document, producer_of
from mediaplane.contracts.schema_files import CONTRACTS_DIR, schema_of


def test_the_committed_document_is_what_the_registry_generates() -> None:
    # `just schemas` writes it; contracts' check (test_schema_files) reports any drift.
    committed = json.loads((CONTRACTS_DIR / "asyncapi.json").read_text())
    assert committed == json.loads(json.dumps(asyncapi_document(REGISTRY)))


def test_every_event_version_has_a_channel_on_its_subject_and_one_producer() -> None:
    document = asyncapi_document(REGISTRY)
    assert document["asyncapi"] == "3.0.0"
    assert sorted(document["channels"]) == sorted(REGISTRY.tags + BEACON_REGISTRY.tags)
    # Beacons have their own stream and subject root, never `media.>`.
    assert document["channels"]["playback.beacons.v1"]["address"] == "beacon.playback.beacons.v1"
    for tag in REGISTRY.tags:
        assert document["channels"][tag]["address"] == f"media.{tag}"
        sends = [
            op
            for op in document["operations"].values()
            if op["channel"]["$ref"].endswith(f"/{tag}")
        ]
        assert [op["action"] for op in sends] == ["send"], tag
        assert sends[0]["tags"] == [{"name": producer_of(tag)}]
    assert producer_of("file.verified.v1") == "upload-gateway"
    assert producer_of("thumbnail.generated.v1") == "thumbnailer"


def test_payloads_are_the_msgspec_schemas_of_the_events() -> None:
    document = asyncapi_document(REGISTRY)
    message = document["components"]["messages"][FileVerified.tag()]
    assert message["payload"] == {"$ref": "#/components/schemas/FileVerified"}
    exact = schema_of(FileVerified)["$defs"]["FileVerified"]
    assert document["components"]["schemas"]["FileVerified"] == exact
    assert message["examples"][0]["payload"]["type"] == FileVerified.tag()
    # A superseded version says so.
    assert (
        "file.uploaded.v2" in document["components"]["messages"][FileUploaded.tag()]["description"]
    )


def test_subjects_follow_the_registry_root() -> None:
    document = asyncapi_document(build_registry("test-root"))
    assert document["channels"][FileVerified.tag()]["address"] == "test-root.file.verified.v1"


def test_an_event_family_without_a_producer_is_refused() -> None:
    with pytest.raises(ValueError, match="no producing service"):
        producer_of("billing.charged.v1")
