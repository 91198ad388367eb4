"""The Caddy edge (deploy/edge/Caddyfile): routing, readiness, errors and security headers.

Caddy runs for real in front of four stub upstreams that answer with their
own name and the Host header they saw: commands must reach the gateway,
queries the catalog, accounts and OpenID Connect identity, bucket paths S3
with the edge's Host kept (presigned URLs are signed for it), the web UI's
paths its files. Unknown API paths,
/health and downloads of uploaded HTML are answered honestly.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mediaplane.devstack.ports import free_port_block
from mediaplane.devstack.servers import binary
from mediaplane.devstack.settings import StackSettings
from mediaplane.storage import Endpoint, ObjectStore

ROOT = Path(__file__).resolve().parents[2]
FILE = "0191f0e4-54b5-7c3e-8a1e-0123456789ab"
SESSION = "0191f0e4-54b5-7c3e-8a1e-ba9876543210"


class Stub(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str, port: int) -> None:
        super().__init__(("127.0.0.1", port), StubHandler)
        self.name = name
        # The SSE stub holds its response open until the test has read an event.
        self.release = threading.Event()
        self.ready = True  # what /health/ready answers


class StubHandler(BaseHTTPRequestHandler):
    server: Stub

    def log_message(self, format: str, *args: object) -> None:
        return None

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path.startswith("/v1/events"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b"event: file.changed\ndata: {}\n\n")
            self.wfile.flush()
            self.server.release.wait(30)
            return
        if self.path == "/health/ready":
            self.send_response(200 if self.server.ready else 503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        url = urlsplit(self.path)
        if self.server.name == "s3" and url.path.endswith(".html"):
            # An uploaded web page; like S3, the stub sends the
            # response-content-disposition a presigned URL asks for.
            page = b"<!doctype html><script>fetch('/v1/files')</script>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            for disposition in parse_qs(url.query).get("response-content-disposition", []):
                self.send_header("Content-Disposition", disposition)
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            return
        body = json.dumps(
            {"upstream": self.server.name, "host": self.headers["Host"], "path": self.path}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # http.server dispatches on these names.
    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer  # noqa: N815


@pytest.fixture(scope="module")
def stubs() -> Iterator[dict[str, Stub]]:
    base = free_port_block(5)
    names = ("gateway", "catalog", "identity", "s3", "thumbnailer")
    servers = {name: Stub(name, base + i) for i, name in enumerate(names)}
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers.values()]
    for thread in threads:
        thread.start()
    yield servers
    for server in servers.values():
        server.release.set()
        server.shutdown()
        server.server_close()


def start_edge(
    upstreams: dict[str, int], web_ui: Path, log: Path, **extra_env: str
) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port_block(2)
    env = {
        "MEDIAPLANE_EDGE_PORT": str(port),
        "MEDIAPLANE_EDGE_ADMIN": f"127.0.0.1:{port + 1}",
        "MEDIAPLANE_GATEWAY_UPSTREAM": f"127.0.0.1:{upstreams['gateway']}",
        "MEDIAPLANE_CATALOG_UPSTREAM": f"127.0.0.1:{upstreams['catalog']}",
        "MEDIAPLANE_IDENTITY_UPSTREAM": f"127.0.0.1:{upstreams['identity']}",
        "MEDIAPLANE_S3_UPSTREAM": f"127.0.0.1:{upstreams['s3']}",
        "MEDIAPLANE_THUMBNAILER_UPSTREAM": f"127.0.0.1:{upstreams['thumbnailer']}",
        "MEDIAPLANE_WEB_UI_DIR": str(web_ui),
        "HOME": str(log.parent),  # Caddy keeps its (unused) storage under $HOME
        **extra_env,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary("caddy"), "run", "--adapter", "caddyfile", "--config",
             str(ROOT / "deploy" / "edge" / "Caddyfile")],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url + "/", timeout=2)
            return url, process
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"caddy did not start:\n{log.read_text()}") from None
            time.sleep(0.1)


@pytest.fixture(scope="module")
def web_ui(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("web-ui") / "dist"


@pytest.fixture(scope="module")
def edge(
    stubs: dict[str, Stub], web_ui: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    ports = {name: stub.server_port for name, stub in stubs.items()}
    url, process = start_edge(ports, web_ui, tmp_path_factory.mktemp("caddy") / "caddy.log")
    yield url
    process.terminate()
    process.wait(timeout=20)


def closed_port() -> int:
    """A port nothing listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


ROUTES = [
    ("POST", "/v1/uploads", "gateway"),
    ("GET", "/v1/uploads", "catalog"),
    ("GET", "/v1/uploads?status=open", "catalog"),
    ("GET", f"/v1/uploads/{SESSION}", "gateway"),
    ("GET", f"/v1/uploads/{SESSION}/parts", "gateway"),
    ("POST", f"/v1/uploads/{SESSION}/parts", "gateway"),
    ("POST", f"/v1/uploads/{SESSION}/complete", "gateway"),
    ("DELETE", f"/v1/uploads/{SESSION}", "gateway"),
    ("POST", "/v1/tags", "gateway"),
    ("GET", "/v1/tags?limit=5", "catalog"),
    ("GET", "/v1/files?kind=video", "catalog"),
    ("GET", f"/v1/files/{FILE}", "catalog"),
    ("GET", f"/v1/files/{FILE}/history", "catalog"),
    ("GET", f"/v1/files/{FILE}/hls/master.m3u8", "catalog"),
    ("GET", f"/v1/files/{FILE}/variants/card", "thumbnailer"),
    ("GET", f"/v1/files/{FILE}/variants/fill-400x300-smart.webp?sig=abc", "thumbnailer"),
    ("POST", "/v1/variants/signatures", "thumbnailer"),
    ("PUT", f"/v1/files/{FILE}/tags", "gateway"),
    ("DELETE", f"/v1/files/{FILE}", "gateway"),
    ("GET", "/v1/dev", "gateway"),
    ("POST", "/v1/dev/token", "gateway"),
    ("GET", "/.well-known/openid-configuration", "identity"),
    ("GET", "/.well-known/jwks.json", "identity"),
    ("GET", "/oauth/authorize?client_id=web&response_type=code", "identity"),
    ("POST", "/oauth/token", "identity"),
    ("POST", "/oauth/device", "identity"),
    ("GET", "/v1/account/", "identity"),
    ("POST", "/v1/account/sessions", "identity"),
    ("DELETE", f"/v1/account/tokens/{FILE}", "identity"),
    ("GET", "/v1/account/federation/start", "identity"),
    ("PUT", f"/v1/admin/users/{FILE}/role", "identity"),
    ("GET", "/v1/moderation/reports?status=open", "catalog"),
    ("GET", "/v1/moderation/offenders", "catalog"),
    ("POST", f"/v1/files/{FILE}/reports", "gateway"),
    ("POST", f"/v1/moderation/files/{FILE}/takedown", "gateway"),
    ("POST", f"/v1/moderation/files/{FILE}/reports/{SESSION}/dismiss", "gateway"),
    ("GET", "/v1/admin/files?owner=alice", "catalog"),
    ("GET", "/v1/admin/usage", "catalog"),
    ("GET", "/v1/admin/usage/history?days=7", "catalog"),
    ("PUT", f"/v1/admin/users/{FILE}/quota", "identity"),
    ("GET", "/v1/admin/audit", "catalog"),
    ("POST", f"/v1/admin/files/{FILE}/reprocess", "gateway"),
    ("GET", f"/v1/admin/users/{FILE}", "identity"),
    ("POST", "/v1/admin/invites", "identity"),
    ("PUT", "/originals/alice/f1?X-Amz-Signature=abc", "s3"),
    ("GET", "/renditions/f1/j1/master.m3u8?X-Amz-Signature=abc", "s3"),
    ("GET", "/thumbnails/f1/small.webp", "s3"),
    ("GET", "/variants/0a1b/fit-320x320-q80.webp?X-Amz-Signature=abc", "s3"),
]


@pytest.mark.parametrize(("method", "path", "upstream"), ROUTES)
def test_each_call_reaches_its_upstream(edge: str, method: str, path: str, upstream: str) -> None:
    response = httpx.request(method, edge + path, content=b"{}", timeout=10)
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["upstream"] == upstream
    assert seen["path"] == path  # nothing rewritten: S3 signatures cover the path and query
    # The Host the client used: what presigned URLs are signed for.
    assert seen["host"] == edge.removeprefix("http://")


def test_server_sent_events_are_not_buffered(edge: str, stubs: dict[str, Stub]) -> None:
    # The stub keeps the response open until released: a buffering proxy would
    # deliver nothing until then, and this read would time out.
    with httpx.stream("GET", edge + "/v1/events", timeout=20) as response:
        first = next(response.iter_lines())
        assert first == "event: file.changed"
        stubs["catalog"].release.set()


def test_the_web_ui_is_served_once_built(edge: str, web_ui: Path) -> None:
    missing = httpx.get(edge + "/", timeout=10)
    assert missing.status_code == 200
    assert "web UI is not built" in missing.text
    assert "npm run build" in missing.text

    web_ui.mkdir(parents=True)
    (web_ui / "index.html").write_text("<!doctype html><title>mediaplane ui</title>")
    (web_ui / "app.js").write_text("console.log('ui')")
    assert "mediaplane ui" in httpx.get(edge + "/", timeout=10).text
    assert httpx.get(edge + "/app.js", timeout=10).text == "console.log('ui')"
    # A single-page app: its own paths come back as index.html.
    assert "mediaplane ui" in httpx.get(edge + "/library/some-file", timeout=10).text
    # The OAuth redirect URI and the device-approval page (`mediaplane login` prints it).
    for page in ("/callback?code=x&state=y", "/device", "/device?user_code=BCDF-GHJK"):
        answer = httpx.get(edge + page, timeout=10)
        assert answer.status_code == 200
        assert "mediaplane ui" in answer.text


def is_problem(response: httpx.Response, status: int, code: str) -> bool:
    return (
        response.status_code == status
        and response.headers["content-type"] == "application/problem+json"
        and response.json()["code"] == code
        and response.json()["status"] == status
    )


def test_health_is_ready_only_when_both_apis_are(
    edge: str, stubs: dict[str, Stub], tmp_path: Path
) -> None:
    ready = httpx.get(edge + "/health", timeout=10)
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})

    for name in ("gateway", "catalog"):
        stubs[name].ready = False
        try:
            assert is_problem(httpx.get(edge + "/health", timeout=10), 503, "not_ready"), name
        finally:
            stubs[name].ready = True

    # An upstream that is not running at all.
    for stopped in ("gateway", "catalog"):
        ports = {name: stub.server_port for name, stub in stubs.items()}
        ports[stopped] = closed_port()
        url, process = start_edge(ports, tmp_path / "ui", tmp_path / f"{stopped}.log")
        try:
            down = httpx.get(url + "/health", timeout=10)
            assert is_problem(down, 503, "not_ready"), (stopped, down.text)
            api = httpx.post(url + "/v1/uploads", json={}, timeout=10)
            expected = 502 if stopped == "gateway" else 200
            assert api.status_code == expected, api.text
        finally:
            process.terminate()
            process.wait(timeout=20)


@pytest.mark.parametrize(
    "path",
    [
        "/v1",
        "/v1/",
        "/v1/nope",
        "/v1/dev/nope",
        "/v2/files",
        "/health/ready",
        "/schema",
        "/metrics",
    ],
)
def test_unknown_api_and_internal_paths_are_problem_json_not_the_ui(
    edge: str, web_ui: Path, path: str
) -> None:
    web_ui.mkdir(parents=True, exist_ok=True)
    (web_ui / "index.html").write_text("<!doctype html><title>mediaplane ui</title>")
    response = httpx.get(edge + path, timeout=10)
    if path.startswith("/v2"):
        # Not an API path: the single-page app answers it.
        assert "mediaplane ui" in response.text
        return
    assert is_problem(response, 404, "not_found"), response.text
    assert "mediaplane ui" not in response.text


def test_security_headers_on_the_ui_and_the_api(edge: str, web_ui: Path) -> None:
    web_ui.mkdir(parents=True, exist_ok=True)
    (web_ui / "index.html").write_text("<!doctype html><title>mediaplane ui</title>")
    for path in ("/", "/library/x", "/v1/files", "/v1/nope", "/originals/a/b.mp4"):
        headers = httpx.get(edge + path, timeout=10).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "same-origin", path
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert "server" not in headers, path
    ui = httpx.get(edge + "/", timeout=10).headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in ui.split("; ")}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]  # no inline script, no eval
    # hls.js: MediaSource (blob: media) fed from a blob: worker.
    assert "blob:" in directives["media-src"]
    assert "blob:" in directives["worker-src"]
    assert directives["object-src"] == ["'none'"]
    api = httpx.get(edge + "/v1/files", timeout=10).headers["content-security-policy"]
    assert api.startswith("default-src 'none'")


@pytest.mark.parametrize(
    "query",
    ["", "?response-content-disposition=inline", "?response-content-disposition=inline%3B%20x"],
)
def test_uploaded_html_is_never_rendered_as_a_page_of_the_edge(edge: str, query: str) -> None:
    for bucket in ("originals", "renditions", "thumbnails"):
        response = httpx.get(f"{edge}/{bucket}/alice/page.html{query}", timeout=10)
        assert response.status_code == 200
        assert response.headers.get_list("content-disposition") == ["attachment"], bucket
        policy = response.headers.get_list("content-security-policy")
        assert policy == ["sandbox; default-src 'none'; frame-ancestors 'none'"], bucket
        assert response.headers["x-content-type-options"] == "nosniff"


def test_a_signed_attachment_keeps_its_filename(edge: str) -> None:
    # What the catalog signs for downloads (storage.content_disposition).
    wanted = 'attachment; filename="page.html"'
    response = httpx.get(
        f"{edge}/originals/alice/page.html",
        params={"response-content-disposition": wanted},
        timeout=10,
    )
    assert response.headers.get_list("content-disposition") == [wanted]


@pytest.mark.integration
async def test_an_uploaded_web_page_downloads_from_real_s3_as_a_sandboxed_attachment(
    stack: StackSettings, s3_bucket: str, tmp_path: Path
) -> None:
    # The edge in front of the real SeaweedFS, with this test's bucket as originals.
    s3_host = stack.s3_endpoint.split("://", 1)[1]
    ports = {
        "gateway": closed_port(),
        "catalog": closed_port(),
        "identity": closed_port(),
        "thumbnailer": closed_port(),
        "s3": int(s3_host.split(":")[1]),
    }
    url, process = start_edge(
        ports, tmp_path / "ui", tmp_path / "caddy.log", MEDIAPLANE_ORIGINALS_BUCKET=s3_bucket
    )
    try:
        admin = stack.storage_settings()
        store = ObjectStore(replace(admin, public_endpoint=Endpoint.from_url(url)))
        page = b"<!doctype html><script>fetch('/v1/files')</script>"
        await store.put_bytes(s3_bucket, "mallory/page.html", page, content_type="text/html")
        for inline in (True, False):
            signed = store.presign_get(
                s3_bucket, "mallory/page.html", expires=timedelta(minutes=5), inline=inline,
                filename="page.html",
            )  # fmt: skip
            async with httpx.AsyncClient(timeout=10) as http:
                response = await http.get(signed.url)
            assert response.status_code == 200, response.text
            assert response.content == page
            disposition = response.headers.get_list("content-disposition")
            assert len(disposition) == 1
            assert disposition[0].startswith("attachment"), disposition
            assert response.headers["content-security-policy"].startswith("sandbox;")
            assert response.headers["x-content-type-options"] == "nosniff"
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_api_reference_is_served_from_the_web_ui_build(
    stubs: dict[str, Stub], tmp_path: Path
) -> None:
    built = tmp_path / "dist"
    (built / "docs").mkdir(parents=True)
    (built / "index.html").write_text("<!doctype html><title>mediaplane ui</title>")
    (built / "openapi.json").write_text('{"openapi": "3.1.0"}')
    (built / "docs" / "index.html").write_text("<!doctype html><title>mediaplane API</title>")
    ports = {name: stub.server_port for name, stub in stubs.items()}
    url, process = start_edge(ports, built, tmp_path / "caddy.log")
    try:
        document = httpx.get(url + "/v1/openapi.json", timeout=10)
        assert document.json() == {"openapi": "3.1.0"}
        assert document.headers["content-type"].startswith("application/json")
        page = httpx.get(url + "/v1/docs", timeout=10)
        assert "mediaplane API" in page.text
        # The viewer runs under the UI's own policy: scripts of this origin only.
        policy = page.headers["content-security-policy"]
        assert "script-src 'self';" in policy
        # Nothing else under /v1 is taken from the UI's files.
        assert is_problem(httpx.get(url + "/v1/docs/x", timeout=10), 404, "not_found")
    finally:
        process.terminate()
        process.wait(timeout=20)


WEB_UI = ROOT / "services" / "web-ui"


def test_the_api_reference_renders_in_a_browser_under_the_edge_policy(
    stubs: dict[str, Stub],
    tmp_path: Path,
    require_browser: Callable[[str, Mapping[str, bool]], str],
) -> None:
    """The real build in headless chromium: every operation shown, no CSP violation, no
    request leaving the origin (no CDN). MEDIAPLANE_WEB_UI_SCREENSHOTS=docs/screenshots
    refreshes docs/screenshots/api-docs.png."""
    chromium = require_browser(
        "API reference browser check",
        {"services/web-ui/dist (just web-ui)": (WEB_UI / "dist" / "docs").is_dir()},
    )
    ports = {name: stub.server_port for name, stub in stubs.items()}
    url, process = start_edge(ports, WEB_UI / "dist", tmp_path / "caddy.log")
    env = {**os.environ, "WEBUI_BASE_URL": url, "CHROMIUM": chromium}
    if shots := os.environ.get("MEDIAPLANE_WEB_UI_SCREENSHOTS"):
        env["WEBUI_SCREENSHOTS"] = str(ROOT / shots)
    try:
        run = subprocess.run(
            ["node", str(WEB_UI / "e2e" / "apidocs.e2e.mjs")],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "api docs: ok" in run.stdout
