"""The verifier: makes the immutable original of every upload and records a verdict on it.

Consumes `file.uploaded.v2` (v1 upcast). Clients write only the staging
object (`object_key`), and may keep writing it while their presigned URLs
live. So the verifier first copies it server-side to `original_key` (a key
no client can write), then streams THAT copy once (never whole in memory):
each chunk is hashed (SHA-256, size), its first bytes sniffed, and the same
chunk sent on to clamd (INSTREAM). Then it appends `file.verified.v1`
(naming the original) or `file.rejected.v1` (`malware` with the signature,
`scan_limit_exceeded`, ...). Then the staging object is deleted; a rejected
file loses its original too: nothing downstream may process bytes that
failed checks, malware included.

clamd giving no verdict (down, timed out, failing) records nothing: the
file stays `verifying`, and the delivery is deferred with a growing delay
until clamd answers. Nothing is ever verified unscanned.

Crash- and redelivery-safe, step by step:
- one delivery at a time per file (the service's verification lock);
- a file with a verdict is never copied or judged again: a redelivery only
  finishes the clean-up, so a verified original never changes;
- an original already there (an earlier attempt crashed after copying) is
  re-read and judged like a fresh copy: nothing is trusted unread.
"""

from __future__ import annotations

import hashlib
from contextlib import aclosing
from dataclasses import dataclass

import structlog

from mediaplane.bus import Bus, Defer, Delivery, PoisonEvent
from mediaplane.contracts import EventContext, FileUploadedV2, object_reference_problem
from mediaplane.storage import ObjectNotFound, ObjectStore
from mediaplane.upload_gateway.adapters.clamd import (
    ClamdScanner,
    Scan,
    ScanResult,
    ScanUnavailable,
)
from mediaplane.upload_gateway.app.service import UploadService
from mediaplane.upload_gateway.config import SERVICE
from mediaplane.upload_gateway.domain.file import Verdict
from mediaplane.upload_gateway.domain.policy import UploadLimits, is_allowed_type
from mediaplane.upload_gateway.worker.sniff import SNIFF_BYTES, kind_of, sniff

VERIFIER_DURABLE = "upload-gateway-verifier"
# While clamd gives no verdict, a delivery is deferred 1, 2, 4 ... 60 s, for about a day
# in all; then it is dead-lettered (the file still `verifying`) for an operator's redrive.
SCAN_RETRY_FIRST = 1.0
SCAN_RETRY_MAX = 60.0
SCAN_DEFERRALS = 1500
_log = structlog.get_logger(__name__)

_MISSING = ("missing_object", "the object is not in storage")


@dataclass(frozen=True, kw_only=True)
class Measured:
    """What one end-to-end read of an object found."""

    sha256: str
    size: int
    head: bytes
    scan: ScanResult


async def measure(objects: ObjectStore, bucket: str, key: str, scan: Scan) -> Measured:
    """Stream the object once into SHA-256, size, the first bytes (for sniffing) and clamd.

    When clamd refuses more (its stream limit) the read stops there: the
    verdict is a rejection, and the hash of a part is never used.
    """
    digest = hashlib.sha256()
    size = 0
    head = bytearray()
    async with aclosing(objects.iter_object(bucket, key)) as chunks:
        async for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            await scan.feed(chunk)
            if scan.ended:
                break
    return Measured(
        sha256=digest.hexdigest(), size=size, head=bytes(head), scan=await scan.finish()
    )


def judge(uploaded: FileUploadedV2, measured: Measured, limits: UploadLimits) -> Verdict:
    """The verdict on measured bytes against what the client declared (pure).

    clamd's findings come first: whatever else is wrong with it, malware is named.
    """
    sniffed = sniff(measured.head)
    media_type = sniffed.media_type
    rejection: tuple[str, str] | None = None
    if measured.scan.outcome == "found":
        rejection = ("malware", f"clamd found {measured.scan.detail}")
    elif measured.scan.outcome == "limit":
        rejection = ("scan_limit_exceeded", measured.scan.detail)
    elif measured.size == 0:
        rejection = ("empty", "the object has no bytes")
    elif measured.size != uploaded.size:
        rejection = ("size_mismatch", f"declared {uploaded.size} bytes, stored {measured.size}")
    elif uploaded.sha256 is not None and uploaded.sha256 != measured.sha256:
        rejection = (
            "checksum_mismatch",
            f"declared SHA-256 {uploaded.sha256}, stored bytes {measured.sha256}",
        )
    elif sniffed.refusal is not None:
        rejection = ("playlist_not_allowed", sniffed.refusal)
    elif not is_allowed_type(media_type, limits):
        rejection = (
            "type_not_allowed",
            f"the bytes are {media_type} (declared {uploaded.content_type}), not accepted",
        )
    return Verdict(
        sha256=measured.sha256,
        size=measured.size,
        media_type=media_type,
        kind=kind_of(media_type),
        rejection=rejection,
    )


def _missing() -> Verdict:
    return Verdict(
        sha256=hashlib.sha256().hexdigest(),
        size=0,
        media_type="",
        kind="other",
        rejection=_MISSING,
    )


async def make_original(objects: ObjectStore, uploaded: FileUploadedV2) -> bool:
    """Copy staging -> original server-side unless an earlier attempt did; False when
    neither exists. An existing original is not trusted: the caller reads and judges it."""
    bucket, original = uploaded.bucket, uploaded.original_key
    if original == uploaded.object_key:  # a v1 upload: judged in place
        return True
    try:
        await objects.stat(bucket, original)
        return True
    except ObjectNotFound:
        pass
    try:
        await objects.copy(bucket, uploaded.object_key, bucket, original)
    except ObjectNotFound:
        return False
    return True


async def inspect(
    objects: ObjectStore, scanner: ClamdScanner, uploaded: FileUploadedV2, limits: UploadLimits
) -> Verdict:
    """Make the original (if needed), read it once (hashed and scanned) and judge it.

    Raises ScanUnavailable when clamd gives no verdict.
    """
    if not await make_original(objects, uploaded):
        return _missing()
    try:
        async with scanner.scan() as scan:
            measured = await measure(objects, uploaded.bucket, uploaded.original_key, scan)
    except ObjectNotFound:
        return _missing()
    return judge(uploaded, measured, limits)


async def clean_up(objects: ObjectStore, uploaded: FileUploadedV2, *, rejected: bool) -> None:
    """Drop the staging object; a rejected (or deleted) file's original goes too. Idempotent."""
    if uploaded.object_key != uploaded.original_key:
        await objects.delete(uploaded.bucket, uploaded.object_key)
    if rejected:
        await objects.delete(uploaded.bucket, uploaded.original_key)


async def verify(
    service: UploadService,
    objects: ObjectStore,
    scanner: ClamdScanner,
    event: FileUploadedV2,
    delivery_count: int = 1,
) -> Verdict | None:
    """Handle one delivery; the verdict judged now, or None when an earlier one stands.

    Raises ScanUnavailable (nothing recorded) when clamd gives no verdict.
    """
    verdict: Verdict | None = None
    async with service.verifying(event.file_id):
        status = await service.file_status(event.file_id)
        if status == "uploaded":
            verdict = await inspect(objects, scanner, event, service.limits)
            context = EventContext(producer=SERVICE, correlation_id=event.correlation_id).caused_by(
                event
            )
            if await service.record_verdict(event.file_id, verdict, context):
                status = "rejected" if verdict.rejection is not None else "verified"
            else:  # deleted while being judged: no verdict, and no original to keep
                verdict, status = None, await service.file_status(event.file_id)
    # Outside the lock: a crash here is finished by the redelivery (status known).
    # A deleted file's original goes too: the janitor may have purged before the copy.
    await clean_up(objects, event, rejected=status in ("rejected", "deleted"))
    _log.info(
        "file.verdict",
        file_id=str(event.file_id),
        status=status,
        judged_now=verdict is not None,
        rejection=verdict.rejection[0] if verdict and verdict.rejection else None,
        rejection_detail=verdict.rejection[1] if verdict and verdict.rejection else None,
        delivery=delivery_count,
    )
    return verdict


def scan_retry_delay(delivery_count: int) -> float:
    """Seconds before the next try when clamd gave no verdict on delivery `delivery_count`."""
    return min(SCAN_RETRY_MAX, SCAN_RETRY_FIRST * 2.0 ** min(delivery_count - 1, 16))


def register_verifier(
    bus: Bus, service: UploadService, objects: ObjectStore, scanner: ClamdScanner
) -> None:
    @bus.consumer(
        VERIFIER_DURABLE,
        events=[FileUploadedV2],
        max_deliver=5,
        backoff=[1, 5, 30, 60],
        ack_wait=120,
        max_deferrals=SCAN_DEFERRALS,
    )
    async def on_uploaded(event: FileUploadedV2, delivery: Delivery) -> None:
        # The verifier copies and deletes what the event names: never another owner's.
        if problem := object_reference_problem(event, {service.settings.bucket}):
            raise PoisonEvent(problem)
        try:
            await verify(service, objects, scanner, event, delivery.delivery_count)
        except ScanUnavailable as exc:
            # Never a verdict without a scan: the file stays `verifying` until clamd answers.
            delay = scan_retry_delay(delivery.delivery_count)
            _log.warning(
                "file.scan_unavailable",
                file_id=str(event.file_id),
                retry_in=delay,
                delivery=delivery.delivery_count,
                error=str(exc),
            )
            raise Defer(delay, f"clamd unavailable: {exc}") from exc
