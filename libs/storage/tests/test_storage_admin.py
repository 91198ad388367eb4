"""BucketAdmin: the blocking facade the devstack and test fixtures use, on the real SeaweedFS."""

from __future__ import annotations

import pytest

from mediaplane.devstack.settings import StackSettings
from mediaplane.storage import AccessDenied, BucketAdmin, ObjectStore, StorageSettings

pytestmark = pytest.mark.integration


async def test_a_bucket_is_created_once_and_removed_with_objects_and_uploads(
    stack: StackSettings, store: ObjectStore, s3_bucket: str
) -> None:
    admin = BucketAdmin(stack.storage_settings())
    name = f"{s3_bucket}-admin"

    assert (admin.ensure(name), admin.ensure(name)) == (True, False)
    admin.put(name, "a/b", b"hello")
    await store.create_multipart_upload(name, "big")
    assert admin.stat(name, "a/b").size == 5

    admin.empty_and_remove(name)
    admin.empty_and_remove(name)  # a missing bucket: nothing to do

    assert admin.exists(name) is False


def test_a_read_only_identity_may_not_create_buckets(stack: StackSettings, s3_bucket: str) -> None:
    readonly = BucketAdmin(
        StorageSettings.from_urls(
            stack.s3_endpoint,
            access_key=stack.s3_readonly.access_key,
            secret_key=stack.s3_readonly.secret_key,
            region=stack.s3_region,
        )
    )

    with pytest.raises(AccessDenied):
        readonly.ensure(f"{s3_bucket}-denied")
    with pytest.raises(AccessDenied):
        readonly.put(s3_bucket, "k", b"x")
    assert readonly.exists(s3_bucket) is True
