"""clamd's INSTREAM protocol over TCP: how the verifier has each original scanned.

The protocol is small (`man clamd`): send `zINSTREAM\\0`, then chunks each
prefixed with their length as a 4-byte big-endian integer, then a zero
length; clamd answers one line, `stream: OK`, `stream: <signature> FOUND`
or `... ERROR`. It is written here rather than taken from a client library
because the verifier feeds it chunk by chunk from the S3 stream it hashes
(one read of the object), which the Python clients (file-like sources read
in 1 KiB steps) do not allow, and because of clamd's stream limit
(`StreamMaxLength`): clamd answers `INSTREAM size limit exceeded` and closes
the connection mid-stream, and on Linux the reset that follows often discards
that answer before it is read (measured: 10 of 10 streams of 32 MiB in 1 MiB
chunks against a 1 MiB limit lost it). So the client keeps the limit itself
(`stream_max`, set to clamd's `StreamMaxLength`): a longer stream is never
sent past it, and its outcome (`limit`) does not depend on a race. clamd's
own answer, when it is read, means the same.

Every failure to get an answer (refused, reset, timed out, an `ERROR` other
than the size limit) is `ScanUnavailable`: the caller retries later and never
takes it for a clean result.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Literal

# clamd's own prefix for what AlertExceedsMax flags: it was not scanned whole.
_LIMITS_EXCEEDED = "Heuristics.Limits.Exceeded"
_SIZE_LIMIT = "INSTREAM size limit exceeded"


class ScanUnavailable(Exception):
    """clamd gave no verdict (down, timed out, or failed): scan again later."""


@dataclass(frozen=True, kw_only=True)
class ScanResult:
    """clamd's verdict: `clean`, `found` (a signature) or `limit` (not scanned whole)."""

    outcome: Literal["clean", "found", "limit"]
    detail: str = ""


def parse_address(url: str) -> tuple[str, int]:
    """`tcp://host:port` -> (host, port); anything else is a configuration error."""
    scheme, _, rest = url.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme != "tcp" or not host or not port.isdigit():
        raise ValueError(f"MEDIAPLANE_CLAMD_URL must be tcp://host:port, not {url!r}")
    return host.strip("[]"), int(port)


def parse_reply(reply: bytes) -> ScanResult:
    """clamd's one-line answer to INSTREAM as a verdict (ScanUnavailable when it is none)."""
    text = reply.rstrip(b"\0\n").decode("utf-8", "replace").strip()
    if text.startswith(_SIZE_LIMIT):
        return ScanResult(outcome="limit", detail="the stream is longer than clamd accepts")
    _, _, verdict = text.partition(": ")
    if verdict == "OK":
        return ScanResult(outcome="clean")
    if verdict.endswith(" FOUND"):
        signature = verdict.removesuffix(" FOUND").strip()
        if signature.startswith(_LIMITS_EXCEEDED):
            return ScanResult(
                outcome="limit", detail=f"clamd could not scan it whole ({signature})"
            )
        return ScanResult(outcome="found", detail=signature)
    raise ScanUnavailable(f"clamd answered {text!r}")


class Scan:
    """One INSTREAM session: `feed` chunks, then `finish` for the verdict.

    Feeding ends early (`ended`, later chunks dropped) when the stream would
    pass `stream_max` (the verdict is then `limit`, decided here) or clamd
    answered before the end (read concurrently: clamd's own limit or an error).
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        timeout: float,
        stream_max: int,
    ) -> None:
        self._writer = writer
        self._timeout = timeout
        self._left = stream_max
        self._too_long = False
        self._reply = asyncio.create_task(_read_reply(reader))

    @property
    def ended(self) -> bool:
        return self._too_long or self._reply.done()

    async def feed(self, chunk: bytes) -> None:
        if self.ended or not chunk:
            return
        if len(chunk) > self._left:
            self._too_long = True  # nothing past the limit is sent: clamd would cut it
            return
        self._left -= len(chunk)
        self._writer.write(struct.pack("!L", len(chunk)) + chunk)
        try:
            async with asyncio.timeout(self._timeout):
                await self._writer.drain()
        except (ConnectionError, TimeoutError) as exc:
            if not self.ended:  # clamd went away without an answer
                raise ScanUnavailable(f"clamd stopped reading: {exc!r}") from exc

    async def finish(self) -> ScanResult:
        if self._too_long:
            return ScanResult(outcome="limit", detail="the stream is longer than clamd accepts")
        if not self.ended:
            self._writer.write(struct.pack("!L", 0))
            with suppress(ConnectionError):
                await self._writer.drain()
        try:
            async with asyncio.timeout(self._timeout):
                reply = await self._reply
        except (ConnectionError, TimeoutError) as exc:
            raise ScanUnavailable(f"clamd gave no answer: {exc!r}") from exc
        return parse_reply(reply)

    async def close(self) -> None:
        self._reply.cancel()
        self._writer.close()
        with suppress(ConnectionError, TimeoutError):
            async with asyncio.timeout(self._timeout):
                await self._writer.wait_closed()


async def _read_reply(reader: asyncio.StreamReader) -> bytes:
    """clamd's answer: up to its NUL terminator (`z` commands), or what came before EOF."""
    try:
        return await reader.readuntil(b"\0")
    except asyncio.IncompleteReadError as partial:
        return partial.partial
    except asyncio.LimitOverrunError as exc:
        raise ScanUnavailable("clamd's answer is too long") from exc


@dataclass(frozen=True)
class ClamdScanner:
    """A clamd reached at `url` (`tcp://host:port`); `timeout` bounds each step;
    `stream_max` is clamd's `StreamMaxLength` (bytes)."""

    url: str
    timeout: float = 60.0
    stream_max: int = 1000 * 1024 * 1024

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        host, port = parse_address(self.url)
        try:
            async with asyncio.timeout(self.timeout):
                return await asyncio.open_connection(host, port)
        except (OSError, TimeoutError) as exc:
            raise ScanUnavailable(f"clamd at {self.url} does not answer: {exc!r}") from exc

    @asynccontextmanager
    async def scan(self) -> AsyncIterator[Scan]:
        """An open INSTREAM session (connected first: no object is read while clamd is down)."""
        reader, writer = await self._connect()
        writer.write(b"zINSTREAM\0")
        session = Scan(reader, writer, self.timeout, self.stream_max)
        try:
            yield session
        finally:
            await session.close()

    async def ping(self) -> None:
        """Raise unless clamd answers PONG (the verifier's readiness)."""
        reader, writer = await self._connect()
        try:
            writer.write(b"zPING\0")
            async with asyncio.timeout(self.timeout):
                await writer.drain()
                reply = await _read_reply(reader)
        finally:
            writer.close()
        if reply.rstrip(b"\0") != b"PONG":
            raise ScanUnavailable(f"clamd answered PING with {reply!r}")
