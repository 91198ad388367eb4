"""Where the bus lives: server, stream and subject names, retention."""

from __future__ import annotations

import os
from typing import TypedDict

import msgspec

MAX_REPLICAS = 5  # JetStream keeps a stream on at most five servers
MIN_DUPLICATE_WINDOW = (
    120.0  # seconds: outbox relays may republish after a crash; keep dedup that long
)


class NatsIdentity(TypedDict, total=False):
    """`nats.connect` keyword arguments that say who connects (empty: nobody in particular)."""

    user: str
    password: str
    inbox_prefix: str


def inbox_prefix(user: str) -> str:
    """Where identity `user` gets its replies (`_INBOX_<user>.<id>`)."""
    return f"_INBOX_{user}"


class BusSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Names and limits of the event stream and its dead-letter stream.

    Events go to `<subject_root>.<tag>` in `stream`; dead letters to
    `<dlq_subject_root>.<consumer>.<original subject>` in `dlq_stream`.
    `max_age` 0 keeps events forever: the stream is the replayable log.
    `url` may name several servers of one cluster, comma-separated; `replicas`
    is how many of them keep each stream (1, or 3 on a three-node cluster).
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
    # This process's NATS identity (None: the server must accept it without one, or
    # the URL carries it). Never logged: `__repr__` leaves the password out.
    user: str | None = None
    password: str | None = None

    def __repr__(self) -> str:
        return (
            f"BusSettings(url={self.url!r}, stream={self.stream!r}, "
            f"subject_root={self.subject_root!r}, dlq_stream={self.dlq_stream!r}, "
            f"dlq_subject_root={self.dlq_subject_root!r}, user={self.user!r})"
        )

    def __post_init__(self) -> None:
        if self.duplicate_window < MIN_DUPLICATE_WINDOW:
            raise ValueError(f"duplicate_window must be >= {MIN_DUPLICATE_WINDOW} s")
        if self.max_age < 0 or self.dlq_max_age < 0:
            raise ValueError("max_age must be >= 0 (0 = no age limit)")
        if self.subject_root == self.dlq_subject_root:
            raise ValueError("events and dead letters need different subject roots")
        if not 1 <= self.replicas <= MAX_REPLICAS:
            raise ValueError(f"replicas must be 1 to {MAX_REPLICAS} (JetStream's limit)")
        if (self.user is None) != (self.password is None):
            raise ValueError("a NATS user needs a password, and a password a user")

    @classmethod
    def from_env(cls, service: str | None = None) -> BusSettings:
        """Settings from `MEDIAPLANE_NATS_URL` and `MEDIAPLANE_` + `STREAM`, `SUBJECT_ROOT`,
        `DLQ_STREAM`, `DLQ_SUBJECT_ROOT`, `STREAM_REPLICAS`; the identity from
        `MEDIAPLANE_<SERVICE>_NATS_USER` (default: the service's name) and
        `MEDIAPLANE_<SERVICE>_NATS_PASSWORD`, or, with no `service` (operators' tools),
        `MEDIAPLANE_NATS_USER` and `MEDIAPLANE_NATS_PASSWORD`.

        Per-service names because one environment (`just up`'s env file, compose's
        shared block) may hold several services' settings, as with their database URLs.
        Defaults are the local stack's NATS and the production names; no password
        means no identity (the server then refuses the connection when it checks).
        """
        env = os.environ
        prefix = f"MEDIAPLANE_{service.upper()}_NATS" if service else "MEDIAPLANE_NATS"
        password = env.get(f"{prefix}_PASSWORD") or None
        user = env.get(f"{prefix}_USER", service) if password else None
        if password and not user:
            raise ValueError(f"{prefix}_PASSWORD is set but {prefix}_USER is not")
        return cls(
            url=env.get("MEDIAPLANE_NATS_URL", "nats://127.0.0.1:24222"),
            stream=env.get("MEDIAPLANE_STREAM", "MEDIA"),
            subject_root=env.get("MEDIAPLANE_SUBJECT_ROOT", "media"),
            dlq_stream=env.get("MEDIAPLANE_DLQ_STREAM", "DLQ"),
            dlq_subject_root=env.get("MEDIAPLANE_DLQ_SUBJECT_ROOT", "dlq"),
            replicas=int(env.get("MEDIAPLANE_STREAM_REPLICAS", "1")),
            user=user,
            password=password,
        )

    def connect_options(self) -> NatsIdentity:
        """`nats.connect` keyword arguments for this identity: user, password, inbox prefix.

        Each identity receives replies (JetStream API answers, pulled messages,
        publish acks) under its own inbox prefix, and may subscribe to nothing
        else: no service can read what is delivered to another.
        """
        if self.user is None or self.password is None:
            return {}
        return {
            "user": self.user,
            "password": self.password,
            "inbox_prefix": inbox_prefix(self.user),
        }

    @property
    def servers(self) -> list[str]:
        """The servers `url` names (`nats.connect` tries them all, and learns the rest)."""
        return [server.strip() for server in self.url.split(",") if server.strip()]

    @property
    def subjects(self) -> str:
        """Every event subject: `media.>`."""
        return f"{self.subject_root}.>"

    @property
    def dlq_subjects(self) -> str:
        return f"{self.dlq_subject_root}.>"
