"""On-demand variants: the read check, the cache, and making a variant once.

A request names a file and a spec. The file must be one the caller may read
(its owner, or a moderator or admin) and `ready` in this service's own
projection of the file events (`variant_sources`); otherwise it is refused as
the catalog refuses reads. A file a moderator took down (`file.taken_down`,
until `file.restored`) is refused with 451 `file_taken_down` to all but
moderators and admins. A variant is keyed by the source's SHA-256 and the normalized
spec: made once (the first request pays: download, render, upload, then the
`variant.*` event and its row in one transaction), then answered from the
row with a presigned URL. A failure of the source is recorded too
(`variant.failed.v1`) and answered from the row with its code from then on.

Making a variant costs CPU, so new ones are rate-limited per owner on top of
the API's request limit; answers from the record are not.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog

from mediaplane.contracts import EventContext, FileReprocessRequestedV2, utc_now
from mediaplane.domain import CommandContext, DomainError
from mediaplane.eventlog import EventStore, Pool, handle
from mediaplane.servicekit.access import has_role
from mediaplane.servicekit.auth import Principal
from mediaplane.servicekit.errors import ProblemError
from mediaplane.servicekit.rate_limit import OwnerRateLimiter, RateLimited
from mediaplane.storage import ObjectStore
from mediaplane.thumbnailer.adapters import variant_store
from mediaplane.thumbnailer.adapters.cpu import CpuPool
from mediaplane.thumbnailer.adapters.variant_store import VariantRecord, Verified
from mediaplane.thumbnailer.adapters.variants import render_variant
from mediaplane.thumbnailer.adapters.video import Ffmpeg
from mediaplane.thumbnailer.adapters.watermark import Watermark
from mediaplane.thumbnailer.app.download import download_verified
from mediaplane.thumbnailer.app.metrics import VARIANTS
from mediaplane.thumbnailer.config import SERVICE, ThumbnailerSettings
from mediaplane.thumbnailer.domain.errors import CorruptInput, MediaError
from mediaplane.thumbnailer.domain.policy import (
    check_file_size,
    check_pixels,
    poster_positions,
    still_image_type,
)
from mediaplane.thumbnailer.domain.variant import (
    VARIANT_DECIDER,
    VARIANT_KINDS,
    DropVariant,
    Made,
    RecordVariant,
    RecordVariantFailure,
    VariantCommand,
    variant_key,
    variant_stream,
)
from mediaplane.thumbnailer.domain.variant_geometry import geometry
from mediaplane.thumbnailer.domain.variant_spec import VariantSpec

# What browsers and CDNs may do with a variant's bytes: they never change under a URL.
IMMUTABLE = "public, max-age=31536000, immutable"
_log = structlog.get_logger(__name__)


class FileNotFound(DomainError):
    """No such file for this caller: another owner's file is not found either."""

    code = "file_not_found"


class FileTakenDown(DomainError):
    """A moderator took the file down: only moderators and admins get its variants."""

    code = "file_taken_down"


class FileNotReady(DomainError):
    """The caller's file has no verified bytes to serve (uploading, rejected, deleted)."""

    code = "file_not_ready"


class UnsupportedSource(DomainError):
    code = "variant_unsupported_source"


class VariantUnavailable(DomainError):
    """A recorded failure of this variant, answered with the code it was recorded with."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class VariantRateLimited(RateLimited):
    code = "variant_rate_limited"
    title = "Too many new variants"


class VariantTimeout(ProblemError):
    code = "variant_timeout"
    status = 503
    title = "The variant took too long to make"


@dataclass(frozen=True, kw_only=True)
class VariantLink:
    url: str
    spec: str
    width: int
    height: int
    format: str
    size: int
    expires_at: datetime
    generated: bool  # made by this request (False: from the record)


class VariantService:
    def __init__(
        self,
        *,
        pool: Pool,
        store: EventStore,
        objects: ObjectStore,
        cpu: CpuPool,
        ffmpeg: Ffmpeg,
        settings: ThumbnailerSettings,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.pool = pool
        self.store = store
        self.objects = objects
        self.cpu = cpu
        self.ffmpeg = ffmpeg
        self.settings = settings
        self.clock = clock
        self.watermark = Watermark(settings.variants.watermark)
        # New variants per owner, over every API replica: buckets in this database.
        self.limiter = OwnerRateLimiter(settings.variants.rate, purpose="new-variants")
        self.limiter.use(pool)

    async def variant(
        self, principal: Principal, file_id: uuid.UUID, spec: VariantSpec, *, cause: EventContext
    ) -> VariantLink:
        """A URL of the variant `spec` of `file_id` for `principal`, made now if it is new."""
        tag = self.watermark.tag if spec.watermark else ""
        source, record = await variant_store.lookup(
            self.pool,
            file_id,
            video=spec.for_kind("video").normalized(tag),
            still=spec.for_kind("image").normalized(tag),
        )
        moderator = has_role(principal, "moderator")
        if source is None or not (moderator or source.owner == principal.owner):
            raise FileNotFound(f"no file {file_id}")
        if source.takedown_reason is not None and not moderator:
            raise FileTakenDown(f"taken down by a moderator: {source.takedown_reason}")
        ready = variant_store.verified(source)
        if ready is None:
            raise FileNotReady(f"file {file_id} is {source.status}, not ready")
        if ready.kind not in VARIANT_KINDS:
            raise UnsupportedSource(
                f"variants are made of images and video frames, not of {ready.kind} files"
            )
        spec = spec.for_kind(ready.kind)
        name = spec.normalized(tag)
        generated = record is None
        if record is None:
            try:
                await self.limiter.check(principal.owner)
            except RateLimited as limited:
                rate = self.settings.variants.rate
                raise VariantRateLimited(
                    f"at most {rate.per_second:g} new variants/s per owner (burst {rate.burst})",
                    retry_after=limited.retry_after,
                ) from None
            record = await self._generate(ready, spec, name, cause)
        VARIANTS.labels("generated" if generated else "cached", record.status).inc()
        stored = variant_store.made(record)
        if stored is None:
            raise VariantUnavailable(record.failure_code or "internal", record.failure_detail or "")
        return self._link(record.spec, stored, generated)

    async def drop(self, request: FileReprocessRequestedV2) -> int:
        """An admin's re-run of the file's variants: every variant of its bytes (shared with
        any file of the same bytes) loses its object, then its record (`variant.dropped.v1`
        and the row's deletion, in one transaction), so its next request makes it again.

        Object first: a request racing the drop may once get a link to a missing object,
        but a variant made again by a racing request is never deleted after it was recorded.
        Idempotent: a redelivery finds nothing left to drop. Returns how many were dropped."""
        cause = EventContext(producer=SERVICE, correlation_id=request.correlation_id).caused_by(
            request
        )
        dropped = 0
        for record in await variant_store.variants_of(self.pool, request.sha256):
            stored = variant_store.made(record)
            if stored is not None:
                await self.objects.delete(stored.bucket, stored.key)
            handled = await handle(
                self.store,
                variant_stream(record.sha256, record.spec),
                VARIANT_DECIDER,
                DropVariant(
                    file_id=request.file_id,
                    sha256=record.sha256,
                    spec=record.spec,
                    made=stored,
                    requested_by=request.requested_by,
                    context=CommandContext(now=self.clock(), cause=cause),
                ),
                inline=variant_store.variant_projection(),
            )
            dropped += len(handled.events)
        _log.info("variants.dropped", file_id=str(request.file_id), dropped=dropped)
        return dropped

    def _link(self, spec: str, stored: Made, generated: bool) -> VariantLink:
        # Signed as of the start of the UTC day: every request that day gets the same URL.
        now = datetime.now(UTC)
        signed_at = now.replace(hour=0, minute=0, second=0, microsecond=0)
        lifetime = timedelta(days=self.settings.variants.url_days)
        url = self.objects.presign_get(
            stored.bucket,
            stored.key,
            expires=lifetime,
            filename=stored.key.rsplit("/", 1)[-1],
            content_type=f"image/{stored.format}",
            inline=True,
            cache_control=IMMUTABLE,
            signed_at=signed_at,
        ).url
        return VariantLink(
            url=url,
            spec=spec,
            width=stored.width,
            height=stored.height,
            format=stored.format,
            size=stored.size,
            expires_at=signed_at + lifetime,
            generated=generated,
        )

    async def _generate(
        self, source: Verified, spec: VariantSpec, name: str, cause: EventContext
    ) -> VariantRecord:
        context = CommandContext(now=self.clock(), cause=cause)
        log = _log.bind(file_id=str(source.file_id), spec=name)
        started = time.monotonic()
        command: VariantCommand
        try:
            made = await self._make(source, spec, name)
            command = RecordVariant(
                file_id=source.file_id, sha256=source.sha256, spec=name, made=made, context=context
            )
        except MediaError as error:
            log.warning("variant.failed", code=error.code, detail=error.detail)
            command = RecordVariantFailure(
                file_id=source.file_id,
                sha256=source.sha256,
                spec=name,
                error=error,
                context=context,
            )
        except TimeoutError:
            raise VariantTimeout(
                f"not made within {self.settings.limits.job_timeout:g} s; try again later",
                retry_after=5,
            ) from None
        await handle(
            self.store,
            variant_stream(source.sha256, name),
            VARIANT_DECIDER,
            command,
            inline=variant_store.variant_projection(),
        )
        log.info("variant.recorded", seconds=round(time.monotonic() - started, 3))
        # The row as recorded: a racing request may have recorded it first.
        record = await variant_store.variant(self.pool, source.sha256, name)
        assert record is not None
        return record

    async def _make(self, source: Verified, spec: VariantSpec, name: str) -> Made:
        limits = self.settings.limits
        check_file_size(source.size, limits)  # before downloading a byte
        with tempfile.TemporaryDirectory(prefix="variant-", dir=self.settings.work_dir) as tmp:
            work_dir = Path(tmp)
            async with asyncio.timeout(limits.job_timeout):
                path = work_dir / "source"
                await download_verified(
                    self.objects,
                    bucket=source.bucket,
                    key=source.object_key,
                    sha256=source.sha256,
                    limit=limits.max_file_size,
                    path=path,
                )
                picture, media_type = path, source.media_type
                if source.kind == "video":
                    # A HEIC/AVIF photo may arrive labelled video/mp4: it is the photo.
                    still = still_image_type(await asyncio.to_thread(_head, path))
                    if still is not None:
                        media_type = still
                    else:
                        picture = await self._frame(path, media_type, spec, work_dir)
                        media_type = "image/png"
                encoded = await self.cpu.run(
                    render_variant,
                    picture,
                    media_type=media_type,
                    spec=spec,
                    limits=limits,
                    watermark=self.watermark if spec.watermark else None,
                    settings=self.settings.variants,
                )
        bucket = self.settings.variants.bucket
        key = variant_key(source.sha256, name)
        await self.objects.put_bytes(bucket, key, encoded.data, content_type=spec.content_type)
        return Made(
            bucket=bucket,
            key=key,
            width=encoded.width,
            height=encoded.height,
            format=spec.format,
            size=len(encoded.data),
        )

    async def _frame(self, path: Path, media_type: str, spec: VariantSpec, work_dir: Path) -> Path:
        """The poster frame (PNG) at the spec's time, or the automatic poster's."""
        info = await self.ffmpeg.probe(path, media_type)
        check_pixels(info.width, info.height, self.settings.limits)
        plan = geometry(spec, info.display_width, info.display_height)
        position = spec.seconds if spec.seconds is not None else poster_positions(info.duration)[0]
        if info.duration is not None:
            position = min(position, max(0.0, info.duration - 0.1))  # past the end: the last
        frame = work_dir / "frame.png"
        found = await self.ffmpeg.frame(
            path, info, position, frame, max(plan.resize), representative=spec.seconds is None
        )
        if not found:
            raise CorruptInput(f"the video has no frame at {position:g} s")
        return frame


def _head(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(64)
