"""Reading HLS playlists with the `m3u8` library in strict mode, into typed values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import m3u8  # type: ignore[import-untyped]  # the library ships no type information


class PlaylistError(ValueError):
    """A playlist that does not parse, or lacks what an HLS player needs."""


@dataclass(frozen=True, kw_only=True)
class MediaPlaylist:
    version: int
    target_duration: float
    segments: list[tuple[str, float]]  # (uri, duration)

    @property
    def duration(self) -> float:
        return sum(d for _, d in self.segments)


@dataclass(frozen=True, kw_only=True)
class StreamInf:
    uri: str
    bandwidth: int
    average_bandwidth: int | None
    resolution: tuple[int, int] | None
    codecs: str | None
    frame_rate: float | None


def _parse(text: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = m3u8.parse(text, strict=True)
    except Exception as error:  # the library raises ParseError, ValueError or bare Exception
        raise PlaylistError(f"playlist does not parse: {error}") from None
    return data


def parse_media_playlist(text: str) -> MediaPlaylist:
    """A VOD media playlist: typed, ended, with at least one segment."""
    data = _parse(text)
    if data["is_variant"]:
        raise PlaylistError("expected a media playlist, got a master playlist")
    if str(data.get("playlist_type") or "").lower() != "vod" or not data["is_endlist"]:
        raise PlaylistError("not a complete VOD playlist (PLAYLIST-TYPE:VOD and ENDLIST)")
    segments = [(str(s["uri"]), float(s["duration"])) for s in data["segments"]]
    if not segments:
        raise PlaylistError("the playlist has no segments")
    return MediaPlaylist(
        version=int(data.get("version") or 1),
        target_duration=float(data.get("targetduration") or 0),
        segments=segments,
    )


def parse_master_playlist(text: str) -> list[StreamInf]:
    data = _parse(text)
    if not data["is_variant"] or not data["playlists"]:
        raise PlaylistError("expected a master playlist with variants")
    variants = []
    for playlist in data["playlists"]:
        info = playlist["stream_info"]
        resolution = info.get("resolution")
        width, _, height = str(resolution or "").partition("x")
        variants.append(
            StreamInf(
                uri=str(playlist["uri"]),
                bandwidth=int(info["bandwidth"]),
                average_bandwidth=int(info["average_bandwidth"])
                if info.get("average_bandwidth") is not None
                else None,
                resolution=(int(width), int(height)) if resolution else None,
                codecs=info.get("codecs"),
                frame_rate=float(info["frame_rate"])
                if info.get("frame_rate") is not None
                else None,
            )
        )
    return variants
