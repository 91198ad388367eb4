"""Fixtures: ObjectStores on the local SeaweedFS, and an HTTP client playing the uploader."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from mediaplane.devstack.settings import StackSettings
from mediaplane.storage import ObjectStore, StorageSettings
from mediaplane.storage.permissions import Keys
from mediaplane.storage.settings import MAX_COPY_PART


@pytest.fixture
def make_store(stack: StackSettings) -> Callable[..., ObjectStore]:
    """An ObjectStore for the stack with other credentials, public endpoint or copy threshold."""

    def make(
        identity: Keys | None = None,
        public_endpoint: str | None = None,
        multipart_copy_threshold: int = MAX_COPY_PART,
    ) -> ObjectStore:
        identity = identity or stack.s3_admin
        settings = StorageSettings.from_urls(
            stack.s3_endpoint,
            access_key=identity.access_key,
            secret_key=identity.secret_key,
            region=stack.s3_region,
            public_endpoint=public_endpoint,
            multipart_copy_threshold=multipart_copy_threshold,
        )
        return ObjectStore(settings)

    return make


@pytest.fixture
def store(make_store: Callable[..., ObjectStore]) -> ObjectStore:
    return make_store()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The browser or app: it only ever sees presigned URLs."""
    async with httpx.AsyncClient(timeout=30) as client:
        yield client
