"""One upload is one trace, from the `complete` request to the catalog's projection row.

A private platform (as `just up` runs it) exports its spans to the local
stack's trace backend. A PNG is uploaded through the edge; the trace id of
its `complete` request (the `traceresponse` header) must then hold, read back
from the backend's query API, the spans of every hop: the gateway's API, its
relay, the verifier, the relay again, the thumbnailer, its relay and the
catalog's ingest. Nothing here measures time; the deadlines are generous.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from mediaplane.devstack import traces
from mediaplane.devstack.private_platform import PrivatePlatform
from mediaplane.devstack.servers import Traces
from mediaplane.devstack.settings import StackSettings

pytestmark = [pytest.mark.integration, pytest.mark.soak, pytest.mark.timeout(600)]

PROCESSING_DEADLINE = 300.0
# Every process an image passes through, as `service.name-role`.
HOPS = {
    "upload-gateway-api",
    "upload-gateway-relay",
    "upload-gateway-verifier",
    "thumbnailer-worker",
    "thumbnailer-relay",
    "catalog-ingest",
}


@pytest.fixture(scope="module")
def platform(
    stack: StackSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrivatePlatform]:
    if not Traces(stack).ready():
        pytest.fail(f"the trace backend does not answer on {stack.traces_url} (`just infra-up`)")
    private = PrivatePlatform(stack, tmp_path_factory.mktemp("platform"), name="trace")
    try:
        private.start(timeout=600)
        yield private
    finally:
        private.stop()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


def upload(http: httpx.Client, body: bytes) -> tuple[str, str]:
    """Upload `body` as a PNG; its file id and the trace id of its `complete`."""
    opened = http.post(
        "/v1/uploads", json={"filename": "red.png", "size": len(body), "content_type": "image/png"}
    )
    assert opened.status_code == 201, opened.text
    session = opened.json()
    put = session["upload"]
    stored = httpx.request(put["method"], put["url"], headers=put["headers"], content=body)
    assert stored.status_code == 200, stored.text
    completed = http.post(f"/v1/uploads/{session['session_id']}/complete", json={"parts": []})
    assert completed.status_code == 202, completed.text
    return session["file_id"], traces.trace_id_of(completed.headers["traceresponse"])


def test_an_upload_is_one_trace_across_every_hop(
    platform: PrivatePlatform, stack: StackSettings
) -> None:
    token = httpx.post(f"{platform.base_url}/v1/dev/token", json={"sub": "tracer"}).json()["token"]
    with httpx.Client(
        base_url=platform.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        file_id, trace_id = upload(http, png())
        deadline = time.monotonic() + PROCESSING_DEADLINE
        while time.monotonic() < deadline:
            response = http.get(f"/v1/files/{file_id}")
            if response.status_code == 200 and response.json()["file"]["thumbnail_status"] in (
                "ready",
                "failed",
            ):
                break
            time.sleep(0.5)
        summary = http.get(f"/v1/files/{file_id}").json()["file"]
    assert summary["thumbnail_status"] == "ready", summary

    found = traces.wait_for_spans(stack.traces_url, trace_id, services=HOPS, timeout=60)
    assert {s.trace_id for s in found} == {trace_id}
    assert {s.service for s in found} >= HOPS, sorted({(s.service, s.name) for s in found})
    # One tree: every span but the request's own hangs off a span of the same trace.
    ids = {s.span_id for s in found}
    roots = [s for s in found if s.parent_id not in ids]
    assert [r.service for r in roots] == ["upload-gateway-api"], roots
