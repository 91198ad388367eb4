"""Where the bus lives: server, stream and subject names, retention."""

from __future__ import annotations

import os

import msgspec

MIN_DUPLICATE_WINDOW = (
    120.0  # seconds: outbox relays may republish after a crash; keep dedup that long
)


class BusSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Names and limits of the event stream and its dead-letter stream.

    Events go to `<subject_root>.<tag>` in `stream`; dead letters to
    `<dlq_subject_root>.<consumer>.<original subject>` in `dlq_stream`.
    `max_age` 0 keeps events forever: the stream is the replayable log.
    """

    url: str = "nats://127.0.0.1:4222"
    stream: str = "MEDIA"
    subject_root: str = "media"
    dlq_stream: str = "DLQ"
    dlq_subject_root: str = "dlq"
    duplicate_window: float = MIN_DUPLICATE_WINDOW
    max_age: float = 0.0
    dlq_max_age: float = 0.0
    replicas: int = 1

    def __post_init__(self) -> None:
        if self.duplicate_window < MIN_DUPLICATE_WINDOW:
            raise ValueError(f"duplicate_window must be >= {MIN_DUPLICATE_WINDOW} s")
        if self.max_age < 0 or self.dlq_max_age < 0:
            raise ValueError("max_age must be >= 0 (0 = no age limit)")
        if self.subject_root == self.dlq_subject_root:
            raise ValueError("events and dead letters need different subject roots")

    @classmethod
    def from_env(cls) -> BusSettings:
        """Settings from `MEDIAPLANE_NATS_URL` and `MEDIAPLANE_` + `STREAM`, `SUBJECT_ROOT`,
        `DLQ_STREAM`, `DLQ_SUBJECT_ROOT`.

        Defaults are the local stack's NATS and the production names.
        """
        env = os.environ
        return cls(
            url=env.get("MEDIAPLANE_NATS_URL", "nats://127.0.0.1:24222"),
            stream=env.get("MEDIAPLANE_STREAM", "MEDIA"),
            subject_root=env.get("MEDIAPLANE_SUBJECT_ROOT", "media"),
            dlq_stream=env.get("MEDIAPLANE_DLQ_STREAM", "DLQ"),
            dlq_subject_root=env.get("MEDIAPLANE_DLQ_SUBJECT_ROOT", "dlq"),
        )

    @property
    def subjects(self) -> str:
        """Every event subject: `media.>`."""
        return f"{self.subject_root}.>"

    @property
    def dlq_subjects(self) -> str:
        return f"{self.dlq_subject_root}.>"
