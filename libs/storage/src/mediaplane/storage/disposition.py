"""Content-Disposition values for downloads (RFC 6266, RFC 5987 for non-ASCII names)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

# RFC 5987 attr-char minus ALPHA / DIGIT, which `quote` never escapes.
_ATTR_CHAR_PUNCTUATION = "!#$&+-.^_`|~"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE_IN_QUOTED_STRING = re.compile(r'["\\%]')


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """`attachment; filename="..."` plus `filename*=UTF-8''...` when the name is not plain ASCII.

    Old clients read the ASCII `filename`, current ones prefer `filename*`;
    sending both is what RFC 6266 section 4.3 recommends.
    """
    kind = "inline" if inline else "attachment"
    name = _display_name(filename)
    fallback = _ascii_fallback(name)
    if fallback == name:
        return f'{kind}; filename="{name}"'
    encoded = quote(name, safe=_ATTR_CHAR_PUNCTUATION, encoding="utf-8")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def _display_name(filename: str) -> str:
    # Uploaders' names may carry client paths and control characters; a
    # download name is only the last path segment, on one line.
    base = re.split(r"[/\\]", filename)[-1]
    return _CONTROL.sub("", base).strip() or "download"


def _ascii_fallback(name: str) -> str:
    # Decompose so "é" falls back to "e" rather than vanishing.
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    # `%` is replaced too: some browsers percent-decode the plain `filename`.
    ascii_name = _UNSAFE_IN_QUOTED_STRING.sub("_", ascii_name).strip()
    stem, dot, extension = ascii_name.rpartition(".")
    if not dot:
        stem, extension = ascii_name, ""
    # A name made only of non-Latin letters keeps its extension, so the
    # fallback still opens in the right application.
    if not any(char.isalnum() for char in stem):
        return f"download{dot}{extension}"
    return ascii_name
