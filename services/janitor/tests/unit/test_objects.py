"""Which objects a file owns, from the events that announce them."""

from __future__ import annotations

import uuid

from mediaplane.contracts import (
    REGISTRY,
    EventContext,
    FileUploaded,
    FileUploadedV2,
    Rendition,
    Thumbnail,
    ThumbnailGenerated,
    ThumbnailSource,
    TranscodeCompleted,
    new_event,
    utc_now,
)
from mediaplane.janitor.domain.objects import (
    ObjectRef,
    managed,
    original_of,
    renditions_of,
    thumbnails_of,
)

CTX = EventContext(producer="test", correlation_id="c")
FILE = uuid.UUID("0192f0a1-7c3e-7b7a-9d2e-6f5e4d3c2b1a")


def transcoded(master: str, playlists: list[str]) -> TranscodeCompleted:
    return new_event(
        TranscodeCompleted,
        occurred_at=utc_now(),
        stream_id=f"transcode-{FILE}",
        context=CTX,
        file_id=FILE,
        job_id=uuid.uuid4(),
        bucket="renditions",
        master_playlist_key=master,
        renditions=[
            Rendition(
                name=key,
                width=1,
                height=1,
                bandwidth=1,
                average_bandwidth=1,
                codecs="avc1",
                frame_rate=30.0,
                playlist_key=key,
                segment_count=1,
            )
            for key in playlists
        ],
        duration=1.0,
        elapsed=1.0,
    )


def test_renditions_are_the_folder_named_after_the_file() -> None:
    event = transcoded(f"{FILE}/hls/master.m3u8", [f"{FILE}/hls/720p/index.m3u8"])
    assert renditions_of(event) == [
        ObjectRef(bucket="renditions", key=f"{FILE}/hls/", kind="rendition", is_prefix=True)
    ]


def test_a_folder_that_does_not_name_the_file_is_never_a_prefix() -> None:
    # `hls/` or the bucket root could hold other files: only the named keys are known.
    for master, playlist in [
        ("hls/master.m3u8", "hls/720p/index.m3u8"),
        ("master.m3u8", "720p/index.m3u8"),
        (f"x{FILE}/master.m3u8", f"x{FILE}/720p/index.m3u8"),
    ]:
        refs = renditions_of(transcoded(master, [playlist, playlist]))
        assert [(r.key, r.is_prefix) for r in refs] == [(master, False), (playlist, False)]


def test_thumbnails_are_their_keys() -> None:
    event = new_event(
        ThumbnailGenerated,
        occurred_at=utc_now(),
        stream_id=f"thumbnail-{FILE}",
        context=CTX,
        file_id=FILE,
        bucket="thumbnails",
        thumbnails=[
            Thumbnail(name=n, width=1, height=1, format="webp", key=f"{FILE}/{n}.webp", size=1)
            for n in ("small", "large")
        ],
        source=ThumbnailSource(width=1, height=1, format="image"),
    )
    assert [(r.bucket, r.key, r.kind) for r in thumbnails_of(event)] == [
        ("thumbnails", f"{FILE}/small.webp", "thumbnail"),
        ("thumbnails", f"{FILE}/large.webp", "thumbnail"),
    ]


def test_objects_outside_the_managed_buckets_are_dropped() -> None:
    refs = [
        ObjectRef(bucket="renditions", key="a", kind="rendition"),
        ObjectRef(bucket="billing", key="b", kind="rendition"),
    ]
    assert managed(refs, frozenset({"originals", "renditions"})) == refs[:1]


def test_a_file_owns_its_original_and_its_staging_object() -> None:
    uploaded = new_event(
        FileUploadedV2,
        occurred_at=utc_now(),
        stream_id=f"file-{FILE}",
        context=CTX,
        file_id=FILE,
        owner="alice",
        bucket="originals",
        object_key=f"alice/{FILE}/upload",
        original_key=f"alice/{FILE}/original",
        filename="f",
        content_type="video/mp4",
        size=1,
    )
    assert original_of(uploaded) == [
        ObjectRef(bucket="originals", key=f"alice/{FILE}/original", kind="original"),
        ObjectRef(bucket="originals", key=f"alice/{FILE}/upload", kind="staging"),
    ]


def test_an_old_layout_upload_owns_one_key() -> None:
    v1 = new_event(
        FileUploaded,
        occurred_at=utc_now(),
        stream_id=f"file-{FILE}",
        context=CTX,
        file_id=FILE,
        owner="alice",
        bucket="originals",
        object_key=f"alice/{FILE}",
        filename="f",
        content_type="video/mp4",
        size=1,
    )
    upcast = REGISTRY.from_builtins(REGISTRY.to_builtins(v1))
    assert isinstance(upcast, FileUploadedV2)
    assert original_of(upcast) == [
        ObjectRef(bucket="originals", key=f"alice/{FILE}", kind="original")
    ]
