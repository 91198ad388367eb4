"""Every event version (docs/events.md) and the registry every service uses, with its upcasters."""

from __future__ import annotations

from mediaplane.contracts.dead_letters import DeadLetterDiscarded, DeadLetterRedriven
from mediaplane.contracts.envelope import Event
from mediaplane.contracts.files import (
    FileDeleted,
    FileRejected,
    FileReportDismissed,
    FileReported,
    FileReprocessRequested,
    FileReprocessRequestedV2,
    FileRestored,
    FileTagsChanged,
    FileTakenDown,
    FileUploaded,
    FileUploadedV2,
    FileVerified,
    TagCreated,
    TagCreatedV2,
    upcast_file_reprocess_requested_v1,
    upcast_file_uploaded_v1,
    upcast_tag_created_v1,
)
from mediaplane.contracts.janitor import (
    JanitorFilePurged,
    JanitorOrphanRemoved,
    JanitorSessionExpired,
)
from mediaplane.contracts.metadata import MetadataExtracted, MetadataFailed
from mediaplane.contracts.registry import Registry
from mediaplane.contracts.thumbnails import ThumbnailFailed, ThumbnailGenerated
from mediaplane.contracts.transcoding import (
    TranscodeChunkDone,
    TranscodeChunkFailed,
    TranscodeChunkRequested,
    TranscodeCompleted,
    TranscodeFailed,
    TranscodeProgress,
    TranscodeSegmentsReady,
    TranscodeStarted,
)
from mediaplane.contracts.uploads import (
    UploadSessionAborted,
    UploadSessionCompleted,
    UploadSessionOpened,
)
from mediaplane.contracts.users import (
    UserDeleted,
    UserEmailVerified,
    UserPlanChanged,
    UserQuotaSet,
    UserRegistered,
    UserReinstated,
    UserRoleChanged,
    UserSuspended,
)
from mediaplane.contracts.variants import VariantDropped, VariantFailed, VariantGenerated

ALL_EVENTS: tuple[type[Event], ...] = (
    UploadSessionOpened,
    UploadSessionCompleted,
    UploadSessionAborted,
    FileUploaded,
    FileUploadedV2,
    FileVerified,
    FileRejected,
    FileTagsChanged,
    FileDeleted,
    FileReported,
    FileReportDismissed,
    FileTakenDown,
    FileRestored,
    FileReprocessRequested,
    FileReprocessRequestedV2,
    TagCreated,
    TagCreatedV2,
    TranscodeStarted,
    TranscodeProgress,
    TranscodeSegmentsReady,
    TranscodeChunkRequested,
    TranscodeChunkDone,
    TranscodeChunkFailed,
    TranscodeCompleted,
    TranscodeFailed,
    ThumbnailGenerated,
    ThumbnailFailed,
    VariantGenerated,
    VariantFailed,
    VariantDropped,
    MetadataExtracted,
    MetadataFailed,
    JanitorSessionExpired,
    JanitorFilePurged,
    JanitorOrphanRemoved,
    UserRegistered,
    UserEmailVerified,
    UserRoleChanged,
    UserPlanChanged,
    UserQuotaSet,
    UserSuspended,
    UserReinstated,
    UserDeleted,
    DeadLetterRedriven,
    DeadLetterDiscarded,
)

AnyEvent = (
    UploadSessionOpened
    | UploadSessionCompleted
    | UploadSessionAborted
    | FileUploaded
    | FileUploadedV2
    | FileVerified
    | FileRejected
    | FileTagsChanged
    | FileDeleted
    | FileReported
    | FileReportDismissed
    | FileTakenDown
    | FileRestored
    | FileReprocessRequested
    | FileReprocessRequestedV2
    | TagCreated
    | TagCreatedV2
    | TranscodeStarted
    | TranscodeProgress
    | TranscodeSegmentsReady
    | TranscodeChunkRequested
    | TranscodeChunkDone
    | TranscodeChunkFailed
    | TranscodeCompleted
    | TranscodeFailed
    | ThumbnailGenerated
    | ThumbnailFailed
    | VariantGenerated
    | VariantFailed
    | VariantDropped
    | MetadataExtracted
    | MetadataFailed
    | JanitorSessionExpired
    | JanitorFilePurged
    | JanitorOrphanRemoved
    | UserRegistered
    | UserEmailVerified
    | UserRoleChanged
    | UserPlanChanged
    | UserQuotaSet
    | UserSuspended
    | UserReinstated
    | UserDeleted
    | DeadLetterRedriven
    | DeadLetterDiscarded
)


def build_registry(subject_root: str = "media") -> Registry:
    """The production registry; upcasters between versions are registered here.

    `subject_root` other than `media` is for tests that need subjects of their own.
    """
    registry = Registry(ALL_EVENTS, subject_root=subject_root)
    registry.register_upcaster("tag.created.v1", "tag.created.v2", upcast_tag_created_v1)
    registry.register_upcaster("file.uploaded.v1", "file.uploaded.v2", upcast_file_uploaded_v1)
    registry.register_upcaster(
        "file.reprocess_requested.v1",
        "file.reprocess_requested.v2",
        upcast_file_reprocess_requested_v1,
    )
    return registry


REGISTRY = build_registry()
