"""`BucketAdmin`: blocking bucket housekeeping for tools and tests, no event loop needed.

The local platform and the test fixtures create, probe, empty and remove
buckets from synchronous code (server readiness checks, pytest fixtures,
`just up`). They go through this facade so that the SDK stays inside this
package; services use the async `ObjectStore`.
"""

from __future__ import annotations

from mediaplane.storage import multipart, objects
from mediaplane.storage.errors import translated_errors
from mediaplane.storage.models import ObjectInfo
from mediaplane.storage.sdk import sdk_client
from mediaplane.storage.settings import StorageSettings


class BucketAdmin:
    def __init__(self, settings: StorageSettings) -> None:
        self._client = sdk_client(settings.endpoint, settings)

    def exists(self, bucket: str) -> bool:
        with translated_errors():
            return self._client.bucket_exists(bucket)

    def ensure(self, bucket: str) -> bool:
        """Create the bucket unless it exists; True when this call created it."""
        with translated_errors():
            if self._client.bucket_exists(bucket):
                return False
            objects.ensure_bucket(self._client, bucket)
            return True

    def put(self, bucket: str, key: str, data: bytes) -> str:
        """Write a small object; returns its ETag."""
        with translated_errors():
            return objects.put_bytes(
                self._client,
                bucket,
                key,
                data,
                content_type="application/octet-stream",
                metadata=None,
            )

    def stat(self, bucket: str, key: str) -> ObjectInfo:
        with translated_errors():
            return objects.stat_object(self._client, bucket, key)

    def empty_and_remove(self, bucket: str) -> None:
        """Abort its multipart uploads, delete its objects, remove it (if it exists)."""
        with translated_errors():
            if not self._client.bucket_exists(bucket):
                return
            for upload in multipart.list_uploads(self._client, bucket):
                multipart.abort_upload(self._client, bucket, upload.key, upload.upload_id)
            listed = objects.list_objects(self._client, bucket, "")
            objects.delete_objects(self._client, bucket, [o.key for o in listed])
            self._client.remove_bucket(bucket)
