"""One error type for everything the platform or object storage refuses, with a stable code."""

from __future__ import annotations

import re

import httpx
import msgspec

_S3_CODE = re.compile(r"<Code>([^<]+)</Code>")
_S3_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")


class MediaplaneError(Exception):
    """A refused request: `code` is the API's stable problem code (`session_not_found`,
    `quota_exceeded`, ...), S3's error code for presigned requests (`BadDigest`, ...),
    or a client-side code (`download_mismatch`, ...)."""

    def __init__(
        self, code: str, status: int, detail: str, *, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{code} ({status}): {detail}" if status else f"{code}: {detail}")
        self.code = code
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


class _Problem(msgspec.Struct, kw_only=True):
    code: str | None = None
    title: str | None = None
    detail: str | None = None


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return float(value)
    except ValueError:
        return None  # absent, or an HTTP date: the caller backs off by itself


def api_error(response: httpx.Response) -> MediaplaneError:
    """The error of a refused API response: RFC 9457 problem+json when the service sent it,
    otherwise (a proxy's error page) `http_<status>` with the start of the body."""
    status = response.status_code
    try:
        problem = msgspec.json.decode(response.content, type=_Problem)
    except (msgspec.DecodeError, msgspec.ValidationError):
        problem = _Problem()
    return MediaplaneError(
        problem.code or f"http_{status}",
        status,
        problem.detail or problem.title or response.text[:200] or response.reason_phrase,
        retry_after=retry_after_seconds(response),
    )


def storage_error(response: httpx.Response) -> MediaplaneError:
    """The error of a refused presigned request: S3 answers in XML (`<Code>BadDigest</Code>`)."""
    status = response.status_code
    text = response.text
    code = _S3_CODE.search(text)
    message = _S3_MESSAGE.search(text)
    return MediaplaneError(
        code.group(1) if code else f"storage_{status}",
        status,
        f"object storage refused the request: {message.group(1) if message else text[:200]}",
        retry_after=retry_after_seconds(response),
    )
