"""HTTP request bodies: strict (unknown fields refused), with limits the OpenAPI shows."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Sha256 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$", description="lowercase hex SHA-256")]
PartNumber = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
TagName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["holiday"])]


class OpenUploadBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    filename: Annotated[str, msgspec.Meta(min_length=1, max_length=1024, examples=["holiday.mp4"])]
    size: Annotated[int, msgspec.Meta(ge=1, le=2**53, examples=[10_485_760])]
    content_type: Annotated[
        str,
        msgspec.Meta(
            min_length=3,
            max_length=255,
            description="a media type the gateway allows (else 415)",
            examples=["video/mp4"],
        ),
    ]
    sha256: Sha256 | None = None
    tags: Annotated[list[TagName], msgspec.Meta(max_length=32)] = msgspec.field(
        default_factory=list
    )
    # A word, not a boolean: the request decoder would read 0 or "false" as a bool.
    location: Annotated[
        Literal["strip", "keep"],
        msgspec.Meta(
            description="`keep`: keep a picture's GPS location in its metadata (opt-in);"
            " `strip` (default): it never reaches an event or the API"
        ),
    ] = "strip"


class PartToSign(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    number: PartNumber
    sha256: Sha256 | None = None


class SignPartsBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    parts: Annotated[list[PartToSign], msgspec.Meta(min_length=1, max_length=1000)]


class CompletedPartBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    number: PartNumber
    etag: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class CompleteBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    parts: Annotated[list[CompletedPartBody], msgspec.Meta(max_length=10_000)] = msgspec.field(
        default_factory=list
    )


class CreateTagsBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    names: Annotated[list[TagName], msgspec.Meta(min_length=1, max_length=100)]


class SetTagsBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    tags: Annotated[list[TagName], msgspec.Meta(max_length=32)]


class ReasonBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Why: shown to moderators (a report) or to the owner (a takedown or restore)."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class DismissBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    note: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class ReprocessBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which worker's job to run again: `thumbnails`, `transcode` or `variants`.

    A plain string, checked by the file decider: an unknown target is answered 422
    `invalid_reprocess_target` (a stable code), not a schema error."""

    target: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=32,
            description="thumbnails | transcode | variants",
            examples=["transcode"],
        ),
    ]


Filter = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class DiscardBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Why the dead letter is dropped (shown in the audit log)."""

    note: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class RedriveMatchingBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which dead letters to redrive (every filter optional; all must match), oldest first,
    at most `limit` of them after DLQ sequence `after`."""

    consumer: Filter | None = None
    subject: Filter | None = None
    reason: Filter | None = None
    after: Annotated[int, msgspec.Meta(ge=0)] = 0
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 100
