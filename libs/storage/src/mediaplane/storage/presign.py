"""Presigned URLs: signed locally (explicit region), for the host the client uses."""

from __future__ import annotations

import base64
from datetime import timedelta

from minio import Minio
from minio.helpers import DictType

from mediaplane.storage.disposition import content_disposition
from mediaplane.storage.models import PresignedRequest

SHA256_SIZE = 32
MAX_PART_NUMBER = 10_000


def checksum_query(sha256: bytes | None) -> DictType:
    """The signed query parameter that makes the server verify the body's SHA-256.

    It must be signed into the query: the same value sent as an unsigned
    header is refused (403) by SeaweedFS, and a client must not send both.
    """
    if sha256 is None:
        return {}
    if len(sha256) != SHA256_SIZE:
        raise ValueError(f"sha256 must be the {SHA256_SIZE}-byte raw digest, got {len(sha256)}")
    return {"x-amz-checksum-sha256": base64.b64encode(sha256).decode("ascii")}


def presign_put(
    client: Minio,
    bucket: str,
    key: str,
    *,
    expires: timedelta,
    sha256: bytes | None = None,
    content_type: str | None = None,
) -> PresignedRequest:
    url = client.get_presigned_url(
        "PUT", bucket, key, expires=expires, extra_query_params=checksum_query(sha256)
    )
    headers = {"Content-Type": content_type} if content_type else {}
    return PresignedRequest(method="PUT", url=url, headers=headers)


def presign_upload_part(
    client: Minio,
    bucket: str,
    key: str,
    upload_id: str,
    part_number: int,
    *,
    expires: timedelta,
    sha256: bytes | None = None,
) -> PresignedRequest:
    if not 1 <= part_number <= MAX_PART_NUMBER:
        raise ValueError(f"part_number must be 1..{MAX_PART_NUMBER}, got {part_number}")
    query: DictType = {
        "partNumber": str(part_number),
        "uploadId": upload_id,
        **checksum_query(sha256),
    }
    url = client.get_presigned_url("PUT", bucket, key, expires=expires, extra_query_params=query)
    return PresignedRequest(method="PUT", url=url)


def presign_get(
    client: Minio,
    bucket: str,
    key: str,
    *,
    expires: timedelta,
    filename: str | None = None,
    content_type: str | None = None,
    inline: bool = False,
) -> PresignedRequest:
    """A download URL; the server answers with the given filename and type.

    Range requests work on it as on any GET: the Range header is not signed.
    """
    response_headers: DictType = {}
    if filename is not None:
        response_headers["response-content-disposition"] = content_disposition(
            filename, inline=inline
        )
    if content_type is not None:
        response_headers["response-content-type"] = content_type
    url = client.get_presigned_url(
        "GET", bucket, key, expires=expires, response_headers=response_headers
    )
    return PresignedRequest(method="GET", url=url)
