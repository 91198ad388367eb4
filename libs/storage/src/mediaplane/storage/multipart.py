"""Multipart uploads through the minio SDK's private methods.

minio 7.2.20 exposes CreateMultipartUpload, ListParts, CompleteMultipartUpload,
AbortMultipartUpload and ListMultipartUploads only as underscore methods. They
are called here and nowhere else, the version is pinned in pyproject.toml, and
the contract tests in tests/ run them against a real S3 server: an SDK upgrade
that changes them fails those tests rather than production.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from minio import Minio
from minio.datatypes import Part
from minio.error import S3Error
from minio.helpers import DictType

from mediaplane.storage.errors import StorageError
from mediaplane.storage.models import CompletedPart, InProgressUpload, UploadedPart
from mediaplane.storage.objects import metadata_headers, written_etag

MAX_PAGE_SIZE = 1000


def create_upload(
    client: Minio,
    bucket: str,
    key: str,
    *,
    content_type: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> str:
    """Start an upload and return its id; type and metadata apply to the final object."""
    headers: DictType = {"Content-Type": content_type or "application/octet-stream"}
    headers.update(metadata_headers(metadata))
    return client._create_multipart_upload(bucket, key, headers)


def list_parts(
    client: Minio, bucket: str, key: str, upload_id: str, *, page_size: int = MAX_PAGE_SIZE
) -> list[UploadedPart]:
    """Every part uploaded so far, in part-number order, across all pages.

    No checksum is reported: minio 7.2.20 does not parse ChecksumSHA256 from
    ListParts and SeaweedFS 4.48 does not send it. Part checksums are enforced
    when each part is uploaded (signed into the part URL) instead.
    """
    parts: list[UploadedPart] = []
    marker: str | None = None
    while True:
        page = client._list_parts(
            bucket, key, upload_id, max_parts=page_size, part_number_marker=marker
        )
        parts.extend(
            UploadedPart(
                number=part.part_number,
                etag=part.etag,
                size=part.size,
                last_modified=part.last_modified,
            )
            for part in page.parts
        )
        if not page.is_truncated:
            return parts
        if not page.parts:
            raise StorageError(f"ListParts of {upload_id} is truncated but returned no part")
        marker = page.next_part_number_marker or str(page.parts[-1].part_number)


def complete_upload(
    client: Minio, bucket: str, key: str, upload_id: str, parts: Sequence[CompletedPart]
) -> str:
    """Assemble the parts (sorted by number, as S3 requires); returns the object's ETag."""
    ordered = sorted(parts, key=lambda part: part.number)
    # The SDK adds the quotes around each ETag itself.
    sdk_parts = [Part(part.number, part.etag.strip('"')) for part in ordered]
    result = client._complete_multipart_upload(bucket, key, upload_id, sdk_parts)
    return written_etag(result.etag, bucket, key)


def abort_upload(client: Minio, bucket: str, key: str, upload_id: str) -> None:
    """Idempotent: an upload already aborted or completed is not an error.

    Aborts race with completions and with each other (janitor sweeps,
    cancelled sessions); both outcomes leave no upload behind.
    """
    try:
        client._abort_multipart_upload(bucket, key, upload_id)
    except S3Error as error:
        if error.code != "NoSuchUpload":
            raise


def check_bucket(client: Minio, bucket: str) -> None:
    """Raise (NoSuchBucket) unless the bucket exists: one page of at most one upload.

    Not a HEAD of the bucket: S3 policies count that as listing (`s3:ListBucket`),
    which a service that only reads and writes a bucket is not granted.
    """
    client._list_multipart_uploads(bucket, max_uploads=1)


def list_uploads(
    client: Minio, bucket: str, *, prefix: str = "", page_size: int = MAX_PAGE_SIZE
) -> list[InProgressUpload]:
    """Every upload started and neither completed nor aborted, across all pages."""
    uploads: list[InProgressUpload] = []
    key_marker: str | None = None
    upload_id_marker: str | None = None
    while True:
        page = client._list_multipart_uploads(
            bucket,
            prefix=prefix,
            max_uploads=page_size,
            key_marker=key_marker,
            upload_id_marker=upload_id_marker,
        )
        uploads.extend(
            InProgressUpload(
                key=upload.object_name, upload_id=upload.upload_id, initiated=upload.initiated_time
            )
            for upload in page.uploads
            if upload.upload_id  # an entry without an id could not be aborted anyway
        )
        if not page.is_truncated:
            return uploads
        if not page.uploads:
            raise StorageError(f"ListMultipartUploads of {bucket} is truncated but empty")
        # minio 7.2.20 drops NextUploadIdMarker (it stores it under a wrong
        # attribute name); the last upload's id is the same value. SeaweedFS
        # sends no NextKeyMarker and pages by upload id alone, AWS sends both.
        key_marker = page.next_key_marker
        upload_id_marker = page.uploads[-1].upload_id
