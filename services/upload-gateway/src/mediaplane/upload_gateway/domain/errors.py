"""Domain errors: each has a stable `code`; api/problems.py maps codes to HTTP."""

from __future__ import annotations

from mediaplane.domain import DomainError


class NotFound(DomainError):
    code = "not_found"


class SessionNotFound(NotFound):
    code = "session_not_found"


class FileNotFound(NotFound):
    code = "file_not_found"


class SessionExpired(DomainError):
    code = "session_expired"


class SessionNotOpen(DomainError):
    code = "session_not_open"


class InvalidParts(DomainError):
    code = "invalid_parts"


class PartsMissing(DomainError):
    code = "parts_missing"


class SizeMismatch(DomainError):
    code = "size_mismatch"


class SizeOutOfRange(DomainError):
    code = "size_out_of_range"


class ContentTypeNotAllowed(DomainError):
    code = "content_type_not_allowed"


class InvalidFilename(DomainError):
    code = "invalid_filename"


class InvalidTag(DomainError):
    code = "invalid_tag"


class QuotaExceeded(DomainError):
    code = "quota_exceeded"


class FileGone(DomainError):
    code = "file_deleted"


class InvalidReason(DomainError):
    code = "invalid_reason"


class AlreadyReported(DomainError):
    code = "already_reported"


class ReportNotFound(NotFound):
    code = "report_not_found"


class ModerationConflict(DomainError):
    code = "moderation_conflict"


class FileNotVerified(DomainError):
    code = "file_not_verified"


class TakenDown(DomainError):
    code = "file_taken_down"


class InvalidReprocessTarget(DomainError):
    code = "invalid_reprocess_target"


class ReprocessNotApplicable(DomainError):
    code = "reprocess_not_applicable"
