"""A long video (over a low threshold) through the worker: the chunked ladder, its chunks
through the `transcoder-chunks` queue, published as it grows (real ffmpeg, Postgres,
JetStream, SeaweedFS, the outbox relay)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from mediaplane.bus import Bus
from mediaplane.eventlog import OutboxRelay
from mediaplane.transcoder.adapters.playlists import parse_media_playlist
from mediaplane.transcoder.app.bootstrap import apply_migrations, open_resources
from mediaplane.transcoder.config import ChunkingSettings, EncodingSettings, TranscoderSettings
from mediaplane.transcoder.domain.ladder import DEFAULT_LADDER, RungSpec
from mediaplane.transcoder.domain.progress import ProgressThrottle
from mediaplane.transcoder.worker.consumer import register_chunk_encoder, register_transcoder

from ..conftest import MakeClip, ReadEvents, Upload, WaitFinal

pytestmark = pytest.mark.integration

LADDER = (
    RungSpec(height=360, video_kbps=500, audio_kbps=128),
    RungSpec(height=180, video_kbps=200, audio_kbps=64),
)


async def test_a_long_video_is_chunked_and_playable_while_it_grows(
    make_settings: Callable[..., TranscoderSettings],
    make_clip: MakeClip,
    upload: Upload,
    wait_final: WaitFinal,
    transcode_events: ReadEvents,
) -> None:
    settings = make_settings(
        encoding=EncodingSettings(ladder=LADDER, segment_seconds=1.0),
        # 8 s at 1 s segments, 2 segments a chunk: 4 chunks.
        chunking=ChunkingSettings(threshold=5.0, chunk_segments=2, preroll=0.5),
        progress=ProgressThrottle(step=20.0, min_interval=0.0),
    )
    await apply_migrations(settings)
    async with open_resources(settings) as resources:
        bus = Bus(settings.bus, resources.registry, producer="transcoder")
        register_transcoder(bus, resources.transcoder, settings)
        register_chunk_encoder(bus, resources.chunk_encoder, settings)

        async def read(bucket: str, key: str) -> str:
            chunks = [c async for c in resources.objects.iter_object(bucket, key)]
            return b"".join(chunks).decode()

        relay = OutboxRelay(settings.database_url, settings.bus.url, poll_interval=0.2)
        async with bus.running(), relay:
            event = await upload(make_clip(width=640, height=360, seconds=8.0, fps=10))
            await bus.publish(event)
            final = await wait_final(event.file_id)
            events = transcode_events(event.file_id)
            bucket = settings.bucket
            master_key = final.data["master_playlist_key"]
            master = await read(bucket, master_key)
            stored = {
                o.key for o in await resources.objects.list_objects(bucket, f"{event.file_id}/")
            }
            playlists = {
                r["name"]: await read(bucket, r["playlist_key"]) for r in final.data["renditions"]
            }

    assert final.type == "transcode.completed.v1", final.data
    types = [e.type for e in events]
    assert types[0] == "transcode.started.v1"
    assert types[-1] == "transcode.completed.v1"
    ready = [e.data for e in events if e.type == "transcode.segments_ready.v1"]
    progress = [e.data for e in events if e.type == "transcode.progress.v1"]
    # Published as it grew: the first report came before the last chunk, the last one ended.
    assert ready, types
    assert ready[0]["chunks_planned"] == 4
    assert ready[0]["chunks_done"] < 4
    assert not ready[0]["ended"]
    assert ready[-1]["ended"]
    assert ready[-1]["ready"] == pytest.approx(8.0, abs=0.01)
    assert [r["ready"] for r in ready] == sorted({r["ready"] for r in ready})
    assert ready[0]["master_playlist_key"] == master_key
    assert {p["name"] for p in ready[0]["playlists"]} == {"360p", "180p", "audio_128k", "audio_64k"}
    # Progress is chunks done out of planned: 25, 50, 75 (never 100), with a 20 % step.
    assert [p["percent"] for p in progress] == [25.0, 50.0, 75.0]
    # The final ladder: VOD playlists, every segment stored, audio as its own renditions.
    assert [r["name"] for r in final.data["renditions"]] == [
        "360p", "180p", "audio_128k", "audio_64k",
    ]  # fmt: skip
    assert final.data["mp4"]["key"] in stored  # the fallback, remuxed from the 360p rung
    assert (final.data["mp4"]["width"], final.data["mp4"]["height"]) == (640, 360)
    assert 'AUDIO="audio_128k"' in master
    assert "#EXT-X-MEDIA:TYPE=AUDIO" in master
    for name, text in playlists.items():
        playlist = parse_media_playlist(text)  # VOD and ended, or it raises
        assert playlist.duration == pytest.approx(8.0, abs=0.05), name
        prefix = master_key.rsplit("/", 1)[0]
        for uri, _ in playlist.segments:
            assert f"{prefix}/{name}/{uri}" in stored
    assert len(parse_media_playlist(playlists["360p"]).segments) == 8


async def test_a_chunk_that_fails_for_good_fails_the_file_with_its_code(
    make_settings: Callable[..., TranscoderSettings],
    make_clip: MakeClip,
    upload: Upload,
    wait_final: WaitFinal,
    transcode_events: ReadEvents,
) -> None:
    settings = make_settings(
        encoding=EncodingSettings(ladder=DEFAULT_LADDER, segment_seconds=1.0),
        chunking=ChunkingSettings(threshold=5.0, chunk_segments=2, preroll=0.5),
    )
    await apply_migrations(settings)
    # The replica that takes the chunks allows its ffmpeg 1 CPU-second: 2 s of 1080p30 in
    # four rungs take several. The job's own worker (the audio) is not starved.
    starved = dataclasses.replace(
        settings, tools=dataclasses.replace(settings.tools, cpu_base=1, cpu_per_second=0)
    )
    async with open_resources(settings) as resources, open_resources(starved) as replica:
        coordinator = Bus(settings.bus, resources.registry, producer="transcoder")
        register_transcoder(coordinator, resources.transcoder, settings)
        chunks = Bus(starved.bus, replica.registry, producer="transcoder")
        register_chunk_encoder(chunks, replica.chunk_encoder, starved)
        relay = OutboxRelay(settings.database_url, settings.bus.url, poll_interval=0.2)
        async with coordinator.running(), chunks.running(), relay:
            event = await upload(make_clip(width=1920, height=1080, seconds=6.0, fps=30))
            await coordinator.publish(event)
            final = await wait_final(event.file_id)
    events = transcode_events(event.file_id)

    assert (final.type, final.data["code"]) == ("transcode.failed.v1", "resource_limit")
    failed_chunks = [e.data for e in events if e.type == "transcode.chunk_failed.v1"]
    assert failed_chunks
    assert {c["code"] for c in failed_chunks} == {"resource_limit"}
    assert f"chunk {failed_chunks[0]['index']}:" in final.data["detail"]
    assert not [e for e in events if e.type == "transcode.completed.v1"]
