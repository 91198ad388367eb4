"""No server needed: presigning is local, settings are validated, a dead server fails fast."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from datetime import timedelta
from typing import NoReturn
from urllib.parse import parse_qs, urlsplit

import pytest

from mediaplane.storage import Endpoint, ObjectStore, StorageSettings, StorageUnavailable


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("presigning touched the network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def offline_store(public_endpoint: str | None = None) -> ObjectStore:
    return ObjectStore(
        StorageSettings.from_urls(
            "http://s3.unreachable.invalid:9000",
            access_key="key",
            secret_key="secret",
            region="eu-central-1",
            public_endpoint=public_endpoint,
        )
    )


@pytest.mark.usefixtures("no_network")
def test_presigning_needs_no_network() -> None:
    store = offline_store()
    digest = hashlib.sha256(b"data").digest()
    put = store.presign_put("media", "k", expires=timedelta(minutes=5), sha256=digest)
    sized = store.presign_put("media", "k", expires=timedelta(minutes=5), content_length=7)
    part = store.presign_upload_part("media", "k", "upload-1", 3, expires=timedelta(minutes=5))
    get = store.presign_get("media", "k", expires=timedelta(minutes=5), filename="a.txt")

    for request in (put, sized, part, get):
        url = urlsplit(request.url)
        assert url.netloc == "s3.unreachable.invalid:9000"
        assert "/eu-central-1/s3/aws4_request" in parse_qs(url.query)["X-Amz-Credential"][0]
    assert parse_qs(urlsplit(put.url).query)["x-amz-checksum-sha256"] == [
        "Om6weQ85rIfJTzhWst0sXREOaBFgImGpqSPTuyOtyLc="
    ]
    assert parse_qs(urlsplit(part.url).query)["partNumber"] == ["3"]
    assert parse_qs(urlsplit(sized.url).query)["X-Amz-SignedHeaders"] == ["content-length;host"]


@pytest.mark.parametrize(
    ("expires", "length"), [(timedelta(0), 1), (timedelta(days=8), 1), (timedelta(minutes=1), -1)]
)
def test_a_length_bound_put_checks_its_arguments(expires: timedelta, length: int) -> None:
    with pytest.raises(ValueError, match=r"expires|content_length"):
        offline_store().presign_put("media", "k", expires=expires, content_length=length)


@pytest.mark.usefixtures("no_network")
def test_urls_are_signed_for_the_public_endpoint() -> None:
    store = offline_store(public_endpoint="https://media.example.com")
    request = store.presign_get("media", "k", expires=timedelta(minutes=5))
    assert request.url.startswith("https://media.example.com/media/k?")


def test_content_type_is_a_header_the_client_sends() -> None:
    request = offline_store().presign_put(
        "media", "k", expires=timedelta(minutes=5), content_type="video/mp4"
    )
    assert request.method == "PUT"
    assert request.headers == {"Content-Type": "video/mp4"}


@pytest.mark.parametrize("digest", [b"", b"\x00" * 31, hashlib.sha256(b"x").hexdigest().encode()])
def test_sha256_must_be_the_raw_digest(digest: bytes) -> None:
    with pytest.raises(ValueError, match="32-byte"):
        offline_store().presign_put("media", "k", expires=timedelta(minutes=5), sha256=digest)


@pytest.mark.parametrize("part_number", [0, 10_001])
def test_part_numbers_outside_s3_limits_are_refused(part_number: int) -> None:
    with pytest.raises(ValueError, match="part_number"):
        offline_store().presign_upload_part(
            "media", "k", "u", part_number, expires=timedelta(minutes=5)
        )


@pytest.mark.parametrize(
    "endpoint", ["127.0.0.1:9000", "ftp://host", "http://host/prefix", "http://host?x=1"]
)
def test_endpoint_must_be_a_bare_http_url(endpoint: str) -> None:
    with pytest.raises(ValueError, match="S3 endpoint"):
        StorageSettings.from_urls(endpoint, access_key="k", secret_key="s", region="r")


def test_region_is_required() -> None:
    with pytest.raises(ValueError, match="region"):
        StorageSettings.from_urls("http://h:1", access_key="k", secret_key="s", region="")


async def test_unreachable_server_fails_fast_with_storage_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    store = ObjectStore(
        StorageSettings.from_urls(
            f"http://127.0.0.1:{closed_port}", access_key="k", secret_key="s", region="us-east-1"
        )
    )
    # The SDK's own retries and timeouts would take minutes here; ours give up after
    # `retries` refused connects. 60 s separates the two on any machine.
    async with asyncio.timeout(60):
        with pytest.raises(StorageUnavailable):
            await store.stat("media", "k")


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIAPLANE_S3_ENDPOINT", "http://10.0.0.5:8333")
    monkeypatch.setenv("MEDIAPLANE_S3_ACCESS_KEY", "k")
    monkeypatch.setenv("MEDIAPLANE_S3_SECRET_KEY", "s")
    monkeypatch.setenv("MEDIAPLANE_S3_REGION", "eu-west-3")
    monkeypatch.setenv("MEDIAPLANE_S3_PUBLIC_ENDPOINT", "https://edge.example.com")

    settings = StorageSettings.from_env()

    assert (settings.access_key, settings.secret_key) == ("k", "s")
    assert (settings.endpoint.host, settings.endpoint.secure) == ("10.0.0.5:8333", False)
    assert settings.presign_endpoint == Endpoint(host="edge.example.com", secure=True)
    assert settings.region == "eu-west-3"


def test_settings_from_environment_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDIAPLANE_S3_REGION", raising=False)
    monkeypatch.setenv("MEDIAPLANE_S3_ENDPOINT", "http://h:1")
    monkeypatch.setenv("MEDIAPLANE_S3_ACCESS_KEY", "k")
    monkeypatch.setenv("MEDIAPLANE_S3_SECRET_KEY", "s")
    with pytest.raises(ValueError, match="MEDIAPLANE_S3_REGION"):
        StorageSettings.from_env()


def test_a_service_reads_its_own_keys_and_never_the_admins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEDIAPLANE_S3_ENDPOINT", "http://h:1")
    monkeypatch.setenv("MEDIAPLANE_S3_REGION", "us-east-1")
    monkeypatch.setenv("MEDIAPLANE_S3_ACCESS_KEY", "admin")
    monkeypatch.setenv("MEDIAPLANE_S3_SECRET_KEY", "admin-secret")
    monkeypatch.delenv("MEDIAPLANE_CATALOG_S3_ACCESS_KEY", raising=False)
    with pytest.raises(ValueError, match="MEDIAPLANE_CATALOG_S3_ACCESS_KEY"):
        StorageSettings.from_env(service="catalog")
    monkeypatch.setenv("MEDIAPLANE_CATALOG_S3_ACCESS_KEY", "mediaplane-catalog")
    monkeypatch.setenv("MEDIAPLANE_CATALOG_S3_SECRET_KEY", "catalog-secret")

    settings = StorageSettings.from_env(service="catalog")

    assert (settings.access_key, settings.secret_key) == ("mediaplane-catalog", "catalog-secret")
