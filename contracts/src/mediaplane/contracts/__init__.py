"""mediaplane event contracts: versioned msgspec events, the registry and upcasters."""

from mediaplane.contracts.beacons import (
    BEACON_REGISTRY,
    MAX_BEACONS,
    Beacon,
    BeaconKind,
    PlaybackBeacons,
    build_beacon_registry,
)
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
    Rendition,
    TranscodeCompleted,
    TranscodeFailed,
    TranscodeStarted,
    VideoSource,
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

__all__ = [
    "ALL_EVENTS",
    "BEACON_REGISTRY",
    "MAX_BEACONS",
    "REGISTRY",
    "AnyEvent",
    "Beacon",
    "BeaconKind",
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
    "ObjectReference",
    "Plan",
    "PlaybackBeacons",
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
    "VideoSource",
    "build_beacon_registry",
    "build_registry",
    "new_event",
    "new_event_id",
    "object_reference_problem",
    "utc_now",
]
