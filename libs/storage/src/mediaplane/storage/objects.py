"""Single-object operations (blocking SDK calls; `ObjectStore` runs them in threads)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from pathlib import Path

from minio import Minio
from minio.commonconfig import ComposeSource, CopySource
from minio.deleteobjects import DeleteObject
from minio.error import S3Error
from minio.helpers import DictType
from urllib3 import BaseHTTPResponse

from mediaplane.storage.errors import StorageError
from mediaplane.storage.models import ObjectInfo, ObjectSummary

_META_PREFIX = "x-amz-meta-"
DEFAULT_CONTENT_TYPE = "application/octet-stream"


def metadata_headers(metadata: Mapping[str, str] | None) -> DictType:
    """User metadata as request headers (values must be US-ASCII, an S3 rule)."""
    return {f"{_META_PREFIX}{name.lower()}": value for name, value in (metadata or {}).items()}


def written_etag(etag: str | None, bucket: str, key: str) -> str:
    # Every S3 write answers with an ETag; callers store it as the version
    # they wrote, so a missing one is a server fault, not an empty string.
    if not etag:
        raise StorageError(f"the server returned no ETag for {bucket}/{key}")
    return etag


def stat_object(client: Minio, bucket: str, key: str) -> ObjectInfo:
    found = client.stat_object(bucket, key)
    metadata = {
        name.lower().removeprefix(_META_PREFIX): value
        for name, value in (found.metadata or {}).items()
        if name.lower().startswith(_META_PREFIX) and isinstance(value, str)
    }
    return ObjectInfo(
        key=key,
        size=found.size or 0,
        etag=found.etag or "",
        content_type=found.content_type,
        last_modified=found.last_modified,
        metadata=metadata,
    )


def open_object(
    client: Minio, bucket: str, key: str, *, offset: int, length: int | None
) -> BaseHTTPResponse:
    """A streaming response for bytes `offset .. offset+length-1` (to the end when None)."""
    if offset < 0 or (length is not None and length < 1):
        raise ValueError(f"invalid range: offset={offset}, length={length}")
    response: BaseHTTPResponse = client.get_object(bucket, key, offset=offset, length=length or 0)
    return response


def put_bytes(
    client: Minio,
    bucket: str,
    key: str,
    data: bytes,
    *,
    content_type: str,
    metadata: Mapping[str, str] | None,
) -> str:
    result = client.put_object(
        bucket,
        key,
        io.BytesIO(data),
        len(data),
        content_type=content_type,
        metadata=metadata_headers(metadata),
    )
    return written_etag(result.etag, bucket, key)


def upload_file(
    client: Minio,
    bucket: str,
    key: str,
    path: Path,
    *,
    content_type: str,
    metadata: Mapping[str, str] | None,
) -> str:
    """Upload from disk; the SDK switches to multipart for large files."""
    result = client.fput_object(
        bucket, key, str(path), content_type=content_type, metadata=metadata_headers(metadata)
    )
    return written_etag(result.etag, bucket, key)


def copy_object(
    client: Minio, source_bucket: str, source_key: str, bucket: str, key: str, *, part_size: int
) -> str:
    """Server-side copy; the bytes never leave the S3 server.

    Up to `part_size` bytes it is one CopyObject request (S3 allows up to
    5 GiB); a larger object is copied as a multipart upload of UploadPartCopy
    ranges of `part_size` bytes. Every request is conditional on the ETag read
    first, so an object overwritten during the copy fails it (412) rather than
    producing a mix of old and new bytes.
    """
    found = client.stat_object(source_bucket, source_key)
    size, etag = found.size or 0, found.etag or ""
    if size <= part_size:
        result = client.copy_object(
            bucket, key, CopySource(source_bucket, source_key, match_etag=etag)
        )
    else:
        ranges = [
            ComposeSource(
                source_bucket,
                source_key,
                offset=offset,
                length=min(part_size, size - offset),
                match_etag=etag,
            )
            for offset in range(0, size, part_size)
        ]
        result = client.compose_object(bucket, key, ranges)
    return written_etag(result.etag, bucket, key)


def delete_object(client: Minio, bucket: str, key: str) -> None:
    """Idempotent: deleting a missing object succeeds, as in S3."""
    try:
        client.remove_object(bucket, key)
    except S3Error as error:
        if error.code != "NoSuchKey":
            raise


def delete_objects(client: Minio, bucket: str, keys: Iterable[str]) -> None:
    """Delete in batches of 1000; missing keys are not errors (S3 semantics)."""
    failures = [
        f"{error.name}: {error.code}"
        for error in client.remove_objects(bucket, (DeleteObject(key) for key in keys))
    ]
    if failures:
        raise StorageError(f"could not delete from {bucket}: {', '.join(failures)}")


def list_objects(client: Minio, bucket: str, prefix: str) -> list[ObjectSummary]:
    return [
        ObjectSummary(
            key=found.object_name,
            size=found.size,
            etag=found.etag,
            last_modified=found.last_modified,
        )
        for found in client.list_objects(bucket, prefix=prefix, recursive=True)
        if not found.is_dir
    ]


def ensure_bucket(client: Minio, bucket: str) -> None:
    if client.bucket_exists(bucket):
        return
    try:
        client.make_bucket(bucket)
    except S3Error as error:
        # Another replica may have created it between the two calls; a
        # bucket of someone else's fails the second check with AccessDenied.
        already = error.code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists")
        if not (already and client.bucket_exists(bucket)):
            raise
