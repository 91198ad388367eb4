"""Object storage for mediaplane: the only package that talks to the minio SDK."""

from mediaplane.storage.admin import BucketAdmin
from mediaplane.storage.disposition import content_disposition
from mediaplane.storage.errors import (
    AccessDenied,
    BadDigest,
    BucketNotFound,
    InvalidPart,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
    UploadNotFound,
)
from mediaplane.storage.models import (
    CompletedPart,
    InProgressUpload,
    ObjectInfo,
    ObjectSummary,
    PresignedRequest,
    UploadedPart,
)
from mediaplane.storage.settings import Endpoint, StorageSettings
from mediaplane.storage.store import ObjectStore

__all__ = [
    "AccessDenied",
    "BadDigest",
    "BucketAdmin",
    "BucketNotFound",
    "CompletedPart",
    "Endpoint",
    "InProgressUpload",
    "InvalidPart",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectSummary",
    "PresignedRequest",
    "StorageError",
    "StorageSettings",
    "StorageUnavailable",
    "UploadNotFound",
    "UploadedPart",
    "content_disposition",
]
