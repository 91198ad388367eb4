"""The async SDK: every API call of the upload-gateway and the catalog, typed.

Commands go to the gateway, queries to the catalog. Behind the edge proxy both
share one base URL; `catalog_url` exists for services reached directly.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable, Mapping
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import httpx
import msgspec

from mediaplane.client.errors import MediaplaneError, api_error
from mediaplane.client.models import (
    Completion,
    FileChange,
    FileDetail,
    FilePage,
    FileSummary,
    FileTags,
    Overflow,
    PartUrl,
    StoredPart,
    TagPage,
    TagResult,
    TagView,
    UploadPage,
    UploadSession,
)
from mediaplane.client.retry import TRANSIENT_STATUS, RetryPolicy, send_with_retries
from mediaplane.client.signin import TokenSource
from mediaplane.client.sse import parse_events

T = TypeVar("T")

# Part uploads write up to 16 MiB per request: the write timeout is per socket write,
# so a generous value only matters for stalled connections.
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
# The catalog sends a keep-alive comment every 15 s: silence for longer means a dead stream.
WATCH_READ_TIMEOUT = 45.0


class _Parts(msgspec.Struct, frozen=True):
    parts: list[PartUrl]


class _Stored(msgspec.Struct, frozen=True):
    parts: list[StoredPart]


class _Tags(msgspec.Struct, frozen=True):
    tags: list[TagResult]


class _Token(msgspec.Struct, frozen=True):
    token: str


class _Unavailable(Exception):
    """The live stream was refused with a transient status."""


def _params(**values: object) -> dict[str, str]:
    return {
        key: str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in values.items()
        if value is not None
    }


# What `reprocess` may ask for: the gateway's targets (it refuses others with 422).
REPROCESS_TARGETS = ("thumbnails", "transcode", "variants")


class MediaplaneClient:
    """`async with MediaplaneClient(url, token) as client: ...`.

    Transient failures (network errors, 429, 5xx) are retried with backoff; refusals raise
    `MediaplaneError` with the API's problem `code`. `transport` is passed to httpx
    (proxies, tests).
    """

    def __init__(
        self,
        base_url: str,
        token: str | TokenSource | None = None,
        *,
        catalog_url: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.catalog_url = (catalog_url or base_url).rstrip("/")
        # A string as it is; a source is asked before each request (a signed-in CLI's
        # token is refreshed when it expires, even in the middle of a long upload).
        self.token = token
        self.retry = retry or RetryPolicy()
        # No default Authorization header: presigned requests go to object storage with
        # this same client, and must carry neither the bearer token nor a second signature.
        self.http = httpx.AsyncClient(
            timeout=timeout, transport=transport, headers={"User-Agent": "mediaplane-client"}
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _auth(self) -> dict[str, str]:
        token = self.token
        if token is not None and not isinstance(token, str):
            token = await token.access_token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def _call(
        self,
        method: str,
        url: str,
        type_: type[T],
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool = True,
    ) -> T:
        body = None if json is None else msgspec.json.encode(json)
        headers = await self._auth()
        if body is not None:
            headers["Content-Type"] = "application/json"

        async def send() -> httpx.Response:
            return await self.http.request(
                method, url, content=body, params=params, headers=headers
            )

        response = await send_with_retries(self.retry, send, idempotent=idempotent)
        if response.is_error:
            raise api_error(response)
        if type_ is type(None):
            return None  # 202/204: nothing to decode
        return msgspec.json.decode(response.content, type=type_)

    def _gateway(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _catalog(self, path: str) -> str:
        return f"{self.catalog_url}{path}"

    # --- upload-gateway: uploads ---------------------------------------------------------------

    async def open_upload(
        self,
        filename: str,
        size: int,
        content_type: str,
        *,
        sha256: str | None = None,
        tags: Iterable[str] = (),
    ) -> UploadSession:
        """A new session: `single` (one presigned PUT in `upload`) or `multipart`."""
        body: dict[str, Any] = {
            "filename": filename,
            "size": size,
            "content_type": content_type,
            "tags": list(tags),
        }
        if sha256 is not None:
            body["sha256"] = sha256
        # Not idempotent: a resent request after a lost answer would open a second session.
        return await self._call(
            "POST", self._gateway("/v1/uploads"), UploadSession, json=body, idempotent=False
        )

    async def get_upload(self, session_id: uuid.UUID) -> UploadSession:
        return await self._call("GET", self._gateway(f"/v1/uploads/{session_id}"), UploadSession)

    async def sign_parts(
        self, session_id: uuid.UUID, parts: Mapping[int, str | None]
    ) -> list[PartUrl]:
        """Presigned PUTs for parts `{number: sha256}`; a given SHA-256 is signed in, so
        object storage refuses bytes that do not match it."""
        body = {
            "parts": [
                {"number": n} if sha is None else {"number": n, "sha256": sha}
                for n, sha in parts.items()
            ]
        }
        signed = await self._call(
            "POST", self._gateway(f"/v1/uploads/{session_id}/parts"), _Parts, json=body
        )
        return signed.parts

    async def stored_parts(self, session_id: uuid.UUID) -> list[StoredPart]:
        """The parts object storage holds for the session (to resume after a crash)."""
        stored = await self._call("GET", self._gateway(f"/v1/uploads/{session_id}/parts"), _Stored)
        return stored.parts

    async def complete_upload(
        self, session_id: uuid.UUID, parts: Mapping[int, str] | None = None
    ) -> Completion:
        """Completes the session (idempotent on the server: safe to resend)."""
        body = {"parts": [{"number": n, "etag": etag} for n, etag in sorted((parts or {}).items())]}
        return await self._call(
            "POST", self._gateway(f"/v1/uploads/{session_id}/complete"), Completion, json=body
        )

    async def abort_upload(self, session_id: uuid.UUID) -> UploadSession:
        return await self._call("DELETE", self._gateway(f"/v1/uploads/{session_id}"), UploadSession)

    # --- upload-gateway: tags and files --------------------------------------------------------

    async def create_tags(self, names: Iterable[str]) -> list[TagResult]:
        """Creates tags (idempotent: `created` is false for tags that existed)."""
        created = await self._call(
            "POST", self._gateway("/v1/tags"), _Tags, json={"names": list(names)}
        )
        return created.tags

    async def set_file_tags(self, file_id: uuid.UUID, tags: Iterable[str]) -> FileTags:
        return await self._call(
            "PUT", self._gateway(f"/v1/files/{file_id}/tags"), FileTags, json={"tags": list(tags)}
        )

    async def dev_token(self, subject: str, *, admin: bool = False) -> str:
        """A token from the gateway's development endpoint (only with MEDIAPLANE_DEV_MODE=1)."""
        body = {"sub": subject, "admin": admin}
        issued = await self._call("POST", self._gateway("/v1/dev/token"), _Token, json=body)
        return issued.token

    # --- moderation and the admin console (the APIs check the roles) ---------------------------

    async def report_file(self, file_id: uuid.UUID, reason: str) -> dict[str, Any]:
        """Reports a file to the moderators (any signed-in user)."""
        return await self._call(
            "POST",
            self._gateway(f"/v1/files/{file_id}/reports"),
            dict[str, Any],
            json={"reason": reason},
            idempotent=False,
        )

    async def moderate(
        self, file_id: uuid.UUID, action: Literal["takedown", "restore"], reason: str
    ) -> dict[str, Any]:
        """Takes a file down or restores it (role moderator)."""
        return await self._call(
            "POST",
            self._gateway(f"/v1/moderation/files/{file_id}/{action}"),
            dict[str, Any],
            json={"reason": reason},
            idempotent=False,
        )

    async def dismiss_report(
        self, file_id: uuid.UUID, report_id: uuid.UUID, note: str = ""
    ) -> dict[str, Any]:
        """Dismisses one open report (role moderator)."""
        path = f"/v1/moderation/files/{file_id}/reports/{report_id}/dismiss"
        return await self._call(
            "POST", self._gateway(path), dict[str, Any], json={"note": note}, idempotent=False
        )

    async def reprocess(self, file_id: uuid.UUID, target: str = "thumbnails") -> None:
        """Asks the owning worker to make the file's artifacts again (role admin): `target`
        is `thumbnails`, `transcode` or `variants` (see `REPROCESS_TARGETS`)."""
        await self._call(
            "POST",
            self._gateway(f"/v1/admin/files/{file_id}/reprocess"),
            type(None),
            json={"target": target},
            idempotent=False,
        )

    async def set_quota(self, user_id: uuid.UUID, *, files: int | None, bytes: int | None) -> None:
        """Sets a user's own quota (role admin, the identity service's admin API, reached
        through the edge); a None field follows the plan's, both None clear the override."""
        url = self._gateway(f"/v1/admin/users/{user_id}/quota")
        if files is None and bytes is None:
            await self._call("DELETE", url, type(None), idempotent=True)
        else:
            body = {"files": files, "bytes": bytes}
            await self._call("PUT", url, type(None), json=body, idempotent=True)

    async def admin_mail(self, **params: object) -> dict[str, Any]:
        """A page of the identity service's mail outbox (role admin, through the edge):
        `state` `failed` (the default) or `pending`, `limit`, `cursor`; newest first."""
        return await self._call(
            "GET", self._gateway("/v1/admin/mail"), dict[str, Any], params=_params(**params)
        )

    # --- upload-gateway: dead letters (role admin) ------------------------------------------

    async def dead_letters(self, **params: object) -> dict[str, Any]:
        """A page of dead letters, oldest first (`consumer`, `subject`, `reason`, `after`,
        `limit`); `next_after` continues it."""
        return await self._call(
            "GET", self._gateway("/v1/admin/dead-letters"), dict[str, Any], params=_params(**params)
        )

    async def dead_letter(self, sequence: int) -> dict[str, Any]:
        """One dead letter: headers, reason, payload."""
        return await self._call(
            "GET", self._gateway(f"/v1/admin/dead-letters/{sequence}"), dict[str, Any]
        )

    async def redrive_dead_letter(self, sequence: int) -> dict[str, Any]:
        """Publishes it again on its original subject, then drops it from the DLQ."""
        return await self._call(
            "POST",
            self._gateway(f"/v1/admin/dead-letters/{sequence}/redrive"),
            dict[str, Any],
            idempotent=False,
        )

    async def redrive_dead_letters(self, **match: object) -> dict[str, Any]:
        """Redrives every dead letter that matches (`consumer`, `subject`, `reason`), a batch
        of at most `limit` after `after`; `next_after` says where to go on."""
        body = {name: value for name, value in match.items() if value is not None}
        return await self._call(
            "POST",
            self._gateway("/v1/admin/dead-letters/redrive"),
            dict[str, Any],
            json=body,
            idempotent=False,
        )

    async def discard_dead_letter(self, sequence: int, note: str = "") -> None:
        """Drops it from the DLQ unhandled (the note goes to the audit log)."""
        await self._call(
            "POST",
            self._gateway(f"/v1/admin/dead-letters/{sequence}/discard"),
            type(None),
            json={"note": note},
            idempotent=False,
        )

    async def console(self, path: str, **params: object) -> Any:
        """A moderation or admin query of the catalog (`moderation/reports`,
        `admin/files`, ...), as JSON."""
        return await self._call("GET", self._catalog(f"/v1/{path}"), Any, params=_params(**params))

    # --- catalog -------------------------------------------------------------------------------

    async def list_files(
        self,
        *,
        tag: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> FilePage:
        """One page of the caller's files, newest first."""
        params = _params(tag=tag, kind=kind, status=status, q=q, limit=limit, cursor=cursor)
        return await self._call("GET", self._catalog("/v1/files"), FilePage, params=params)

    async def iter_files(
        self,
        *,
        tag: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        q: str | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[FileSummary]:
        """Every matching file, following `next_cursor` (`limit` is the page size)."""
        cursor: str | None = None
        while True:
            page = await self.list_files(
                tag=tag, kind=kind, status=status, q=q, limit=limit, cursor=cursor
            )
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def get_file(self, file_id: uuid.UUID) -> FileDetail:
        """A file with its download URL (while `ready`), SHA-256, thumbnails and playback."""
        return await self._call("GET", self._catalog(f"/v1/files/{file_id}"), FileDetail)

    async def list_tags(self, *, limit: int | None = None, marker: str | None = None) -> TagPage:
        """One page of tags by name after `marker`, with the caller's live files per tag."""
        params = _params(limit=limit, marker=marker)
        return await self._call("GET", self._catalog("/v1/tags"), TagPage, params=params)

    async def iter_tags(self, *, limit: int | None = None) -> AsyncIterator[TagView]:
        """Every tag, following `next_marker` (`limit` is the page size)."""
        marker: str | None = None
        while True:
            page = await self.list_tags(limit=limit, marker=marker)
            for item in page.items:
                yield item
            if page.next_marker is None:
                return
            marker = page.next_marker

    async def list_uploads(
        self, *, status: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> UploadPage:
        params = _params(status=status, limit=limit, cursor=cursor)
        return await self._call("GET", self._catalog("/v1/uploads"), UploadPage, params=params)

    async def watch(self, *, reconnect: bool = True) -> AsyncGenerator[FileChange | Overflow, None]:
        """Live changes of the caller's files (`GET /v1/events`).

        A dropped stream is reopened with backoff when `reconnect`; changes made while it
        was down are lost, so an `Overflow` follows every reconnection, like the server's
        own overflow: re-read the list to resynchronize. Refusals (401...) raise.
        """
        timeout = httpx.Timeout(DEFAULT_TIMEOUT.connect, read=WATCH_READ_TIMEOUT)
        failures, streamed = 0, False
        while True:
            try:
                async with self.http.stream(
                    "GET", self._catalog("/v1/events"), headers=await self._auth(), timeout=timeout
                ) as response:
                    if response.is_error:
                        await response.aread()
                        if not (reconnect and response.status_code in TRANSIENT_STATUS):
                            raise api_error(response)
                        raise _Unavailable
                    if streamed:
                        yield Overflow()
                    failures, streamed = 0, True
                    async for item in _changes(response.aiter_lines()):
                        yield item
            except httpx.TransportError as error:
                if not reconnect:
                    raise MediaplaneError("connection_failed", 0, str(error)) from error
            except _Unavailable:
                pass  # the catalog is restarting or overloaded: try again
            else:
                if not reconnect:
                    return
            failures += 1
            await asyncio.sleep(self.retry.delay(min(failures, 5)))


async def _changes(lines: AsyncIterable[str]) -> AsyncIterator[FileChange | Overflow]:
    async for event in parse_events(lines):
        if event.event == "file.changed":
            yield msgspec.json.decode(event.data, type=FileChange)
        elif event.event == "overflow":
            yield Overflow()
