"""Check what ffmpeg wrote and finish the ladder: measured master playlist, list of files.

Nothing is announced before this passed: the playlists parse, every segment
exists and is not empty, each rendition lasts as long as the source (within
DURATION_TOLERANCE), and all renditions cut their segments at the same times
(the keyframe alignment players rely on to switch).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mediaplane.transcoder.adapters.ffmpeg import MASTER_NAME, PLAYLIST_NAME
from mediaplane.transcoder.adapters.playlists import (
    PlaylistError,
    parse_master_playlist,
    parse_media_playlist,
)
from mediaplane.transcoder.domain.audio import AudioRendition
from mediaplane.transcoder.domain.hls import (
    AudioTrack,
    Segment,
    Variant,
    average_bandwidth,
    peak_bandwidth,
    render_master,
)
from mediaplane.transcoder.domain.ladder import PlannedRendition

DURATION_TOLERANCE = 1.0  # seconds
# A chunked ladder's audio is a rendition of its own: it must end with the picture.
AV_TOLERANCE = 0.05  # seconds
# Audio renditions cut segments at AAC frame boundaries (1024 samples: 128 ms at 8 kHz).
AUDIO_FRAME = 0.15  # seconds


class OutputInvalid(Exception):
    """ffmpeg's output is not a playable ladder."""


@dataclass(frozen=True, kw_only=True)
class PackagedRendition:
    variant: Variant
    playlist: str  # relative to the output directory, e.g. "720p/index.m3u8"
    segments: list[Segment]  # uris relative to the output directory


@dataclass(frozen=True, kw_only=True)
class PackagedLadder:
    master: str
    renditions: list[PackagedRendition]

    def files(self) -> list[str]:
        """Every file to publish, relative paths, in a safe upload order: segments, then
        the media playlists, then the master (whose presence means the ladder is whole)."""
        segments = [s.uri for r in self.renditions for s in r.segments]
        return [*segments, *(r.playlist for r in self.renditions), self.master]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise OutputInvalid(f"{path.name} is unreadable: {error}") from None


def _segments(out_dir: Path, name: str, duration: float) -> tuple[list[Segment], float, int]:
    try:
        playlist = parse_media_playlist(_read(out_dir / name / PLAYLIST_NAME))
    except PlaylistError as error:
        raise OutputInvalid(f"{name}: {error}") from None
    if abs(playlist.duration - duration) > DURATION_TOLERANCE:
        raise OutputInvalid(f"{name} lasts {playlist.duration:.2f} s, the source {duration:.2f} s")
    segments = []
    for uri, seconds in playlist.segments:
        path = out_dir / name / uri
        if "/" in uri or not path.is_file() or path.stat().st_size == 0:
            raise OutputInvalid(f"{name}: segment {uri} is missing or empty")
        segments.append(Segment(uri=f"{name}/{uri}", duration=seconds, size=path.stat().st_size))
    return segments, playlist.target_duration, playlist.version


def _check_alignment(renditions: Sequence[PackagedRendition], frame: float) -> None:
    """Every rendition must switch segments at the same instants (within a frame)."""
    reference = renditions[0]
    for other in renditions[1:]:
        if len(other.segments) != len(reference.segments):
            raise OutputInvalid(
                f"{other.variant.name} has {len(other.segments)} segments, "
                f"{reference.variant.name} {len(reference.segments)}: keyframes are not aligned"
            )
        t_ref = t_other = 0.0
        for mine, theirs in zip(reference.segments, other.segments, strict=True):
            t_ref += mine.duration
            t_other += theirs.duration
            if abs(t_ref - t_other) > 1.5 * frame:
                raise OutputInvalid(
                    f"{other.variant.name} cuts a segment at {t_other:.3f} s, "
                    f"{reference.variant.name} at {t_ref:.3f} s"
                )


def finish_ladder(
    out_dir: Path,
    planned: Sequence[PlannedRendition],
    *,
    source_duration: float,
    fps: float,
) -> PackagedLadder:
    """Check ffmpeg's output in `out_dir` and replace its master with a measured one."""
    sizes = [(r.name, r.width, r.height) for r in planned]
    return _finish(out_dir, sizes, source_duration=source_duration, fps=fps, frame=1 / fps)


def finish_audio_ladder(
    out_dir: Path, planned: Sequence[AudioRendition], *, source_duration: float
) -> PackagedLadder:
    """The same checks for an audio-only ladder (no picture: width, height and fps 0)."""
    sizes = [(r.name, 0, 0) for r in planned]
    return _finish(out_dir, sizes, source_duration=source_duration, fps=0.0, frame=AUDIO_FRAME)


def _finish(
    out_dir: Path,
    planned: Sequence[tuple[str, int, int]],
    *,
    source_duration: float,
    fps: float,
    frame: float,
) -> PackagedLadder:
    try:
        written = {v.uri: v for v in parse_master_playlist(_read(out_dir / MASTER_NAME))}
    except PlaylistError as error:
        raise OutputInvalid(f"ffmpeg's master playlist: {error}") from None
    renditions = []
    version = 3
    for name, width, height in planned:
        uri = f"{name}/{PLAYLIST_NAME}"
        stream = written.get(uri)
        if stream is None or not stream.codecs:
            raise OutputInvalid(f"ffmpeg's master playlist lacks {uri} or its CODECS")
        segments, target, playlist_version = _segments(out_dir, name, source_duration)
        version = max(version, playlist_version)
        variant = Variant(
            name=name,
            uri=uri,
            width=width,
            height=height,
            codecs=stream.codecs,
            frame_rate=fps,
            bandwidth=peak_bandwidth(segments, target),
            average_bandwidth=average_bandwidth(segments),
        )
        renditions.append(PackagedRendition(variant=variant, playlist=uri, segments=segments))
    _check_alignment(renditions, frame)

    master = render_master([r.variant for r in renditions], version=version)
    try:
        announced = parse_master_playlist(master)
    except PlaylistError as error:
        raise OutputInvalid(f"the rewritten master playlist: {error}") from None
    if sorted(v.uri for v in announced) != sorted(written):
        raise OutputInvalid("the rewritten master playlist lost a variant")
    (out_dir / MASTER_NAME).write_text(master, encoding="utf-8")
    return PackagedLadder(master=MASTER_NAME, renditions=renditions)


def finish_chunked_ladder(
    out_dir: Path,
    planned: Sequence[PlannedRendition],
    audio: Sequence[tuple[str, int]],
    *,
    source_duration: float,
    fps: float,
    video_codecs: str,
    audio_codecs: str,
) -> PackagedLadder:
    """The checks of `finish_ladder` for a ladder stitched from chunks, and its master.

    Video rungs (`planned`) and the audio renditions (`audio`: name and the
    kbit/s rungs of that audio bitrate use) are separate media playlists; each
    video rung names the audio rendition of its own audio bitrate. Besides the
    single-process checks, every audio rendition must last as long as the
    video, within AV_TOLERANCE.
    """
    renditions: list[PackagedRendition] = []
    tracks: dict[int, tuple[AudioTrack, list[Segment], float]] = {}
    for name, kbps in audio:
        segments, target, _ = _segments(out_dir, name, source_duration)
        tracks[kbps] = (AudioTrack(group=name, uri=f"{name}/{PLAYLIST_NAME}"), segments, target)
    for rung in planned:
        segments, target, _ = _segments(out_dir, rung.name, source_duration)
        own = tracks.get(rung.audio_kbps)
        bandwidth = peak_bandwidth(segments, target)
        average = average_bandwidth(segments)
        if own is not None:
            bandwidth += peak_bandwidth(own[1], target)
            average += average_bandwidth(own[1])
        variant = Variant(
            name=rung.name,
            uri=f"{rung.name}/{PLAYLIST_NAME}",
            width=rung.width,
            height=rung.height,
            codecs=f"{video_codecs},{audio_codecs}" if own is not None else video_codecs,
            frame_rate=fps,
            bandwidth=bandwidth,
            average_bandwidth=average,
            audio_group=own[0].group if own is not None else None,
        )
        renditions.append(
            PackagedRendition(variant=variant, playlist=variant.uri, segments=segments)
        )
    _check_alignment(renditions, 1 / fps)
    video_seconds = sum(s.duration for s in renditions[0].segments)
    for track, segments, target in tracks.values():
        audio_seconds = sum(s.duration for s in segments)
        if abs(audio_seconds - video_seconds) >= AV_TOLERANCE:
            raise OutputInvalid(
                f"{track.group} lasts {audio_seconds:.3f} s, the video {video_seconds:.3f} s"
            )
        renditions.append(
            PackagedRendition(
                variant=Variant(
                    name=track.group,
                    uri=track.uri,
                    width=0,
                    height=0,
                    codecs=audio_codecs,
                    frame_rate=0.0,
                    bandwidth=peak_bandwidth(segments, target),
                    average_bandwidth=average_bandwidth(segments),
                ),
                playlist=track.uri,
                segments=segments,
            )
        )
    videos = [r.variant for r in renditions if r.variant.width]
    master = render_master(videos, version=3, audio=[t for t, _, _ in tracks.values()])
    try:
        announced = parse_master_playlist(master)
    except PlaylistError as error:
        raise OutputInvalid(f"the chunked master playlist: {error}") from None
    if len(announced) != len(videos):
        raise OutputInvalid("the chunked master playlist lost a variant")
    (out_dir / MASTER_NAME).write_text(master, encoding="utf-8")
    return PackagedLadder(master=MASTER_NAME, renditions=renditions)
