"""Upload rules that depend on configuration, not on a session's history: pure functions."""

from __future__ import annotations

import fnmatch
import math
import re
import unicodedata
from dataclasses import dataclass

from mediaplane.contracts import UploadMode
from mediaplane.domain.quota import Quota
from mediaplane.upload_gateway.domain.errors import (
    ContentTypeNotAllowed,
    InvalidFilename,
    InvalidTag,
    QuotaExceeded,
    SizeOutOfRange,
)

MiB = 1024 * 1024
GiB = 1024 * MiB

# S3 multipart limits: parts of 5 MiB to 5 GiB (the last may be smaller), at most 10,000 parts.
S3_MIN_PART = 5 * MiB
S3_MAX_PART = 5 * GiB
S3_MAX_PARTS = 10_000
MAX_FILENAME_BYTES = 255
MAX_TAG_LENGTH = 64
_TAG = re.compile(r"^[a-z0-9][a-z0-9 _.\-]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True, kw_only=True)
class UploadLimits:
    single_put_max: int = 16 * MiB
    part_size: int = 16 * MiB
    # The default scan limit (clamd's StreamMaxLength, config.py): every original is
    # scanned whole before it is verified, so a larger one could never be.
    max_object_size: int = 1000 * MiB
    session_ttl_seconds: int = 24 * 3600
    allowed_content_types: tuple[str, ...] = (
        "image/*",
        "video/*",
        "audio/*",
        "application/pdf",
    )
    max_tags_per_file: int = 32

    def __post_init__(self) -> None:
        if not S3_MIN_PART <= self.part_size <= S3_MAX_PART:
            raise ValueError("part_size must be within S3's 5 MiB..5 GiB")
        if self.max_object_size > S3_MAX_PART * S3_MAX_PARTS:
            raise ValueError("max_object_size exceeds what 10,000 parts can hold")


@dataclass(frozen=True, kw_only=True)
class UploadPlan:
    mode: UploadMode
    part_size: int
    part_count: int


def plan_upload(size: int, limits: UploadLimits) -> UploadPlan:
    """Single PUT up to the threshold, else multipart with parts S3 accepts."""
    if size < 1 or size > limits.max_object_size:
        raise SizeOutOfRange(
            f"size must be between 1 and {limits.max_object_size} bytes, not {size}"
        )
    if size <= limits.single_put_max:
        return UploadPlan(mode="single", part_size=size, part_count=1)
    # Grow the part size (in whole MiB) only when the configured one would need > 10,000 parts.
    part_size = max(limits.part_size, math.ceil(size / S3_MAX_PARTS / MiB) * MiB)
    return UploadPlan(mode="multipart", part_size=part_size, part_count=math.ceil(size / part_size))


def expected_part_size(number: int, size: int, plan: UploadPlan) -> int:
    """Bytes part `number` (1-based) must hold."""
    if number < plan.part_count:
        return plan.part_size
    return size - plan.part_size * (plan.part_count - 1)


def check_content_type(content_type: str, limits: UploadLimits) -> str:
    """The declared media type, lower-cased and without parameters, if allowed."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not re.fullmatch(r"[a-z0-9!#$&^_.+\-]+/[a-z0-9!#$&^_.+\-]+", media_type):
        raise ContentTypeNotAllowed(f"{content_type!r} is not a media type")
    if not is_allowed_type(media_type, limits):
        raise ContentTypeNotAllowed(f"{media_type} is not accepted here")
    return media_type


def is_allowed_type(media_type: str, limits: UploadLimits) -> bool:
    return any(fnmatch.fnmatchcase(media_type, pattern) for pattern in limits.allowed_content_types)


def sanitize_filename(raw: str) -> str:
    """A display name safe in paths and headers: no directories or control characters, <= 255 bytes.

    The extension is kept when the name is shortened, since players and
    browsers look at it.
    """
    name = unicodedata.normalize("NFC", raw)
    name = re.split(r"[/\\]", name)[-1]
    name = _CONTROL.sub("", name).strip().strip(".").strip()
    if not name:
        raise InvalidFilename(f"{raw!r} has no usable file name")
    if len(name.encode()) > MAX_FILENAME_BYTES:
        stem, dot, ext = name.rpartition(".")
        suffix = f".{ext}" if dot and 0 < len(ext.encode()) <= 16 else ""
        base = stem if suffix else name
        budget = MAX_FILENAME_BYTES - len(suffix.encode())
        base = base.encode()[:budget].decode("utf-8", errors="ignore")
        name = base + suffix
    return name


def normalize_tag(raw: str) -> str:
    """Tags are compared trimmed and lower case; a small, URL- and header-friendly alphabet."""
    tag = unicodedata.normalize("NFKC", raw).strip().lower()
    tag = re.sub(r"\s+", " ", tag)
    if not tag or len(tag) > MAX_TAG_LENGTH or not _TAG.match(tag):
        raise InvalidTag(
            f"{raw!r}: tags are 1-{MAX_TAG_LENGTH} characters of a-z, 0-9, space, '_', '.', '-'"
        )
    return tag


def normalize_tags(raw: list[str], limits: UploadLimits) -> list[str]:
    tags = sorted({normalize_tag(t) for t in raw})
    if len(tags) > limits.max_tags_per_file:
        raise InvalidTag(f"at most {limits.max_tags_per_file} tags per file")
    return tags


@dataclass(frozen=True, kw_only=True)
class OwnerUsage:
    """What counts against an owner's quota: live files, and bytes of files and open sessions."""

    files: int = 0
    bytes: int = 0
    open_sessions: int = 0
    reserved_bytes: int = 0


def check_quota(usage: OwnerUsage, size: int, quota: Quota) -> None:
    if usage.files + usage.open_sessions + 1 > quota.files:
        raise QuotaExceeded(f"at most {quota.files} files (including uploads in progress)")
    used = usage.bytes + usage.reserved_bytes
    if used + size > quota.bytes:
        raise QuotaExceeded(
            f"{size} more bytes would exceed the {quota.bytes} byte quota ({used} in use)"
        )
