"""The minio SDK client, configured once for ObjectStore and BucketAdmin."""

from __future__ import annotations

import os

import urllib3
from minio import Minio

from mediaplane.storage.settings import Endpoint, StorageSettings


def sdk_client(endpoint: Endpoint, settings: StorageSettings) -> Minio:
    pool = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=settings.connect_timeout, read=settings.read_timeout),
        maxsize=settings.max_connections,
        # urllib3 retries 5xx only for idempotent methods, never POST (complete).
        retries=urllib3.Retry(
            total=settings.retries, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
        ),
        ca_certs=os.environ.get("SSL_CERT_FILE"),
    )
    # An explicit region keeps presigning (and bucket calls) from first asking
    # the server for the bucket's location.
    return Minio(
        endpoint.host,
        access_key=settings.access_key,
        secret_key=settings.secret_key,
        secure=endpoint.secure,
        region=settings.region,
        http_client=pool,
    )
