"""How the variants API answers each domain error code (RFC 9457 problem+json via servicekit)."""

from __future__ import annotations

from mediaplane.servicekit.errors import Problem

_UNUSABLE_SOURCE = "The file cannot give this variant"

PROBLEMS = {
    # The spec: preset, grammar, range, pixel cap, signature.
    "variant_spec_invalid": Problem(400, "Invalid variant spec"),
    "variant_too_many_pixels": Problem(400, "The variant would have too many pixels"),
    "variant_preset_unknown": Problem(404, "No such variant preset"),
    "variant_spec_unsigned": Problem(403, "This variant spec needs a signature"),
    "variant_signature_invalid": Problem(403, "Invalid variant signature"),
    # The file, refused as the catalog refuses reads (another owner's file is not found).
    "file_not_found": Problem(404, "File not found"),
    "file_not_ready": Problem(404, "The file has no bytes to serve in its status"),
    "variant_unsupported_source": Problem(422, "No variants of this kind of file"),
    # Recorded failures of the source (variant.failed.v1 codes).
    "corrupt_input": Problem(422, _UNUSABLE_SOURCE),
    "too_large": Problem(422, _UNUSABLE_SOURCE),
    "unsupported_media": Problem(422, _UNUSABLE_SOURCE),
    "container_refused": Problem(422, _UNUSABLE_SOURCE),
    "resource_limit": Problem(422, _UNUSABLE_SOURCE),
    "watermark_does_not_fit": Problem(422, "The variant is too small for the watermark"),
    "source_missing": Problem(410, "The file's bytes are gone"),
    "original_changed": Problem(409, "The stored bytes are not the verified ones"),
}
