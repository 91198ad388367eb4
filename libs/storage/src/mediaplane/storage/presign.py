"""Presigned URLs: signed locally (explicit region), for the host the client uses."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from urllib.parse import SplitResult, urlunsplit

from minio import Minio, signer
from minio import time as amz_time
from minio.helpers import DictType, queryencode, sha256_hash

from mediaplane.storage.disposition import content_disposition
from mediaplane.storage.models import PresignedRequest

SHA256_SIZE = 32
MAX_PART_NUMBER = 10_000
MAX_EXPIRY_SECONDS = 7 * 24 * 3600


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
    content_length: int | None = None,
) -> PresignedRequest:
    query = checksum_query(sha256)
    if content_length is None:
        url = client.get_presigned_url(
            "PUT", bucket, key, expires=expires, extra_query_params=query
        )
    else:
        url = _presign_put_with_length(
            client, bucket, key, expires=expires, query=query, content_length=content_length
        )
    headers = {"Content-Type": content_type} if content_type else {}
    return PresignedRequest(method="PUT", url=url, headers=headers)


def _presign_put_with_length(
    client: Minio,
    bucket: str,
    key: str,
    *,
    expires: timedelta,
    query: DictType,
    content_length: int,
) -> str:
    """A presigned PUT whose signature also covers `Content-Length`.

    The SDK's presigning signs only the host. Here `content-length` is a
    signed header too, so the server refuses (403) a body of any other
    length, and a chunked body without a length. This mirrors
    `minio.signer.presign_v4` (the same private helpers, pinned SDK version)
    with one more canonical header.
    """
    seconds = int(expires.total_seconds())
    if not 1 <= seconds <= MAX_EXPIRY_SECONDS:
        raise ValueError("expires must be between 1 second and 7 days")
    if content_length < 0:
        raise ValueError(f"content_length must be >= 0, got {content_length}")
    region = client._get_region(bucket)  # the explicit region: no request
    credentials = client._provider.retrieve() if client._provider else None
    if credentials is None:
        raise ValueError("presigning needs credentials")
    if credentials.session_token:
        query = {**query, "X-Amz-Security-Token": credentials.session_token}
    url = client._base_url.build(
        method="PUT", region=region, bucket_name=bucket, object_name=key, query_params=query
    )
    date = amz_time.utcnow()
    scope = signer._get_scope(date, region, "s3")
    signed_headers = "content-length;host"
    signed_query = (url.query + "&" if url.query else "") + (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential={queryencode(credentials.access_key + '/' + scope)}"
        f"&X-Amz-Date={amz_time.to_amz_date(date)}"
        f"&X-Amz-Expires={seconds}"
        f"&X-Amz-SignedHeaders={queryencode(signed_headers)}"
    )
    canonical_request = "\n".join(
        [
            "PUT",
            url.path or "/",
            signer._get_canonical_query_string(signed_query),
            f"content-length:{content_length}",
            f"host:{url.netloc}",
            "",
            signed_headers,
            "UNSIGNED-PAYLOAD",
        ]
    )
    string_to_sign = signer._get_string_to_sign(date, scope, sha256_hash(canonical_request))
    signing_key = signer._get_signing_key(credentials.secret_key, date, region, "s3")
    signature = signer._get_signature(signing_key, string_to_sign)
    signed = SplitResult(
        url.scheme,
        url.netloc,
        url.path,
        f"{signed_query}&X-Amz-Signature={queryencode(signature)}",
        url.fragment,
    )
    return urlunsplit(signed)


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
    cache_control: str | None = None,
    signed_at: datetime | None = None,
) -> PresignedRequest:
    """A download URL; the server answers with the given filename, type and cache policy.

    Range requests work on it as on any GET: the Range header is not signed.
    `signed_at` (default: now) fixes the signing time, so equal calls within
    one period give one URL that caches can keep.
    """
    response_headers: DictType = {}
    if filename is not None:
        response_headers["response-content-disposition"] = content_disposition(
            filename, inline=inline
        )
    if content_type is not None:
        response_headers["response-content-type"] = content_type
    if cache_control is not None:
        response_headers["response-cache-control"] = cache_control
    url = client.get_presigned_url(
        "GET",
        bucket,
        key,
        expires=expires,
        response_headers=response_headers,
        request_date=signed_at,
    )
    return PresignedRequest(method="GET", url=url)
