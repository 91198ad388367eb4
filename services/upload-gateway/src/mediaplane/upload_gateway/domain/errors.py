"""Domain errors: each has a stable `code` that the API turns into problem+json."""

from __future__ import annotations

from mediaplane.servicekit.errors import ProblemError


class DomainError(ProblemError):
    """A command the domain refuses. `status` is the HTTP status it maps to."""

    code = "domain_error"


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"


class SessionNotFound(NotFound):
    code = "session_not_found"
    title = "Upload session not found"


class FileNotFound(NotFound):
    code = "file_not_found"
    title = "File not found"


class SessionExpired(DomainError):
    code = "session_expired"
    status = 410
    title = "Upload session expired"


class SessionNotOpen(DomainError):
    code = "session_not_open"
    status = 409
    title = "Upload session is not open"


class InvalidParts(DomainError):
    code = "invalid_parts"
    status = 422
    title = "Invalid part list"


class PartsMissing(DomainError):
    code = "parts_missing"
    status = 409
    title = "Not every part is uploaded"


class SizeMismatch(DomainError):
    code = "size_mismatch"
    status = 409
    title = "Stored size differs from the declared size"


class SizeOutOfRange(DomainError):
    code = "size_out_of_range"
    status = 422
    title = "Declared size out of range"


class ContentTypeNotAllowed(DomainError):
    code = "content_type_not_allowed"
    status = 415
    title = "Content type not allowed"


class InvalidFilename(DomainError):
    code = "invalid_filename"
    status = 422
    title = "Invalid filename"


class InvalidTag(DomainError):
    code = "invalid_tag"
    status = 422
    title = "Invalid tag name"


class QuotaExceeded(DomainError):
    code = "quota_exceeded"
    status = 413
    title = "Storage quota exceeded"


class FileGone(DomainError):
    code = "file_deleted"
    status = 409
    title = "File is deleted"
