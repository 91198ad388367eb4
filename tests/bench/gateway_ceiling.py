"""The gateway benchmark's ceiling: `POST /v1/uploads` doing the same I/O with nothing else.

A raw ASGI callable, no framework: per request it reads the JSON body, inserts
one row into a table shaped like the session projection (one autocommit
statement through the same psycopg pool the gateway opens), presigns one
length-bound PUT with the same `ObjectStore`, and answers 201 with the URL.
No auth, no validation, no event log, no middleware: what the gateway does
beyond this is what its ratio measures. Served by uvicorn like the gateway.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec

from mediaplane.eventlog.database import Pool, open_pool
from mediaplane.storage import ObjectStore
from mediaplane.upload_gateway.config import GatewaySettings

APPLICATION_NAME = "bench-ceiling"  # how the benchmark finds its Postgres backends
TABLE = """
CREATE TABLE IF NOT EXISTS bench_ceiling_uploads (
    session_id uuid PRIMARY KEY,
    file_id uuid NOT NULL,
    owner text NOT NULL,
    filename text NOT NULL,
    size bigint NOT NULL,
    content_type text NOT NULL,
    object_key text NOT NULL,
    opened_at timestamptz NOT NULL DEFAULT now()
)
"""
_INSERT = (
    b"INSERT INTO bench_ceiling_uploads"
    b" (session_id, file_id, owner, filename, size, content_type, object_key)"
    b" VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
_HEADERS = [(b"content-type", b"application/json")]
_TTL = timedelta(hours=1)
_decode = msgspec.json.Decoder(dict[str, Any]).decode
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class _Resources:
    bucket: str
    pool: Pool
    objects: ObjectStore


class Ceiling:
    def __init__(self) -> None:
        self.resources: _Resources | None = None  # from the gateway's settings at startup

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["method"] != "POST":  # the benchmark waits for a 404 to know it is up
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        request = _decode(body)
        session_id, file_id = uuid.uuid4(), uuid.uuid4()
        key = f"staging/bench/{file_id}"
        resources = self.resources
        assert resources is not None
        async with resources.pool.connection() as conn:
            await conn.execute(
                _INSERT,
                (
                    session_id,
                    file_id,
                    "bench",
                    request["filename"],
                    request["size"],
                    request["content_type"],
                    key,
                ),
            )
        signed = resources.objects.presign_put(
            resources.bucket,
            key,
            expires=_TTL,
            content_type=request["content_type"],
            content_length=request["size"],
        )
        answer = _encode({"session_id": session_id, "file_id": file_id, "url": signed.url})
        await send({"type": "http.response.start", "status": 201, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": answer})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                settings = GatewaySettings.from_env()
                # The gateway's pool, sized as the gateway sizes it.
                pool = await open_pool(
                    settings.database_url,
                    min_size=2,
                    max_size=20,
                    application_name=APPLICATION_NAME,
                )
                async with pool.connection() as conn:
                    await conn.execute(TABLE)
                self.resources = _Resources(
                    bucket=settings.bucket, pool=pool, objects=ObjectStore(settings.storage)
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.resources is not None:
                    await self.resources.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


app = Ceiling()
