"""Tag -> class -> subject, and decoding with upcasting.

An event's tag names its version (`file.uploaded.v1`). When a v2 appears, the
v1 class stays registered (its schema is frozen), an upcaster turns a v1
payload into a v2 payload, and `decode` hands every reader the newest
version, so replays of old logs keep working.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from mediaplane.contracts.envelope import Event

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


class UnknownEventType(ValueError):
    """The payload's `type` is not registered (a newer producer, or garbage)."""

    def __init__(self, tag: object) -> None:
        super().__init__(f"unknown event type {tag!r}")
        self.tag = tag


class _TypeOnly(msgspec.Struct):
    type: str = ""


_type_decoder = msgspec.json.Decoder(_TypeOnly)
_encoder = msgspec.json.Encoder()


class Registry:
    """Every known event version, the subject of each, and the upcasters between versions."""

    def __init__(self, events: Iterable[type[Event]], *, subject_root: str = "media") -> None:
        self.subject_root = subject_root
        self._classes: dict[str, type[Event]] = {}
        self._decoders: dict[str, msgspec.json.Decoder[Any]] = {}
        self._upcasters: dict[str, tuple[str, Upcaster]] = {}
        for cls in events:
            tag = cls.tag()
            if tag in self._classes:
                raise ValueError(f"duplicate event tag {tag}")
            self._classes[tag] = cls
            self._decoders[tag] = msgspec.json.Decoder(cls)

    # -- lookup -----------------------------------------------------------
    @property
    def tags(self) -> list[str]:
        return sorted(self._classes)

    @property
    def classes(self) -> dict[str, type[Event]]:
        return dict(self._classes)

    def class_for(self, tag: str) -> type[Event]:
        try:
            return self._classes[tag]
        except KeyError:
            raise UnknownEventType(tag) from None

    def subject(self, tag: str) -> str:
        """`media.<tag>` for a registered tag."""
        self.class_for(tag)
        return f"{self.subject_root}.{tag}"

    def subject_of(self, event: Event) -> str:
        return self.subject(event.tag())

    def tag_of_subject(self, subject: str) -> str:
        prefix = f"{self.subject_root}."
        if not subject.startswith(prefix):
            raise UnknownEventType(subject)
        tag = subject.removeprefix(prefix)
        self.class_for(tag)
        return tag

    # -- versions ---------------------------------------------------------
    def register_upcaster(self, from_tag: str, to_tag: str, upcast: Upcaster) -> None:
        """Declare that `from_tag` payloads become `to_tag` payloads through `upcast`."""
        self.class_for(from_tag)
        self.class_for(to_tag)
        if from_tag in self._upcasters:
            raise ValueError(f"{from_tag} already has an upcaster")
        self._upcasters[from_tag] = (to_tag, upcast)

    def upcaster(self, from_tag: str, to_tag: str) -> Callable[[Upcaster], Upcaster]:
        """Decorator form of `register_upcaster`."""

        def register(fn: Upcaster) -> Upcaster:
            self.register_upcaster(from_tag, to_tag, fn)
            return fn

        return register

    def latest_tag(self, tag: str) -> str:
        seen = {tag}
        while tag in self._upcasters:
            tag = self._upcasters[tag][0]
            if tag in seen:
                raise ValueError(f"upcaster cycle through {tag}")
            seen.add(tag)
        return tag

    def upcast(self, payload: Payload) -> Payload:
        """Apply vN -> vN+1 upcasters until the payload is the newest version."""
        tag = payload.get("type")
        while isinstance(tag, str) and tag in self._upcasters:
            to_tag, fn = self._upcasters[tag]
            payload = {**fn(dict(payload)), "type": to_tag}
            tag = to_tag
        return payload

    # -- codec ------------------------------------------------------------
    def encode(self, event: Event) -> bytes:
        self.class_for(event.tag())
        return _encoder.encode(event)

    def decode(self, data: bytes | str) -> Event:
        """Decode JSON into the newest version of its event.

        Raises UnknownEventType, or msgspec errors for invalid JSON or fields.
        """
        tag = _type_decoder.decode(data).type
        if tag not in self._classes:
            raise UnknownEventType(tag)
        if tag in self._upcasters:
            return self.from_builtins(msgspec.json.decode(data))
        decoded: Event = self._decoders[tag].decode(data)
        return decoded

    def from_builtins(self, payload: Payload) -> Event:
        """Convert a decoded JSON object (e.g. a jsonb column) into its newest version."""
        tag = payload.get("type")
        if not isinstance(tag, str) or tag not in self._classes:
            raise UnknownEventType(tag)
        payload = self.upcast(payload)
        cls = self._classes[payload["type"]]
        converted: Event = msgspec.convert(payload, cls, strict=False)
        return converted

    def to_builtins(self, event: Event) -> Payload:
        builtins: Payload = msgspec.to_builtins(event)
        return builtins
