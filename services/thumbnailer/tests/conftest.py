"""Fixtures: a thumbnailer wired to this test's own database, buckets and JetStream names."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from mediaplane.bus import BusSettings
from mediaplane.bus.testing import namespaced_settings
from mediaplane.contracts import EventContext, FileVerified, new_event, new_event_id, utc_now
from mediaplane.devstack.pytest_plugin import NatsNamespace, bucket_admin
from mediaplane.devstack.settings import StackSettings
from mediaplane.storage import ObjectStore, StorageSettings
from mediaplane.thumbnailer.app.bootstrap import Resources, apply_migrations, open_resources
from mediaplane.thumbnailer.config import ThumbnailerSettings, VariantSettings


def bus_settings(namespace: NatsNamespace) -> BusSettings:
    return namespaced_settings(namespace)


def storage_settings(stack: StackSettings) -> StorageSettings:
    return stack.storage_settings()


@pytest.fixture
def thumbs_bucket(stack: StackSettings, s3_bucket: str) -> Iterator[str]:
    """The thumbnailer's own bucket (the admin's to create: its bootstrap only checks for
    it), removed after the test.

    `s3_bucket` plays the gateway's `originals`.
    """
    name = f"{s3_bucket}-thumbs"
    bucket_admin(stack).ensure(name)
    yield name
    bucket_admin(stack).empty_and_remove(name)


@pytest.fixture
def variants_bucket(stack: StackSettings, s3_bucket: str) -> Iterator[str]:
    """The variants API's bucket (the admin's to create as well), removed after the test."""
    name = f"{s3_bucket}-variants"
    bucket_admin(stack).ensure(name)
    yield name
    bucket_admin(stack).empty_and_remove(name)


@pytest.fixture
def make_settings(
    stack: StackSettings,
    pg_url: str,
    nats_namespace: NatsNamespace,
    s3_bucket: str,
    thumbs_bucket: str,
    variants_bucket: str,
    tmp_path: Path,
) -> Callable[..., ThumbnailerSettings]:
    work_dir = tmp_path / "work"  # where jobs download: tests check nothing is left there
    work_dir.mkdir()

    def build(**overrides: Any) -> ThumbnailerSettings:
        fields: dict[str, Any] = {
            "database_url": pg_url,
            "bus": bus_settings(nats_namespace),
            "storage": storage_settings(stack),
            "bucket": thumbs_bucket,
            "originals_bucket": s3_bucket,
            "variants": VariantSettings(bucket=variants_bucket),
            "concurrency": 2,
            "work_dir": str(work_dir),
            **overrides,
        }
        return ThumbnailerSettings(**fields)

    return build


@pytest.fixture
async def settings(make_settings: Callable[..., ThumbnailerSettings]) -> ThumbnailerSettings:
    built = make_settings()
    await apply_migrations(built)
    return built


@pytest.fixture
async def resources(settings: ThumbnailerSettings) -> AsyncIterator[Resources]:
    async with open_resources(settings, pool_size=4) as built:
        yield built


@pytest.fixture
def objects(stack: StackSettings) -> ObjectStore:
    """The test's own S3 client (uploads originals, reads thumbnails back)."""
    return ObjectStore(storage_settings(stack))


Verified = Callable[..., Awaitable[FileVerified]]


@pytest.fixture
def verified(objects: ObjectStore, s3_bucket: str) -> Verified:
    """`await verified(data, media_type, kind, upload=True, file_id=None, owner="alice")`: the
    original in the originals bucket and the `file.verified.v1` the gateway's verifier would
    publish."""

    async def make(
        data: bytes,
        media_type: str,
        kind: str,
        *,
        upload: bool = True,
        file_id: uuid.UUID | None = None,
        owner: str = "alice",
    ) -> FileVerified:
        file_id = file_id or new_event_id()
        key = f"{owner}/{file_id}"
        if upload:
            await objects.put_bytes(s3_bucket, key, data, content_type=media_type)
        return new_event(
            FileVerified,
            occurred_at=utc_now(),
            stream_id=f"file-{file_id}",
            context=EventContext(producer="upload-gateway", correlation_id=str(uuid.uuid4())),
            file_id=file_id,
            owner=owner,
            bucket=s3_bucket,
            object_key=key,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            media_type=media_type,
            kind=kind,
        )

    return make


Rows = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def rows(settings: ThumbnailerSettings) -> Rows:
    """`rows(sql, *params)`: what the thumbnailer's database holds, as dicts."""

    def query(sql: str, *params: Any) -> list[dict[str, Any]]:
        with psycopg.connect(settings.database_url, row_factory=dict_row) as conn:
            return conn.execute(sql, params).fetchall()

    return query
