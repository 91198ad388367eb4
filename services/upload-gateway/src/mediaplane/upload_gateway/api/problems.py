"""How the gateway API answers each domain error code (RFC 9457 problem+json via servicekit)."""

from __future__ import annotations

from mediaplane.servicekit.errors import Problem

PROBLEMS = {
    "not_found": Problem(404, "Not found"),
    "session_not_found": Problem(404, "Upload session not found"),
    "file_not_found": Problem(404, "File not found"),
    "session_expired": Problem(410, "Upload session expired"),
    "session_not_open": Problem(409, "Upload session is not open"),
    "invalid_parts": Problem(422, "Invalid part list"),
    "parts_missing": Problem(409, "Not every part is uploaded"),
    "size_mismatch": Problem(409, "Stored size differs from the declared size"),
    "size_out_of_range": Problem(422, "Declared size out of range"),
    "content_type_not_allowed": Problem(415, "Content type not allowed"),
    "invalid_filename": Problem(422, "Invalid filename"),
    "invalid_tag": Problem(422, "Invalid tag name"),
    "quota_exceeded": Problem(413, "Storage quota exceeded"),
    "file_deleted": Problem(409, "File is deleted"),
    "invalid_reason": Problem(422, "Invalid reason"),
    "already_reported": Problem(409, "You already reported this file"),
    "report_not_found": Problem(404, "No such open report"),
    "moderation_conflict": Problem(409, "The file's moderation state does not allow this"),
    "file_not_verified": Problem(409, "The file has no verified original"),
    "file_taken_down": Problem(409, "The file is taken down"),
    "invalid_reprocess_target": Problem(422, "Unknown re-run target"),
    "reprocess_not_applicable": Problem(422, "The file has no such artifacts to make again"),
    "concurrent_modification": Problem(409, "Changed by another request; retry"),
    "dead_letter_not_found": Problem(404, "No such dead letter"),
    "dead_letter_resolved": Problem(409, "The dead letter was already redriven or discarded"),
}
