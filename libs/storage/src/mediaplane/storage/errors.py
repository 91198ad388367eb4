"""Typed storage errors, translated from the minio SDK's S3 error codes.

Callers catch these and never import minio: the SDK stays an implementation
detail of this package.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from minio.error import InvalidResponseError, MinioException, S3Error, ServerError
from urllib3.exceptions import HTTPError


class StorageError(Exception):
    """Any failure of the object store; `code` is the S3 error code when there is one."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class ObjectNotFound(StorageError):
    """The object (or the byte range asked for) does not exist."""


class BucketNotFound(StorageError):
    pass


class UploadNotFound(StorageError):
    """The multipart upload id is unknown: never created, completed or aborted."""


class InvalidPart(StorageError):
    """CompleteMultipartUpload named a part that is missing, out of order or too small."""


class BadDigest(StorageError):
    """The bytes received do not match the checksum that was signed or sent."""


class AccessDenied(StorageError):
    """The credentials may not do this, or the signature is wrong."""


class StorageUnavailable(StorageError):
    """The server could not be reached or answered with a server error."""


_BY_CODE: dict[str, type[StorageError]] = {
    "NoSuchKey": ObjectNotFound,
    "NoSuchBucket": BucketNotFound,
    "NoSuchUpload": UploadNotFound,
    "InvalidPart": InvalidPart,
    "InvalidPartOrder": InvalidPart,
    "EntityTooSmall": InvalidPart,
    "BadDigest": BadDigest,
    "InvalidDigest": BadDigest,
    "XAmzContentSHA256Mismatch": BadDigest,
    "AccessDenied": AccessDenied,
    "SignatureDoesNotMatch": AccessDenied,
    "InvalidAccessKeyId": AccessDenied,
}


def translate(error: Exception) -> StorageError:
    """The typed error for an exception raised by the SDK or its HTTP pool."""
    if isinstance(error, S3Error):
        code: str | None = error.code
        where = f"{error.bucket_name or ''}/{error.object_name or ''}"
        cls = _BY_CODE.get(code or "", StorageError)
        return cls(f"{code}: {error.message} ({where})", code=code)
    if isinstance(error, ServerError | InvalidResponseError | HTTPError):
        return StorageUnavailable(str(error))
    return StorageError(str(error))


@contextmanager
def translated_errors() -> Iterator[None]:
    try:
        yield
    except (MinioException, HTTPError) as error:
        raise translate(error) from error
