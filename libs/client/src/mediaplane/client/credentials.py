"""What `mediaplane login` keeps: per identity provider, the tokens of the device flow or
a personal access token, in `~/.config/mediaplane/credentials.json` (mode 0600).

Like the upload state files (`upload.StateFile`), the file is msgspec JSON written
then renamed, so a crash leaves the previous file, never half of one. It is created
0600 before a byte is written: tokens are never readable by other users, not even
for a moment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec


class Tokens(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An OAuth token response as Authlib's `OAuth2Token` reads it back (`expires_at`
    is absolute, so an expired access token is noticed after a restart)."""

    access_token: str
    token_type: str = "Bearer"
    refresh_token: str | None = None
    expires_at: int | None = None
    scope: str | None = None


class SignIn(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One provider's sign-in: device-flow tokens, or a personal access token that every
    command exchanges (RFC 8693) for a short-lived access token."""

    client_id: str
    tokens: Tokens | None = None
    personal_access_token: str | None = None


class _File(msgspec.Struct, kw_only=True):
    # Keyed by issuer URL: signing in to a second platform keeps the first.
    issuers: dict[str, SignIn] = msgspec.field(default_factory=dict)


def default_credentials_path(env: Mapping[str, str] = os.environ) -> Path:
    """`$MEDIAPLANE_CREDENTIALS`, else `$XDG_CONFIG_HOME/mediaplane/credentials.json`
    (`~/.config` when unset)."""
    explicit = env.get("MEDIAPLANE_CREDENTIALS")
    if explicit:
        return Path(explicit)
    config = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "mediaplane" / "credentials.json"


class CredentialStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, issuer: str) -> SignIn | None:
        return self._load().issuers.get(issuer)

    def put(self, issuer: str, sign_in: SignIn) -> None:
        stored = self._load()
        stored.issuers[issuer] = sign_in
        self._save(stored)

    def forget(self, issuer: str) -> bool:
        """Removes the provider's sign-in; False when there was none."""
        stored = self._load()
        if stored.issuers.pop(issuer, None) is None:
            return False
        self._save(stored)
        return True

    def _load(self) -> _File:
        try:
            return msgspec.json.decode(self.path.read_bytes(), type=_File)
        except FileNotFoundError:
            return _File()
        except (msgspec.DecodeError, msgspec.ValidationError):
            return _File()  # torn or foreign: as if signed out (`login` writes a new one)

    def _save(self, stored: _File) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.path.with_name(f"{self.path.name}.tmp")
        temporary.unlink(missing_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(msgspec.json.encode(stored))
        os.replace(temporary, self.path)
