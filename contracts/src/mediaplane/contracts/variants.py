"""thumbnailer's on-demand variants (stream `variant-<sha256>-<spec>`).

A variant is keyed by the source bytes (`sha256`) and the normalized spec, not by
the file: two files with the same bytes share it. `file_id` names the file it
was first requested for (the catalog's ledger files the event under it).
"""

from __future__ import annotations

import uuid

from mediaplane.contracts.envelope import Bytes, Event, Sha256Hex


class VariantGenerated(Event, tag="variant.generated.v1", frozen=True, kw_only=True):
    """The variant is stored: `bucket`/`key`, its size in pixels and bytes, its format."""

    file_id: uuid.UUID
    sha256: Sha256Hex
    spec: str
    bucket: str
    key: str
    width: int
    height: int
    format: str
    size: Bytes


class VariantFailed(Event, tag="variant.failed.v1", frozen=True, kw_only=True):
    """The source cannot give this variant. `code`: corrupt_input, too_large,
    unsupported_media, container_refused, source_missing, original_changed,
    resource_limit, watermark_does_not_fit."""

    file_id: uuid.UUID
    sha256: Sha256Hex
    spec: str
    code: str
    detail: str


class VariantDropped(Event, tag="variant.dropped.v1", frozen=True, kw_only=True):
    """An admin's re-run of a file's variants (`file.reprocess_requested.v2`, target
    `variants`) removed this variant's object and record; the next request makes it again.
    `file_id` is the file the re-run named; `key` is None for a recorded failure."""

    file_id: uuid.UUID
    sha256: Sha256Hex
    spec: str
    bucket: str | None
    key: str | None
    requested_by: str
