"""Child processes of a job (ffprobe, ffmpeg, the PDF renderer) under the service's limits."""

from __future__ import annotations

from collections.abc import Sequence

from mediaplane.servicekit import children
from mediaplane.thumbnailer.domain.errors import ResourceLimit


async def run_tool(tool: str, argv: Sequence[str], limits: children.Limits) -> children.Completed:
    """Run a child under `limits`; one that hits its CPU or memory limit is `resource_limit`.

    Cancelling the caller (the job timeout, shutdown) kills the child's process group.
    """
    try:
        return await children.run(argv, limits=limits)
    except children.LimitExceeded as exceeded:
        raise ResourceLimit(f"{tool} {exceeded.detail}") from None


def error_text(completed: children.Completed) -> str:
    """The end of stderr (where tools say what went wrong), for failure details."""
    return completed.stderr.strip()[-500:]
