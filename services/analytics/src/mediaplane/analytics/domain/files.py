"""What analytics keeps of a file from the platform's events, folded per file (pure)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace

from mediaplane.contracts import Event, FileDeleted, FileVerified, TranscodeCompleted


@dataclass(frozen=True, kw_only=True)
class FileFacts:
    """A file's facts from some events; None: those events did not say (keep what is known)."""

    file_id: uuid.UUID
    owner: str | None = None  # file.verified
    duration: float | None = None  # transcode.completed
    deleted: bool = False  # file.deleted (nothing consumed here undoes it)


def file_facts(events: Iterable[Event]) -> list[FileFacts]:
    """One entry per file named by `events`, in stream order: the last owner and duration
    win, a deletion stays. Stored over the known facts, the result is what storing
    each event in turn gives, so a batch can be one statement (which may touch each
    row once)."""
    facts: dict[uuid.UUID, FileFacts] = {}
    for event in events:
        if not isinstance(event, FileVerified | TranscodeCompleted | FileDeleted):
            continue
        known = facts.get(event.file_id) or FileFacts(file_id=event.file_id)
        if isinstance(event, FileVerified):
            known = replace(known, owner=event.owner)
        elif isinstance(event, TranscodeCompleted):
            known = replace(known, duration=event.duration)
        else:
            known = replace(known, deleted=True)
        facts[event.file_id] = known
    return list(facts.values())
