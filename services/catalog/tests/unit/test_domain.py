"""Pure pieces: ledger entries from message bodies, cursors, HLS rewriting."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from mediaplane.catalog.domain.entries import PoisonMessage, ledger_entry
from mediaplane.catalog.domain.hls import object_key, rewrite
from mediaplane.catalog.testing import FileStory, global_tag_created, tag_created
from mediaplane.contracts import REGISTRY
from mediaplane.servicekit.pagination import InvalidCursor, decode_cursor, encode_cursor


def test_a_known_event_becomes_an_entry_with_its_lookup_columns() -> None:
    story = FileStory(owner="alice").opened()
    event = story.events[0]

    entry = ledger_entry(REGISTRY, "media.upload.session.opened.v1", REGISTRY.encode(event), 7)

    assert (entry.event_id, entry.type, entry.known) == (event.event_id, event.tag(), True)
    assert (entry.file_id, entry.session_id, entry.stream_sequence) == (
        story.file_id,
        story.session_id,
        7,
    )
    for tag in (tag_created("cats", "a"), global_tag_created("dogs", "a")):
        assert ledger_entry(REGISTRY, "s", REGISTRY.encode(tag)).tag == tag.name


def test_unknown_types_are_kept_and_broken_bodies_are_poison() -> None:
    body = REGISTRY.encode(FileStory(owner="a").opened().events[0])
    newer = body.replace(b"upload.session.opened.v1", b"upload.session.paused.v2")

    assert ledger_entry(REGISTRY, "s", newer).known is False
    with pytest.raises(PoisonMessage, match="no event envelope"):
        ledger_entry(REGISTRY, "s", b"[1, 2]")
    with pytest.raises(PoisonMessage, match=r"invalid upload\.session\.opened\.v1"):
        ledger_entry(REGISTRY, "s", body.replace(b'"owner":"a"', b'"owner":5'))
    with pytest.raises(PoisonMessage, match="time zone"):
        ledger_entry(REGISTRY, "s", body.replace(b'00:00:00Z"', b'00:00:00"', 1))


def test_cursors_round_trip_and_refuse_forgeries() -> None:
    at, key = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), uuid.uuid4()

    assert decode_cursor(encode_cursor(at, key)) == (at, key)
    for forged in ("", "bm9wZQ", encode_cursor(at, key)[:-3], "W1siMjAyNi0wMS0wMiIsIngiXV0"):
        with pytest.raises(InvalidCursor):
            decode_cursor(forged)


def test_object_keys_resolve_relative_to_the_playlist() -> None:
    assert object_key("f/hls/720p/index.m3u8", "seg_1.m4s?x=1") == "f/hls/720p/seg_1.m4s"
    assert object_key("f/hls/master.m3u8", "720p/index.m3u8") == "f/hls/720p/index.m3u8"
    assert object_key("f/hls/720p/index.m3u8", "../audio/a.m3u8") == "f/hls/audio/a.m3u8"
    assert object_key("f/index.m3u8", "../../../etc/passwd") is None
    assert object_key("f/index.m3u8", "https://cdn.example/x.ts") is None
    assert object_key("f/index.m3u8", "/abs.ts") is None


def test_rewrite_replaces_uri_lines_and_uri_attributes_only() -> None:
    playlist = (
        '#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4.0,\nseg_0.m4s\n\n'
        "https://cdn.example/ad.ts\n#EXT-X-ENDLIST"
    )

    rewritten = rewrite(playlist, "f/hls/720p/index.m3u8", lambda key: f"signed:{key}")

    assert rewritten.splitlines() == [
        "#EXTM3U",
        '#EXT-X-MAP:URI="signed:f/hls/720p/init.mp4"',
        "#EXTINF:4.0,",
        "signed:f/hls/720p/seg_0.m4s",
        "",
        "https://cdn.example/ad.ts",
        "#EXT-X-ENDLIST",
    ]
