"""How background work shares one machine with the request path.

On one machine every process shares the cores. The request-serving ones (the
APIs, the edge, Postgres, NATS) come first. Consumers, workers, relays and the
trace backend run niced, and off the first core: they take what is left.

Niceness alone was not enough (docs/benchmarks.md, Latency (f), "the
background off the first core"). At 1,000 events/s every consumer's batch
lands in the same instant, and each hop of a `GET /v1/files` (edge, API,
Postgres, back) then found both cores busy with niced work it had to
preempt: p99 72-98 ms on a busy machine. With the same work kept off the
first core, a request always finds a core with no background work on it:
34-50 ms in the same runs. Scheduling the background roles as SCHED_IDLE
instead (preempted at once, still on every core) gave 57-70 ms.

A role whose work is long CPU-bound jobs (the transcoder's ffmpeg) keeps every
core, niced: off one core of two, an HLS ladder would take twice as long. The
trace backend is the nicest of all (~5 ms of CPU per span it stores): beside
the pipeline on the same core at the same niceness, its backlog after a
benchmark doubled every hop of complete -> thumbnails; spans can wait. In a
cluster each role has its own CPU requests instead of any of this.

A niceness counts only inside its session where the kernel groups sessions
(autogroup, `/proc/sys/kernel/sched_autogroup_enabled`, on by default in many
distributions' kernels and on this machine kind): the cores are shared between
sessions first, then between the processes of each. A server that runs in a
session of its own, as the stack's servers do, takes a whole session's share
whatever its own niceness, so `nice_session` gives the session that niceness
too. Measured with the trace backend (docs/benchmarks.md, Latency, "Sessions
are scheduling groups"): with its session at niceness 0, complete -> thumbnails
p95 464-475 ms and one video's HLS 23-25 s; at 19, 183-265 ms and 18 s. The
platform's roles share one session with the APIs (supervisord's), where their
own niceness does count.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

BACKGROUND_NICENESS = 10
TRACES_NICENESS = 19


def background_cores() -> list[int]:
    """The cores background work may use: all this process may use but the first, or all
    of them when there is only one."""
    cores = sorted(os.sched_getaffinity(0))
    return cores[1:] if len(cores) > 1 else cores


def background(
    command: Sequence[str], *, every_core: bool = False, niceness: int = BACKGROUND_NICENESS
) -> list[str]:
    """`command` run as background work: niced and, unless `every_core`, off the first
    core (`taskset`, util-linux; without it, niced only)."""
    niced = ["nice", "-n", str(niceness), *command]
    if every_core or shutil.which("taskset") is None:
        return niced
    cores = ",".join(str(core) for core in background_cores())
    return ["taskset", "--cpu-list", cores, *niced]


def nice_session(pid: int, niceness: int) -> None:
    """Give the session that `pid` leads `niceness` as a scheduling group (autogroup).

    Its owner may raise a session's niceness (never lower it: that needs
    CAP_SYS_NICE). A kernel without autogroup has no such file, and a sandbox
    may refuse the write: there the session keeps the kernel's default, as
    before, and only the processes' own niceness applies. A process that has
    already ended has no session left to nice; its caller's readiness wait says
    why it ended.
    """
    with contextlib.suppress(FileNotFoundError, PermissionError, ProcessLookupError):
        Path(f"/proc/{pid}/autogroup").write_text(str(niceness))
