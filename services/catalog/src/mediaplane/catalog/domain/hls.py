"""Rewriting HLS playlists so a player fetches everything through short-lived URLs (pure)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable

_URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')

# Given the object key a playlist line points at, the URL the player should use instead
# (None: keep the line as it is, e.g. an absolute URL elsewhere).
Replace = Callable[[str], str | None]


def object_key(playlist_key: str, uri: str) -> str | None:
    """The key a relative `uri` in the playlist stored at `playlist_key` names.

    Absolute URLs and paths, and paths climbing above the bucket root, name
    no object of ours: None.
    """
    path = uri.split("?", 1)[0].split("#", 1)[0]
    if not path or "://" in path or path.startswith("/"):
        return None
    key = posixpath.normpath(posixpath.join(posixpath.dirname(playlist_key), path))
    if key.startswith("../") or key == "..":
        return None
    return key


def rewrite(playlist: str, playlist_key: str, replace: Replace) -> str:
    """Replace every URI (URI lines and `URI="..."` attributes of tags) through `replace`."""

    def swap(uri: str) -> str:
        key = object_key(playlist_key, uri)
        if key is None:
            return uri
        return replace(key) or uri

    lines = []
    for line in playlist.splitlines():
        stripped = line.strip()
        if not stripped:
            lines.append(line)
        elif stripped.startswith("#"):
            lines.append(_URI_ATTRIBUTE.sub(lambda m: f'URI="{swap(m.group(1))}"', line))
        else:
            lines.append(swap(stripped))
    return "\n".join(lines) + "\n"
