"""Secrets never reach a log line: token values in URLs and bearer credentials are masked.

One place for every log writer: `configure_logging` runs `redact_secrets` on
each line (structlog's and the standard library's, uvicorn's access log
included), and anything else that writes a URL somewhere (an edge, a report)
uses `redact`.
"""

from __future__ import annotations

import re

from structlog.typing import EventDict, WrappedLogger

REDACTED = "REDACTED"

# Query parameters whose value is a credential: API and playback tokens, S3
# presigned signatures and credentials, generic signatures and passwords, and
# OAuth 2 / OpenID Connect secrets (an authorization code and its PKCE
# verifier, a device code, a client secret, the ID token a logout link carries).
SECRET_PARAMETERS = frozenset(
    {
        "access_token",
        "id_token",
        "id_token_hint",
        "refresh_token",
        "code",
        "code_verifier",
        "device_code",
        "client_secret",
        "token",
        "pt",
        "signature",
        "sig",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "password",
        "secret",
    }
)

_QUERY_SECRET = re.compile(
    r"(?P<name>(?<=[?&;])(?:"
    + "|".join(re.escape(p) for p in sorted(SECRET_PARAMETERS, key=len, reverse=True))
    + r"))=[^&;#\s\"'<>]*",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<scheme>\bBearer\s+)[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with the value of every secret query parameter and bearer credential masked."""
    if "=" not in text and "earer" not in text:
        return text  # the common case: nothing that could hold a secret
    text = _QUERY_SECRET.sub(rf"\g<name>={REDACTED}", text)
    return _BEARER.sub(rf"\g<scheme>{REDACTED}", text)


def redact_secrets(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: `redact` every string value of the line (message, path, url, ...)."""
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = redact(value)
    return event_dict
