"""mediaplane event contracts: versioned msgspec events, the registry and upcasters."""

from mediaplane.contracts.catalog import ALL_EVENTS, REGISTRY, AnyEvent, build_registry
from mediaplane.contracts.envelope import Event, EventContext, new_event, new_event_id, utc_now
from mediaplane.contracts.files import (
    FileDeleted,
    FileKind,
    FileRejected,
    FileTagsChanged,
    FileUploaded,
    FileUploadedV2,
    FileVerified,
    TagCreated,
    TagCreatedV2,
)
from mediaplane.contracts.janitor import (
    JanitorFilePurged,
    JanitorOrphanRemoved,
    JanitorSessionExpired,
)
from mediaplane.contracts.objects import ObjectReference, object_reference_problem
from mediaplane.contracts.registry import Registry, UnknownEventType
from mediaplane.contracts.thumbnails import (
    Thumbnail,
    ThumbnailFailed,
    ThumbnailGenerated,
    ThumbnailSource,
)
from mediaplane.contracts.transcoding import (
    Mp4Rendition,
    Rendition,
    TranscodeCompleted,
    TranscodeFailed,
    TranscodeProgress,
    TranscodeStarted,
    VideoSource,
    Waveform,
)
from mediaplane.contracts.uploads import (
    UploadMode,
    UploadSessionAborted,
    UploadSessionCompleted,
    UploadSessionOpened,
)
from mediaplane.contracts.users import (
    Plan,
    Role,
    UserDeleted,
    UserEmailVerified,
    UserPlanChanged,
    UserRegistered,
    UserReinstated,
    UserRoleChanged,
    UserSuspended,
)
from mediaplane.contracts.variants import VariantFailed, VariantGenerated

__all__ = [
    "ALL_EVENTS",
    "REGISTRY",
    "AnyEvent",
    "Event",
    "EventContext",
    "FileDeleted",
    "FileKind",
    "FileRejected",
    "FileTagsChanged",
    "FileUploaded",
    "FileUploadedV2",
    "FileVerified",
    "JanitorFilePurged",
    "JanitorOrphanRemoved",
    "JanitorSessionExpired",
    "Mp4Rendition",
    "ObjectReference",
    "Plan",
    "Registry",
    "Rendition",
    "Role",
    "TagCreated",
    "TagCreatedV2",
    "Thumbnail",
    "ThumbnailFailed",
    "ThumbnailGenerated",
    "ThumbnailSource",
    "TranscodeCompleted",
    "TranscodeFailed",
    "TranscodeProgress",
    "TranscodeStarted",
    "UnknownEventType",
    "UploadMode",
    "UploadSessionAborted",
    "UploadSessionCompleted",
    "UploadSessionOpened",
    "UserDeleted",
    "UserEmailVerified",
    "UserPlanChanged",
    "UserRegistered",
    "UserReinstated",
    "UserRoleChanged",
    "UserSuspended",
    "VariantFailed",
    "VariantGenerated",
    "VideoSource",
    "Waveform",
    "build_registry",
    "new_event",
    "new_event_id",
    "object_reference_problem",
    "utc_now",
]
