"""JetStream publishes with acknowledgements, at a fraction of nats-py's `publish_async` cost.

`JetStreamContext.publish_async` spends per message an `asyncio.wait_for` (a
task) on its pending-window semaphore, a random token (`secrets.token_hex`)
and, per acknowledgement, `json.loads` plus a `PubAck` dataclass: in a relay
profile that was more CPU than the publish itself. The relay bounds what is
in flight on its own (one wave at a time), so this publisher keeps only what
the protocol needs: the message published with a reply subject under one
wildcard subscription, a future per reply subject. The server's answer is the
same JetStream publish acknowledgement (`{"stream": ..., "seq": ...}` or
`{"error": {...}}`; a `503` status when no stream takes the subject).
"""

from __future__ import annotations

import asyncio

import msgspec
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

_NO_RESPONDERS = "503"


class PublishRefused(Exception):
    """JetStream answered with an error, or no stream takes the subject."""


class _ApiError(msgspec.Struct):
    code: int = 0
    description: str = ""


class _Ack(msgspec.Struct):
    seq: int = 0
    error: _ApiError | None = None


_decode_ack = msgspec.json.Decoder(_Ack).decode


class AckedPublisher:
    """Publishes to JetStream; each publish returns a future of the stored sequence number."""

    def __init__(self, nc: NatsClient) -> None:
        self._nc = nc
        self._prefix = ""
        self._counter = 0
        self._waiting: dict[str, asyncio.Future[int]] = {}
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._prefix = f"{self._nc.new_inbox()}."
        self._subscription = await self._nc.subscribe(f"{self._prefix}*", cb=self._on_reply)

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None
        for future in self._waiting.values():
            future.cancel()
        self._waiting.clear()

    async def publish(
        self, subject: str, payload: bytes, headers: dict[str, str]
    ) -> asyncio.Future[int]:
        """Send one message; the future resolves with its stream sequence or `PublishRefused`.

        Cancelling the future forgets the message (an acknowledgement arriving
        later is ignored); nothing else bounds how many are pending.
        """
        if self._subscription is None:
            raise RuntimeError("start() the publisher first")
        self._counter += 1
        token = str(self._counter)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting[token] = future
        future.add_done_callback(lambda _: self._waiting.pop(token, None))
        await self._nc.publish(subject, payload, reply=self._prefix + token, headers=headers)
        return future

    def pending(self) -> int:
        return len(self._waiting)

    async def _on_reply(self, msg: Msg) -> None:
        future = self._waiting.get(msg.subject[len(self._prefix) :])
        if future is None or future.done():
            return
        if msg.headers and msg.headers.get("Status") == _NO_RESPONDERS:
            # No stream takes the subject, or (in a cluster) its leader is being elected.
            future.set_exception(
                PublishRefused("no stream answered (none takes the subject, or none leads it yet)")
            )
            return
        try:
            ack = _decode_ack(msg.data)
        except msgspec.DecodeError as error:
            future.set_exception(PublishRefused(f"unreadable acknowledgement: {error}"))
            return
        if ack.error is not None:
            future.set_exception(PublishRefused(f"{ack.error.code}: {ack.error.description}"))
        else:
            future.set_result(ack.seq)
