"""Playback beacons (analytics): what a player reports about one view, in batches.

Beacons are not platform events: they go to their own stream (`BEACONS`, subject
`beacon.<tag>`, see `BEACON_REGISTRY`) with an age limit, never to `MEDIA` and never
to a file's event log, so a popular video does not swell its file's history. The
envelope is the usual one (`stream_id` is `view-<view_id>`, `event_id` the
`Nats-Msg-Id`), so the bus publishes and consumes them like any event.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from mediaplane.contracts.envelope import Event, Seconds
from mediaplane.contracts.registry import Registry

BeaconKind = Literal[
    "view_start",
    "heartbeat",
    "rendition_change",
    "rebuffer_start",
    "rebuffer_end",
    "error",
    "view_end",
]
RenditionName = Annotated[
    str, msgspec.Meta(pattern="^[A-Za-z0-9_-]{1,32}$", description="rendition name, e.g. 720p")
]
MAX_BEACONS = 100  # per batch: a player flushes every few seconds, far below this


class Beacon(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One thing that happened in a view, at the player's clock (`at`, with a time zone)."""

    kind: BeaconKind
    at: datetime
    position: Annotated[Seconds, msgspec.Meta(description="playback position (s)")]
    rendition: RenditionName | None = None
    # view_start only: from the play request to the first frame.
    startup_ms: Annotated[int, msgspec.Meta(ge=0, le=600_000)] | None = None
    # error only: the player's error code (hls.js `details`), no free text.
    error: Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9_.:-]{1,64}$")] | None = None


class PlaybackBeacons(Event, tag="playback.beacons.v1", frozen=True, kw_only=True):
    """One accepted batch of beacons of one view of one file (stream `view-<view_id>`)."""

    view_id: uuid.UUID
    file_id: uuid.UUID
    owner: str  # the file's owner (rollups per owner)
    viewer: str  # who watched (the token's subject)
    beacons: Annotated[list[Beacon], msgspec.Meta(min_length=1, max_length=MAX_BEACONS)]


BEACON_EVENTS: tuple[type[Event], ...] = (PlaybackBeacons,)


def build_beacon_registry(subject_root: str = "beacon") -> Registry:
    """The beacon stream's registry: its subjects are `<subject_root>.<tag>`."""
    return Registry(BEACON_EVENTS, subject_root=subject_root)


BEACON_REGISTRY = build_beacon_registry()
