"""Which stored objects an event announces for a file (pure: no I/O)."""

from __future__ import annotations

import posixpath
import uuid
from dataclasses import dataclass
from typing import Literal

from mediaplane.contracts import FileUploadedV2, ThumbnailGenerated, TranscodeCompleted

ObjectKind = Literal["original", "staging", "rendition", "thumbnail"]


@dataclass(frozen=True, kw_only=True)
class ObjectRef:
    """One object, or every object under `key` when `is_prefix`."""

    bucket: str
    key: str
    kind: ObjectKind
    is_prefix: bool = False


def original_of(event: FileUploadedV2) -> list[ObjectRef]:
    """The immutable original and the staging object the client wrote (one key for
    uploads of the old layout, `file.uploaded.v1`)."""
    original = ObjectRef(bucket=event.bucket, key=event.original_key, kind="original")
    if event.object_key == event.original_key:
        return [original]
    return [original, ObjectRef(bucket=event.bucket, key=event.object_key, kind="staging")]


def thumbnails_of(event: ThumbnailGenerated) -> list[ObjectRef]:
    return [
        ObjectRef(bucket=event.bucket, key=thumbnail.key, kind="thumbnail")
        for thumbnail in event.thumbnails
    ]


def renditions_of(event: TranscodeCompleted) -> list[ObjectRef]:
    """The folder holding the master playlist, the rendition playlists and their segments.

    Segments are not named in the event, so the folder is listed at purge
    time. Only a folder with the file id as one of its path segments is
    trusted as a prefix: a shorter one (`hls/`, or the bucket root) could
    hold other files' objects. Otherwise only the named playlists are known.
    """
    keys = [event.master_playlist_key, *(r.playlist_key for r in event.renditions)]
    folder = posixpath.commonpath([posixpath.dirname(key) for key in keys])
    if _names_file(folder, event.file_id):
        return [ObjectRef(bucket=event.bucket, key=f"{folder}/", kind="rendition", is_prefix=True)]
    return [
        ObjectRef(bucket=event.bucket, key=key, kind="rendition") for key in dict.fromkeys(keys)
    ]


def _names_file(folder: str, file_id: uuid.UUID) -> bool:
    return str(file_id) in folder.split("/")


def managed(refs: list[ObjectRef], buckets: frozenset[str]) -> list[ObjectRef]:
    """Only objects in the buckets the janitor cleans: an event cannot aim it elsewhere."""
    return [ref for ref in refs if ref.bucket in buckets]
