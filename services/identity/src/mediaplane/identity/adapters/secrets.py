"""Random bearer secrets (cookies, codes, links, tokens) and their stored digests."""

from __future__ import annotations

import hashlib
import secrets


def new_secret() -> str:
    """256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> bytes:
    """What is stored instead of the secret: SHA-256 (the secret is random, no salt needed)."""
    return hashlib.sha256(secret.encode()).digest()
