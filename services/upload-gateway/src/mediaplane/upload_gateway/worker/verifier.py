"""The verifier: reads every uploaded object end to end and records a verdict.

Consumes `file.uploaded.v1`, streams the object (never whole in memory),
computes SHA-256 and size, sniffs the type from the first bytes, then appends
`file.verified.v1` or `file.rejected.v1` to the file's stream. A rejected
object is deleted: nothing downstream may process bytes that failed checks.
"""

from __future__ import annotations

import hashlib
from contextlib import aclosing

import structlog

from mediaplane.bus import Bus, Delivery
from mediaplane.contracts import EventContext, FileUploaded
from mediaplane.storage import ObjectNotFound, ObjectStore
from mediaplane.upload_gateway.app.service import UploadService
from mediaplane.upload_gateway.config import SERVICE
from mediaplane.upload_gateway.domain.file import Verdict
from mediaplane.upload_gateway.domain.policy import UploadLimits, is_allowed_type
from mediaplane.upload_gateway.worker.sniff import SNIFF_BYTES, kind_of, sniff

VERIFIER_DURABLE = "upload-gateway-verifier"
_log = structlog.get_logger(__name__)


async def inspect(objects: ObjectStore, uploaded: FileUploaded, limits: UploadLimits) -> Verdict:
    """Read the object once and judge it against what the client declared."""
    digest = hashlib.sha256()
    size = 0
    head = bytearray()
    try:
        async with aclosing(objects.iter_object(uploaded.bucket, uploaded.object_key)) as chunks:
            async for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
    except ObjectNotFound:
        return Verdict(
            sha256=digest.hexdigest(),
            size=0,
            media_type="",
            kind="other",
            rejection=("missing_object", "the object is not in storage"),
        )
    sha256 = digest.hexdigest()
    sniffed = sniff(bytes(head))
    media_type = sniffed.media_type
    verdict = Verdict(sha256=sha256, size=size, media_type=media_type, kind=kind_of(media_type))
    rejection: tuple[str, str] | None = None
    if size == 0:
        rejection = ("empty", "the object has no bytes")
    elif size != uploaded.size:
        rejection = ("size_mismatch", f"declared {uploaded.size} bytes, stored {size}")
    elif uploaded.sha256 is not None and uploaded.sha256 != sha256:
        rejection = (
            "checksum_mismatch",
            f"declared SHA-256 {uploaded.sha256}, stored bytes {sha256}",
        )
    elif sniffed.refusal is not None:
        rejection = ("playlist_not_allowed", sniffed.refusal)
    elif not is_allowed_type(media_type, limits):
        rejection = (
            "type_not_allowed",
            f"the bytes are {media_type} (declared {uploaded.content_type}), not accepted",
        )
    if rejection is None:
        return verdict
    return Verdict(
        sha256=sha256, size=size, media_type=media_type, kind=verdict.kind, rejection=rejection
    )


def register_verifier(bus: Bus, service: UploadService, objects: ObjectStore) -> None:
    @bus.consumer(
        VERIFIER_DURABLE, events=[FileUploaded], max_deliver=5, backoff=[1, 5, 30, 60], ack_wait=120
    )
    async def on_uploaded(event: FileUploaded, delivery: Delivery) -> None:
        verdict = await inspect(objects, event, service.limits)
        context = EventContext(producer=SERVICE, correlation_id=event.correlation_id).caused_by(
            event
        )
        recorded = await service.record_verdict(event.file_id, verdict, context)
        if verdict.rejection is not None:
            # Idempotent: a redelivery after a crash here deletes again.
            await objects.delete(event.bucket, event.object_key)
        _log.info(
            "file.verdict",
            file_id=str(event.file_id),
            recorded=bool(recorded),
            rejection=verdict.rejection[0] if verdict.rejection else None,
            delivery=delivery.delivery_count,
        )
