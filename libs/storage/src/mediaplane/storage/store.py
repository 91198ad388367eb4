"""`ObjectStore`: the one adapter between mediaplane and the minio SDK.

The SDK is blocking; every call that does I/O runs in a worker thread so the
event loop keeps serving. Presigning is CPU-only and stays synchronous.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import ParamSpec, TypeVar

from mediaplane.storage import multipart, objects, presign
from mediaplane.storage.errors import BucketNotFound, translated_errors
from mediaplane.storage.models import (
    CompletedPart,
    InProgressUpload,
    ObjectInfo,
    ObjectSummary,
    PresignedRequest,
    UploadedPart,
)
from mediaplane.storage.sdk import sdk_client
from mediaplane.storage.settings import StorageSettings

DEFAULT_CHUNK_SIZE = 1024 * 1024

_P = ParamSpec("_P")
_T = TypeVar("_T")


async def _run(call: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    with translated_errors():
        return await asyncio.to_thread(call, *args, **kwargs)


class ObjectStore:
    """Buckets, objects, multipart uploads and presigned URLs on an S3 server."""

    def __init__(self, settings: StorageSettings) -> None:
        self.settings = settings
        self._client = sdk_client(settings.endpoint, settings)
        # Signatures cover the Host header, so URLs for clients are signed by
        # a client built for the public host; it never sends a request.
        self._presigner = sdk_client(settings.presign_endpoint, settings)

    # Buckets

    async def require_buckets(self, *buckets: str) -> None:
        """Raise `BucketNotFound` unless every bucket exists: a service's check at start.

        Services never create buckets (`mediaplane.storage.permissions`): the S3
        admin does, before they start (`just up`, compose's `s3-init` job).
        """
        for bucket in buckets:
            try:
                await _run(multipart.check_bucket, self._client, bucket)
            except BucketNotFound as missing:
                raise BucketNotFound(
                    f"bucket {bucket!r} does not exist: the S3 admin creates it "
                    "(`python -m mediaplane.storage ensure-buckets`)",
                    code="NoSuchBucket",
                ) from missing

    # Presigned URLs (no I/O)

    def presign_put(
        self,
        bucket: str,
        key: str,
        *,
        expires: timedelta,
        sha256: bytes | None = None,
        content_type: str | None = None,
        content_length: int | None = None,
    ) -> PresignedRequest:
        """A single-request upload; with `sha256` (raw digest) the server rejects other
        bytes, with `content_length` a body of any other length (both are signed)."""
        return presign.presign_put(
            self._presigner,
            bucket,
            key,
            expires=expires,
            sha256=sha256,
            content_type=content_type,
            content_length=content_length,
        )

    def presign_upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        *,
        expires: timedelta,
        sha256: bytes | None = None,
    ) -> PresignedRequest:
        return presign.presign_upload_part(
            self._presigner, bucket, key, upload_id, part_number, expires=expires, sha256=sha256
        )

    def presign_get(
        self,
        bucket: str,
        key: str,
        *,
        expires: timedelta,
        filename: str | None = None,
        content_type: str | None = None,
        inline: bool = False,
        cache_control: str | None = None,
        signed_at: datetime | None = None,
    ) -> PresignedRequest:
        return presign.presign_get(
            self._presigner,
            bucket,
            key,
            expires=expires,
            filename=filename,
            content_type=content_type,
            inline=inline,
            cache_control=cache_control,
            signed_at=signed_at,
        )

    # Multipart uploads

    async def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        return await _run(
            multipart.create_upload,
            self._client,
            bucket,
            key,
            content_type=content_type,
            metadata=metadata,
        )

    async def list_parts(
        self, bucket: str, key: str, upload_id: str, *, page_size: int = multipart.MAX_PAGE_SIZE
    ) -> list[UploadedPart]:
        return await _run(
            multipart.list_parts, self._client, bucket, key, upload_id, page_size=page_size
        )

    async def complete_multipart_upload(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[CompletedPart]
    ) -> str:
        return await _run(multipart.complete_upload, self._client, bucket, key, upload_id, parts)

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        await _run(multipart.abort_upload, self._client, bucket, key, upload_id)

    async def list_multipart_uploads(
        self, bucket: str, *, prefix: str = "", page_size: int = multipart.MAX_PAGE_SIZE
    ) -> list[InProgressUpload]:
        return await _run(
            multipart.list_uploads, self._client, bucket, prefix=prefix, page_size=page_size
        )

    # Objects

    async def stat(self, bucket: str, key: str) -> ObjectInfo:
        """Size, ETag, type and metadata; raises `ObjectNotFound` when missing."""
        return await _run(objects.stat_object, self._client, bucket, key)

    async def iter_object(
        self,
        bucket: str,
        key: str,
        *,
        offset: int = 0,
        length: int | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> AsyncGenerator[bytes, None]:
        """The object's bytes (or a range of them) in chunks, never all in memory.

        Stop early with `contextlib.aclosing(...)` so the connection is closed
        at once rather than when the generator is garbage-collected.
        """
        response = await _run(
            objects.open_object, self._client, bucket, key, offset=offset, length=length
        )
        try:
            while True:
                # No decoding: callers get the stored bytes even when the
                # object was uploaded with a Content-Encoding.
                chunk = await _run(response.read, chunk_size, decode_content=False)
                if not chunk:
                    return
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def put_bytes(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str = objects.DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Write a small object in one request; returns its ETag."""
        return await _run(
            objects.put_bytes,
            self._client,
            bucket,
            key,
            data,
            content_type=content_type,
            metadata=metadata,
        )

    async def upload_file(
        self,
        bucket: str,
        key: str,
        path: Path,
        *,
        content_type: str = objects.DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Write a local file (renditions, thumbnails); returns its ETag."""
        return await _run(
            objects.upload_file,
            self._client,
            bucket,
            key,
            path,
            content_type=content_type,
            metadata=metadata,
        )

    async def copy(self, source_bucket: str, source_key: str, bucket: str, key: str) -> str:
        """Server-side copy; returns the copy's ETag.

        Objects above `settings.multipart_copy_threshold` are copied in parts
        of that size (UploadPartCopy), so any size up to the S3 maximum works.
        """
        return await _run(
            objects.copy_object,
            self._client,
            source_bucket,
            source_key,
            bucket,
            key,
            part_size=self.settings.multipart_copy_threshold,
        )

    async def delete(self, bucket: str, key: str) -> None:
        """Idempotent: deleting a missing object succeeds."""
        await _run(objects.delete_object, self._client, bucket, key)

    async def delete_many(self, bucket: str, keys: Iterable[str]) -> None:
        await _run(objects.delete_objects, self._client, bucket, list(keys))

    async def list_objects(self, bucket: str, prefix: str = "") -> list[ObjectSummary]:
        """Every object under `prefix` (recursively), in key order."""
        return await _run(objects.list_objects, self._client, bucket, prefix)
