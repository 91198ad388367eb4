"""mediaplane client: an async SDK for the upload-gateway and catalog APIs, and the
`mediaplane` command built on it."""

from mediaplane.client.client import MediaplaneClient
from mediaplane.client.config import ClientConfig
from mediaplane.client.download import download_file, download_url
from mediaplane.client.errors import MediaplaneError
from mediaplane.client.models import (
    Completion,
    FileChange,
    FileDetail,
    FilePage,
    FileSummary,
    Overflow,
    TagPage,
    TagResult,
    TagView,
    UploadSession,
)
from mediaplane.client.progress import Progress
from mediaplane.client.retry import RetryPolicy
from mediaplane.client.upload import UploadState, default_state_path, upload_file

__all__ = [
    "ClientConfig",
    "Completion",
    "FileChange",
    "FileDetail",
    "FilePage",
    "FileSummary",
    "MediaplaneClient",
    "MediaplaneError",
    "Overflow",
    "Progress",
    "RetryPolicy",
    "TagPage",
    "TagResult",
    "TagView",
    "UploadSession",
    "UploadState",
    "default_state_path",
    "download_file",
    "download_url",
    "upload_file",
]
