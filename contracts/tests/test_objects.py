"""The object-reference check every consumer of bucket/object_key events applies."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mediaplane.contracts import ObjectReference, names_object, object_reference_problem
from mediaplane.contracts.examples import build_examples

BUCKETS = {"originals"}


@dataclass(frozen=True)
class Ref:
    owner: str
    bucket: str
    object_key: str


@pytest.mark.parametrize(
    "key", ["alice/0f1e", "alice/0f1e/upload", "alice/0f1e/original", "alice/a.b/c"]
)
def test_a_key_under_its_owner_in_an_expected_bucket_is_trusted(key: str) -> None:
    assert object_reference_problem(Ref("alice", "originals", key), BUCKETS) is None


@pytest.mark.parametrize(
    ("ref", "problem"),
    [
        (Ref("alice", "originals", "bob/0f1e"), "not under its owner's prefix 'alice/'"),
        (Ref("alice", "originals", "alice2/0f1e"), "not under its owner's prefix"),
        (Ref("alice", "originals", "alice"), "empty or relative path segment"),
        (Ref("alice", "originals", "/alice/0f1e"), "not under its owner's prefix"),
        (Ref("alice", "originals", "alice/"), "empty or relative path segment"),
        (Ref("alice", "originals", "alice/../bob/0f1e"), "empty or relative path segment"),
        (Ref("alice", "originals", "alice//x"), "empty or relative path segment"),
        (Ref("alice", "thumbnails", "alice/0f1e"), "bucket 'thumbnails' is not one of"),
        (Ref("", "originals", "/0f1e"), "is not a single path segment"),
        (Ref("a/b", "originals", "a/b/0f1e"), "is not a single path segment"),
    ],
)
def test_anything_else_is_refused_with_a_reason(ref: Ref, problem: str) -> None:
    reason = object_reference_problem(ref, BUCKETS)
    assert reason is not None
    assert problem in reason


@dataclass(frozen=True)
class Copied(Ref):
    original_key: str


def test_the_original_key_of_an_upload_is_checked_too() -> None:
    good = Copied("alice", "originals", "alice/f/upload", "alice/f/original")
    assert object_reference_problem(good, BUCKETS) is None
    stolen = Copied("alice", "originals", "alice/f/upload", "bob/f/original")
    assert object_reference_problem(stolen, BUCKETS) == (
        "object key 'bob/f/original' is not under its owner's prefix 'alice/'"
    )


def test_names_object_answers_as_the_protocol_does_for_every_event_class() -> None:
    """Decided once per class: the same answer as `isinstance`, for each registered event."""
    examples = build_examples()
    assert any(names_object(event) for event in examples)
    for event in examples:
        assert names_object(event) == isinstance(event, ObjectReference), type(event)
    assert not names_object(object())
