"""Downloads through the catalog's presigned URLs, interrupted and resumed with Range."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mediaplane.client import MediaplaneError, download_file, upload_file

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


class _Cut(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, limit: int) -> None:
        self._stream = stream
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        left = self._limit
        async for chunk in self._stream:
            yield chunk[:left]
            left -= min(left, len(chunk))
            if not left:
                raise RuntimeError("simulated crash")

    async def aclose(self) -> None:
        await self._stream.aclose()


class Storage(httpx.AsyncBaseTransport):
    """Records the requests to object storage; with `crash_after`, the download's body
    stops there with a crash (not a network error, which the client would retry)."""

    def __init__(self, crash_after: int | None = None) -> None:
        self._network = httpx.AsyncHTTPTransport()
        self._crash_after = crash_after
        self.gets: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._network.handle_async_request(request)
        if "X-Amz-Signature" not in request.url.params:
            return response
        self.gets.append(request)
        if self._crash_after is None:
            return response
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_Cut(response.stream, self._crash_after),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._network.aclose()


async def _ready_file(platform: Any, make_client: Any, make_file: Any, tmp_path: Path) -> Any:
    path = make_file(3 * MiB)
    completion = await upload_file(make_client(), path, state_path=tmp_path / "state.json")
    await platform.settle()
    return path, completion.file_id


async def test_an_interrupted_download_resumes_with_a_range_request(
    platform: Any, make_client: Any, make_file: Any, tmp_path: Path
) -> None:
    source, file_id = await _ready_file(platform, make_client, make_file, tmp_path)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    partial = downloads / "photo.png.part"
    cut = MiB + 17

    with pytest.raises(RuntimeError, match="simulated crash"):
        await download_file(make_client(Storage(crash_after=cut)), file_id, downloads)
    assert partial.stat().st_size == cut
    assert not (downloads / "photo.png").exists()

    storage = Storage()
    saved = await download_file(make_client(storage), file_id, downloads)

    assert saved == downloads / "photo.png"
    assert saved.read_bytes() == source.read_bytes()
    assert not partial.exists()
    assert [r.headers.get("range") for r in storage.gets] == [f"bytes={cut}-"]


async def test_a_corrupted_partial_file_fails_the_checksum_and_is_discarded(
    platform: Any, make_client: Any, make_file: Any, tmp_path: Path
) -> None:
    source, file_id = await _ready_file(platform, make_client, make_file, tmp_path)
    target = tmp_path / "copy.png"
    partial = tmp_path / "copy.png.part"
    partial.write_bytes(b"not the start of the object")

    with pytest.raises(MediaplaneError) as mismatch:
        await download_file(make_client(), file_id, target)

    assert mismatch.value.code == "checksum_mismatch"
    assert not partial.exists()
    assert not target.exists()
    # The next run starts from scratch and succeeds.
    assert (await download_file(make_client(), file_id, target)).read_bytes() == (
        source.read_bytes()
    )


async def test_files_that_are_not_ready_do_not_download(
    platform: Any, make_client: Any, tmp_path: Path
) -> None:
    path = tmp_path / "fake.png"
    path.write_bytes(b"plain text, not an image\n" * 40)  # the verifier rejects its type
    client = make_client()
    completion = await upload_file(client, path, state_path=tmp_path / "state.json")
    await platform.settle()

    with pytest.raises(MediaplaneError) as refused:
        await download_file(client, completion.file_id, tmp_path)

    assert refused.value.code == "not_downloadable"
    assert "rejected" in refused.value.detail
