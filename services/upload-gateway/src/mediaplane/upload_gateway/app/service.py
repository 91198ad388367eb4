"""The gateway's command handlers: load, decide, append (+ inline projections) in one transaction.

S3 calls happen outside transactions and are ordered so that a crash at any
point leaves something the next attempt (or the janitor) can finish: the S3
multipart upload is created before the session is opened, completed before
`upload.session.completed` is appended, and aborted before the abort is recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog

from mediaplane.contracts import (
    Event,
    EventContext,
    UploadSessionOpened,
    utc_now,
)
from mediaplane.domain import CommandContext, Decider, DomainError
from mediaplane.eventlog import (
    AppendGuard,
    ConcurrencyError,
    EventStore,
    Handled,
    InlineProjection,
    Pool,
    current_state,
    handle,
)
from mediaplane.storage import CompletedPart, ObjectNotFound, ObjectStore, UploadNotFound
from mediaplane.upload_gateway.adapters import accounts, projections
from mediaplane.upload_gateway.app.views import (
    CompletionView,
    FileTagsView,
    ModerationView,
    PartUrl,
    PresignedUrl,
    ReportView,
    SessionView,
    StoredPartView,
    TagResult,
)
from mediaplane.upload_gateway.config import GatewaySettings
from mediaplane.upload_gateway.domain import file as files
from mediaplane.upload_gateway.domain import moderation
from mediaplane.upload_gateway.domain import session as sessions
from mediaplane.upload_gateway.domain import tag as tags
from mediaplane.upload_gateway.domain.errors import PartsMissing, QuotaExceeded, SessionNotOpen
from mediaplane.upload_gateway.domain.policy import (
    check_content_type,
    check_quota,
    normalize_tags,
    plan_upload,
    sanitize_filename,
)

C = TypeVar("C")
S = TypeVar("S")
_log = structlog.get_logger(__name__)
_RETRIES = 4  # five attempts in all, then 409


class ConcurrentModification(DomainError):
    code = "concurrent_modification"


@dataclass(frozen=True, kw_only=True)
class OpenRequest:
    filename: str
    size: int
    content_type: str
    sha256: str | None = None
    tags: Sequence[str] = ()
    keep_location: bool = False


@dataclass(frozen=True, kw_only=True)
class PartRequest:
    number: int
    sha256: str | None = None


def _raw_sha256(hex_digest: str | None) -> bytes | None:
    return bytes.fromhex(hex_digest) if hex_digest else None


class UploadService:
    def __init__(
        self,
        *,
        pool: Pool,
        store: EventStore,
        objects: ObjectStore,
        settings: GatewaySettings,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.pool = pool
        self.store = store
        self.objects = objects
        self.settings = settings
        self.limits = settings.limits
        self.clock = clock
        self.sessions = sessions.session_decider(self.limits)
        self.files = files.file_decider(self.limits)
        self.plan_table = projections.plan_table(settings.plans)

    # -- plumbing ------------------------------------------------------------------------------

    def _context(self, cause: EventContext) -> CommandContext:
        """One command, one time: every event it appends occurred at this `now`."""
        return CommandContext(now=self.clock(), cause=cause)

    async def _handle(
        self,
        stream_id: str,
        decider: Decider[C, S],
        command: C,
        *,
        inline: InlineProjection | None = None,
        history: Sequence[str] = (),
    ) -> Handled[S]:
        try:
            return await handle(
                self.store,
                stream_id,
                decider,
                command,
                retries=_RETRIES,
                inline=inline,
                history=history,
            )
        except ConcurrencyError as error:
            _log.info("append.conflict", stream_id=error.stream_id, attempts=_RETRIES + 1)
            raise ConcurrentModification("the upload changed concurrently too often") from None

    async def _session(self, session_id: uuid.UUID) -> sessions.UploadSession:
        state, _ = await current_state(
            self.store, sessions.session_stream(session_id), self.sessions
        )
        return state

    def _url_expiry(self, expires_at: datetime) -> tuple[timedelta, datetime]:
        """Presigned URLs live the configured time, never beyond the session."""
        now = self.clock()
        ttl = min(timedelta(seconds=self.settings.presign_ttl_seconds), expires_at - now)
        ttl = max(ttl, timedelta(seconds=1))
        return ttl, now + ttl

    def _view(self, state: sessions.UploadSession, *, with_upload: bool = False) -> SessionView:
        opened = state.opened
        assert opened is not None  # callers checked ownership
        status = sessions.status_at(state, self.clock())
        upload = None
        if with_upload and opened.mode == "single" and status == "open":
            ttl, until = self._url_expiry(opened.expires_at)
            # The declared size is signed in: S3 refuses a body of any other length,
            # so a replay of this URL cannot put more bytes in staging either.
            signed = self.objects.presign_put(
                opened.bucket,
                opened.object_key,
                expires=ttl,
                sha256=_raw_sha256(opened.sha256),
                content_type=opened.content_type,
                content_length=opened.size,
            )
            upload = PresignedUrl(
                method=signed.method, url=signed.url, headers=dict(signed.headers), expires_at=until
            )
        return SessionView(
            session_id=opened.session_id,
            file_id=opened.file_id,
            status=status,
            mode=opened.mode,
            filename=opened.filename,
            content_type=opened.content_type,
            size=opened.size,
            sha256=opened.sha256,
            part_size=opened.part_size,
            part_count=opened.part_count,
            expires_at=opened.expires_at,
            tags=list(opened.tags),
            keep_location=opened.keep_location,
            upload=upload,
        )

    # -- upload sessions ---------------------------------------------------------------------

    async def open(
        self,
        owner: str,
        request: OpenRequest,
        context: EventContext,
        *,
        claimed_plan: str | None = None,
    ) -> SessionView:
        """Open a session within the owner's quota: an admin's override for the owner, else
        that of their plan in the accounts projection, else of `claimed_plan` (the
        token's), else of the default plan."""
        # Cheap validation first, so a bad request never creates an S3 upload.
        sanitize_filename(request.filename)
        content_type = check_content_type(request.content_type, self.limits)
        plan = plan_upload(request.size, self.limits)
        normalize_tags(list(request.tags), self.limits)

        command_context = self._context(context)
        session_id, file_id = command_context.new_id(), command_context.new_id()
        key = sessions.staging_key(owner, file_id)
        upload_id = None
        if plan.mode == "multipart":
            upload_id = await self.objects.create_multipart_upload(
                self.settings.bucket, key, content_type=content_type
            )

        try:
            command = sessions.OpenUpload(
                session_id=session_id,
                file_id=file_id,
                owner=owner,
                filename=request.filename,
                size=request.size,
                content_type=request.content_type,
                sha256=request.sha256,
                tags=list(request.tags),
                keep_location=request.keep_location,
                bucket=self.settings.bucket,
                upload_id=upload_id,
                context=command_context,
            )
            # A fresh session id: its stream is known to be empty, no need to load it.
            # One statement: the owner's plan, quota admission under the owner's lock,
            # the event with its outbox row, the projection row.
            handled = await handle(
                self.store,
                sessions.session_stream(session_id),
                self.sessions,
                command,
                new_stream=True,
                guard=lambda events: self._open_guard(events, claimed_plan),
            )
            if not handled.admitted:
                # The guard applies plan_of's and check_quota's rules in SQL; check_quota
                # says what is exceeded.
                refused = projections.refused_open(handled.guard_result)
                plans = self.settings.plans
                quota = plans.effective(
                    plans.plan_of(refused.plan, claimed_plan),
                    files=refused.quota_files,
                    bytes=refused.quota_bytes,
                )
                check_quota(refused.usage, request.size, quota)
                raise QuotaExceeded("the quota is exceeded")
        except BaseException:
            if upload_id is not None:
                await self.objects.abort_multipart_upload(self.settings.bucket, key, upload_id)
            raise
        _log.info("upload.opened", session_id=str(session_id), mode=plan.mode, size=request.size)
        return self._view(handled.state, with_upload=True)

    def _open_guard(self, events: Sequence[Event], claimed_plan: str | None) -> AppendGuard:
        (opened,) = events
        assert isinstance(opened, UploadSessionOpened)
        return projections.open_session_guard(opened, self.plan_table, claimed_plan)

    async def get(self, owner: str, session_id: uuid.UUID) -> SessionView:
        state = await self._session(session_id)
        sessions.require_owner(state, owner)
        return self._view(state, with_upload=True)

    async def sign_parts(
        self, owner: str, session_id: uuid.UUID, parts: Sequence[PartRequest]
    ) -> list[PartUrl]:
        state = await self._session(session_id)
        opened = sessions.require_open(state, owner, self.clock())
        sessions.check_part_numbers(opened, [p.number for p in parts])
        assert opened.upload_id is not None  # multipart sessions always have one
        ttl, until = self._url_expiry(opened.expires_at)
        urls = []
        for part in parts:
            signed = self.objects.presign_upload_part(
                opened.bucket,
                opened.object_key,
                opened.upload_id,
                part.number,
                expires=ttl,
                sha256=_raw_sha256(part.sha256),
            )
            urls.append(
                PartUrl(
                    number=part.number,
                    method=signed.method,
                    url=signed.url,
                    headers=dict(signed.headers),
                    expires_at=until,
                )
            )
        return urls

    async def stored_parts(self, owner: str, session_id: uuid.UUID) -> list[StoredPartView]:
        """What S3 holds for the session, so a client can resume after a crash."""
        state = await self._session(session_id)
        opened = sessions.require_owner(state, owner)
        if opened.mode == "single":
            try:
                info = await self.objects.stat(opened.bucket, opened.object_key)
            except ObjectNotFound:
                return []
            return [StoredPartView(number=1, etag=info.etag, size=info.size)]
        if state.status != "open" or opened.upload_id is None:
            return []
        try:
            parts = await self.objects.list_parts(
                opened.bucket, opened.object_key, opened.upload_id
            )
        except UploadNotFound:
            return []
        return [StoredPartView(number=p.number, etag=p.etag, size=p.size) for p in parts]

    async def complete(
        self,
        owner: str,
        session_id: uuid.UUID,
        parts: Sequence[tuple[int, str]],
        context: EventContext,
    ) -> CompletionView:
        state = await self._session(session_id)
        if state.status == "completed" and state.owner == owner and state.completed:
            return self._completion(state)
        opened = sessions.require_open(state, owner, self.clock())
        if opened.mode == "multipart":
            await self._complete_multipart(opened, parts)
        try:
            info = await self.objects.stat(opened.bucket, opened.object_key)
        except ObjectNotFound:
            raise PartsMissing("the object is not uploaded yet") from None

        command = sessions.CompleteUpload(
            owner=owner, stored_size=info.size, etag=info.etag, context=self._context(context)
        )
        handled = await self._handle(
            sessions.session_stream(session_id), self.sessions, command, inline=projections.apply
        )
        _log.info("upload.completed", session_id=str(session_id), size=info.size)
        return self._completion(handled.state)

    async def _complete_multipart(self, opened: Any, parts: Sequence[tuple[int, str]]) -> None:
        try:
            stored = await self.objects.list_parts(
                opened.bucket, opened.object_key, opened.upload_id
            )
        except UploadNotFound:
            # Completed in S3 by an earlier attempt (or a racing request) that
            # did not record it yet: the object tells whether it is there.
            return
        sessions.check_completion_parts(
            opened,
            list(parts),
            [sessions.StoredPart(number=p.number, etag=p.etag, size=p.size or 0) for p in stored],
        )
        try:
            await self.objects.complete_multipart_upload(
                opened.bucket,
                opened.object_key,
                opened.upload_id,
                [CompletedPart(number=n, etag=etag) for n, etag in sorted(parts)],
            )
        except UploadNotFound:
            return

    def _completion(self, state: sessions.UploadSession) -> CompletionView:
        assert state.opened is not None
        assert state.completed is not None
        return CompletionView(
            session_id=state.opened.session_id,
            file_id=state.opened.file_id,
            status=state.status,
            size=state.completed.size,
            etag=state.completed.etag,
        )

    async def abort(self, owner: str, session_id: uuid.UUID, context: EventContext) -> SessionView:
        state = await self._session(session_id)
        opened = sessions.require_owner(state, owner)
        if state.status == "completed":
            raise SessionNotOpen("the session is completed; delete the file instead")
        if state.status == "open":
            if opened.upload_id is not None:
                await self.objects.abort_multipart_upload(
                    opened.bucket, opened.object_key, opened.upload_id
                )
            else:
                await self.objects.delete(opened.bucket, opened.object_key)

        command = sessions.AbortUpload(owner=owner, reason="client", context=self._context(context))
        handled = await self._handle(
            sessions.session_stream(session_id), self.sessions, command, inline=projections.apply
        )
        return self._view(handled.state)

    # -- tags and files ----------------------------------------------------------------------

    async def create_tags(
        self, owner: str, names: Sequence[str], context: EventContext
    ) -> list[TagResult]:
        results = []
        for name in normalize_tags(list(names), self.limits) if names else []:
            created = await self._create_tag(owner, name, context)
            results.append(TagResult(name=name, created=created))
        return results

    async def _create_tag(self, owner: str, name: str, context: EventContext) -> bool:
        """True when the owner had no such tag (others' tags of the name do not count)."""
        handled = await self._handle(
            tags.tag_stream(owner, name),
            tags.tag_decider(owner),
            tags.CreateTag(name=name, context=self._context(context)),
            history=[tags.legacy_tag_stream(name)],
        )
        return bool(handled.events)

    async def set_file_tags(
        self, owner: str, file_id: uuid.UUID, wanted: Sequence[str], context: EventContext
    ) -> FileTagsView:
        command = files.SetTags(owner=owner, tags=list(wanted), context=self._context(context))
        handled = await self._handle(sessions.file_stream(file_id), self.files, command)
        # Tags named on a file exist as tags too (idempotent).
        for name in sorted(handled.state.tags):
            await self._create_tag(owner, name, context)
        return FileTagsView(file_id=file_id, tags=sorted(handled.state.tags))

    async def delete_file(
        self, owner: str, file_id: uuid.UUID, *, admin: bool, context: EventContext
    ) -> None:
        command = files.DeleteFile(owner=owner, admin=admin, context=self._context(context))
        await self._handle(
            sessions.file_stream(file_id), self.files, command, inline=projections.apply
        )

    async def delete_files_of(self, owner: str, context: EventContext) -> int:
        """Delete every live file of a deleted account (the janitor then purges the objects,
        as after any deletion); returns how many. Deleting twice changes nothing."""
        file_ids = await accounts.live_files(self.pool, owner)
        for file_id in file_ids:
            await self.delete_file(owner, file_id, admin=False, context=context)
        return len(file_ids)

    # -- moderation (issue 16) ---------------------------------------------------------------

    async def report_file(
        self, reporter: str, file_id: uuid.UUID, reason: str, context: EventContext
    ) -> ReportView:
        """Report a file; its open reports go to the moderators' queue (the catalog's)."""
        report_id = uuid.uuid4()
        command = moderation.ReportFile(
            reporter=reporter, report_id=report_id, reason=reason, context=self._context(context)
        )
        await self._handle(sessions.file_stream(file_id), self.files, command)
        return ReportView(report_id=report_id, file_id=file_id)

    async def moderate(
        self, file_id: uuid.UUID, command: moderation.ModerationCommand
    ) -> ModerationView:
        handled = await self._handle(sessions.file_stream(file_id), self.files, command)
        state = handled.state
        return ModerationView(
            file_id=file_id,
            taken_down=state.taken_down is not None,
            reason=state.taken_down,
            open_reports=len(state.open_reports),
        )

    async def request_reprocess(
        self, admin: str, file_id: uuid.UUID, target: str, context: EventContext
    ) -> None:
        command = files.RequestReprocess(admin=admin, target=target, context=self._context(context))
        await self._handle(sessions.file_stream(file_id), self.files, command)

    def command_context(self, context: EventContext) -> CommandContext:
        return self._context(context)

    async def file_status(self, file_id: uuid.UUID) -> files.FileStatus:
        state, _ = await current_state(self.store, sessions.file_stream(file_id), self.files)
        return state.status

    @asynccontextmanager
    async def verifying(self, file_id: uuid.UUID) -> AsyncIterator[None]:
        """Hold the file's verification lock: one verifier at a time copies and judges it.

        Without it a redelivery racing a slow first delivery could copy the
        staging object over an original the first one has verified already.
        A transaction-scoped advisory lock on a connection of its own: it ends
        with the block, or with the connection if the process dies.
        """
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"verify-{file_id}",)
            )
            yield

    async def record_verdict(
        self, file_id: uuid.UUID, verdict: files.Verdict, context: EventContext
    ) -> list[Event]:
        """The verifier's decision about a file (appended once, whatever the redeliveries)."""
        command = files.RecordVerdict(verdict=verdict, context=self._context(context))
        handled = await self._handle(
            sessions.file_stream(file_id), self.files, command, inline=projections.apply
        )
        return handled.events
