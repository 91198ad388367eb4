"""POST /v1/uploads (single mode) on one API process vs the same I/O without the gateway.

The ceiling (`gateway_ceiling.py`) is a raw ASGI app doing one psycopg insert
and one presign per request. Both run as one uvicorn process each, loaded in
turn by `wrk` (one thread, 32 connections) with the same requests, so the
ratio is what the gateway's own code costs. Tokens of 200 owners spread the
per-owner quota lock.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from subprocess import DEVNULL
from typing import Any

import httpx
import jwt
import psycopg
import pytest

from mediaplane.devstack.pytest_plugin import NatsNamespace, free_ports
from mediaplane.devstack.settings import StackSettings
from mediaplane.upload_gateway.config import SERVICE

from . import gateway_ceiling
from .conftest import cpu_seconds, machine_description

SECRET = "bench-secret-that-is-long-enough-for-hs256"
DURATION = "10s"
CONNECTIONS = 32
ROUNDS = 2
APPLICATIONS = {"ceiling": gateway_ceiling.APPLICATION_NAME, "api": SERVICE}


def _wait_ready(url: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} did not come up")


def _wrk(url: str, script: Path) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert match, out
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    requests = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert rps, out
    assert requests, out
    assert non2xx is None, out  # every request must have succeeded
    return {
        "rps": float(rps.group(1)),
        "requests": float(requests.group(1)),
        "p50": latency("50%"),
        "p99": latency("99%"),
    }


def _backend_cpu(pg_url: str, application_name: str) -> dict[int, float]:
    """CPU time so far of each Postgres backend of one application (the server is local)."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        pids = conn.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s",
            (application_name,),
        ).fetchall()
    return {pid: cpu_seconds(pid) for (pid,) in pids}


def _script(tmp: Path, tokens: list[str]) -> Path:
    lua = tmp / "open.lua"
    quoted = ", ".join(f'"{t}"' for t in tokens)
    lua.write_text(
        textwrap.dedent(f"""
        local tokens = {{{quoted}}}
        local n = 0
        request = function()
          n = n + 1
          local body = '{{"filename":"bench.png","size":1048576,"content_type":"image/png"}}'
          local headers = {{["Content-Type"] = "application/json",
                           ["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1]}}
          return wrk.format("POST", "/v1/uploads", headers, body)
        end
    """)
    )
    return lua


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)


def test_open_upload_throughput_vs_io_ceiling(
    stack: StackSettings, pg_url: str, s3_bucket: str, nats_namespace: NatsNamespace, tmp_path: Path
) -> None:
    if shutil.which("wrk") is None:
        pytest.fail(
            "wrk is required for this benchmark: apt-get install wrk (`just bench` does it)"
        )
    env: dict[str, Any] = {
        **os.environ,
        "MEDIAPLANE_GATEWAY_DATABASE_URL": pg_url,
        "MEDIAPLANE_NATS_URL": nats_namespace.url,
        "MEDIAPLANE_STREAM": f"{nats_namespace.stream_prefix}_MEDIA",
        "MEDIAPLANE_SUBJECT_ROOT": f"{nats_namespace.subject_prefix}.media",
        "MEDIAPLANE_S3_ENDPOINT": stack.s3_endpoint,
        "MEDIAPLANE_GATEWAY_S3_ACCESS_KEY": stack.s3_admin.access_key,
        "MEDIAPLANE_GATEWAY_S3_SECRET_KEY": stack.s3_admin.secret_key,
        "MEDIAPLANE_S3_REGION": stack.s3_region,
        "MEDIAPLANE_JWT_SECRET": SECRET,
        "MEDIAPLANE_ORIGINALS_BUCKET": s3_bucket,
        "MEDIAPLANE_PLANS": json.dumps({"free": {"files": 10**9, "bytes": 10**18}}),
        "MEDIAPLANE_RATE_PER_SECOND": "1000000",
        "MEDIAPLANE_RATE_BURST": "1000000",
        "MEDIAPLANE_LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "-m", "mediaplane.upload_gateway", "migrate"],
        env=env,
        check=True,
        capture_output=True,
    )
    tokens = [
        jwt.encode({"sub": f"owner-{i}", "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")
        for i in range(200)
    ]
    script = _script(tmp_path, tokens)

    ceiling_port, api_port = free_ports(), free_ports()
    servers = {
        "ceiling": (
            [
                *("-m", "uvicorn", "--app-dir", str(Path(__file__).parent)),
                *("--port", str(ceiling_port), "--no-access-log", "--log-level", "warning"),
                "gateway_ceiling:app",
            ],
            env,
            f"http://127.0.0.1:{ceiling_port}",
            "/",
        ),
        "api": (
            ["-m", "mediaplane.upload_gateway", "api"],
            {**env, "MEDIAPLANE_GATEWAY_PORT": str(api_port)},
            f"http://127.0.0.1:{api_port}",
            "/health/live",
        ),
    }
    running = {
        name: subprocess.Popen(
            [sys.executable, *argv], env=server_env, stdout=DEVNULL, stderr=DEVNULL
        )
        for name, (argv, server_env, _, _) in servers.items()
    }
    results: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
    try:
        for _, _, base, ready in servers.values():
            _wait_ready(base + ready)
        # Alternate rounds, so drift in the machine's load falls on both alike.
        for _ in range(ROUNDS):
            for name, (_, _, base, _) in servers.items():
                before = cpu_seconds(running[name].pid)
                backends = _backend_cpu(pg_url, APPLICATIONS[name])
                run = _wrk(base, script)
                run["cpu_us"] = (cpu_seconds(running[name].pid) - before) / run["requests"] * 1e6
                run["pg_us"] = (
                    sum(
                        cpu - backends.get(pid, 0.0)
                        for pid, cpu in _backend_cpu(pg_url, APPLICATIONS[name]).items()
                    )
                    / run["requests"]
                    * 1e6
                )
                results[name].append(run)
    finally:
        for proc in running.values():
            _stop(proc)

    print(f"\nmachine: {machine_description()}, load {os.getloadavg()[0]:.1f}")
    labels = {"ceiling": "ceiling (insert + presign)", "api": "POST /v1/uploads (single)"}
    for name, runs in results.items():
        for run in runs:
            print(
                f"{labels[name]:<28} {run['rps']:.0f} req/s, "
                f"p50 {run['p50']:.2f} ms, p99 {run['p99']:.2f} ms, "
                f"CPU per request {run['cpu_us']:.0f} us + Postgres {run['pg_us']:.0f} us"
            )
    ratio = sum(r["rps"] for r in results["api"]) / sum(r["rps"] for r in results["ceiling"])
    # On a busy machine throughput follows the scheduler's share; CPU per request does not.
    cpu = {name: sum(r["cpu_us"] for r in runs) / len(runs) for name, runs in results.items()}
    print(
        f"ratio: {ratio:.2f} (aim >= 0.50); by CPU per request: {cpu['ceiling'] / cpu['api']:.2f}"
    )
    assert all(r["rps"] > 0 for runs in results.values() for r in runs)
