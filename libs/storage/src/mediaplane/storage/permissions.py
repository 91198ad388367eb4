"""Who may do what in object storage: one S3 identity per service, least privilege.

This table is the one place the grants are written down, read off each
service's storage calls. The local stack renders its SeaweedFS `-s3.config`
from it, and `deploy/seaweedfs/s3.json` (compose) is the same rendering with
`${VARIABLE}` placeholders for the keys, checked by a test. docs/security.md
shows it for operators who bring another S3 server.

Grants are per bucket kind:

- `Read`: GET and HEAD of objects (also what a presigned GET signed with the
  identity's key may do), ListParts and ListMultipartUploads (also the bucket
  check at start, `ObjectStore.require_buckets`);
- `List`: listing the bucket's objects (and HEAD of the bucket, which S3
  policies count as listing);
- `Write`: PUT (also presigned PUTs and part uploads), the multipart calls
  (SeaweedFS counts them all, abort included, as PutObject), server-side copy
  into the bucket;
- `Delete`: DELETE (one or many), and aborting a multipart upload (what the
  janitor, which never writes, needs).

SeaweedFS's legacy `actions` have no delete of their own (its `Write` covers
DELETE), so each service's identity gets an IAM policy in the same config
(`policies`, attached by `policyNames`) naming the S3 actions of its grants,
which SeaweedFS then enforces alone: a writer without `Delete` gets 403 on
DELETE and on every key of a batch delete.

No service may create, delete or configure a bucket (SeaweedFS asks `Admin`
for that, which on a bucket means every action, policies included): the
platform's buckets are made by the admin before the services start (`just up`,
compose's `s3-init` job, the operator elsewhere), and a service only checks at
start that its own exist.

A grant covers every bucket whose name starts with the kind's (the trailing
`*` of the policy's resources): `originals` and `originals-<run>`, so one
server serves the platform and test platforms beside it with one config. Name
a platform's buckets `<kind>` or `<kind>-<suffix>`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Action = Literal["Read", "List", "Write", "Delete"]

BUCKET_KINDS = ("originals", "renditions", "thumbnails", "variants")


@dataclass(frozen=True, kw_only=True)
class Identity:
    """One service's S3 identity (its name is also its env prefix, `MEDIAPLANE_<NAME>_...`)."""

    name: str
    grants: Mapping[str, tuple[Action, ...]]  # bucket kind -> what it may do there


SERVICES = (
    # api: presigned PUTs and part uploads, multipart create/list parts/complete/abort,
    # the bucket check; verifier: reads the upload, copies it to the immutable key,
    # deletes rejected bytes.
    Identity(name="gateway", grants={"originals": ("Read", "Write", "Delete")}),
    # Presigned GETs (downloads, thumbnails, MP4, waveform, HLS segments) and playlists
    # read to rewrite them: reads only.
    Identity(
        name="catalog",
        grants={"originals": ("Read",), "renditions": ("Read",), "thumbnails": ("Read",)},
    ),
    # Reads the original; writes the ladder, lists it (resumes, retired generations),
    # reads other replicas' chunks back, deletes retired generations.
    Identity(
        name="transcoder",
        grants={"originals": ("Read",), "renditions": ("Read", "List", "Write", "Delete")},
    ),
    # Worker: reads the original, writes thumbnails and deletes stale ones it listed.
    # API: variants from the original, written, presigned for GET, deleted.
    Identity(
        name="thumbnailer",
        grants={
            "originals": ("Read",),
            "thumbnails": ("Read", "List", "Write", "Delete"),
            "variants": ("Read", "Write", "Delete"),
        },
    ),
    # Aborts expired multipart uploads (listing them and their parts), HEADs and deletes
    # what it purges; lists rendition folders. It never writes, so it may not PUT.
    # Variants are the thumbnailer's to delete.
    Identity(
        name="janitor",
        grants={
            "originals": ("Read", "Delete"),
            "renditions": ("Read", "List", "Delete"),
            "thumbnails": ("Read", "Delete"),
        },
    ),
)

# S3's policy actions of each grant: on the bucket's objects, and on the bucket itself.
OBJECT_ACTIONS: Mapping[Action, tuple[str, ...]] = {
    "Read": ("s3:GetObject", "s3:ListMultipartUploadParts"),
    "List": (),
    "Write": (
        "s3:PutObject",
        "s3:CreateMultipartUpload",
        "s3:UploadPart",
        "s3:CompleteMultipartUpload",
        "s3:AbortMultipartUpload",
    ),
    "Delete": ("s3:DeleteObject", "s3:AbortMultipartUpload"),
}
BUCKET_ACTIONS: Mapping[Action, tuple[str, ...]] = {
    "Read": ("s3:ListBucketMultipartUploads",),
    "List": ("s3:ListBucket",),
    "Write": (),
    "Delete": (),
}

# The operators' identity (bucket creation, test fixtures, `just up`'s `prepare`):
# `MEDIAPLANE_S3_ACCESS_KEY` and `MEDIAPLANE_S3_SECRET_KEY`.
ADMIN_ACTIONS = ("Admin", "Read", "List", "Tagging", "Write")


@dataclass(frozen=True, kw_only=True)
class Keys:
    access_key: str
    secret_key: str


def identity(name: str) -> Identity:
    for candidate in SERVICES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no S3 identity {name!r}")


def access_key_variable(name: str | None) -> str:
    """The environment variable of identity `name`'s access key (None: the admin's)."""
    return f"MEDIAPLANE_{name.upper()}_S3_ACCESS_KEY" if name else "MEDIAPLANE_S3_ACCESS_KEY"


def secret_key_variable(name: str | None) -> str:
    """The environment variable of identity `name`'s secret key (None: the admin's)."""
    return f"MEDIAPLANE_{name.upper()}_S3_SECRET_KEY" if name else "MEDIAPLANE_S3_SECRET_KEY"


def new_keys(name: str) -> Keys:
    """A fresh key pair: the access key names the service (it is not a secret)."""
    return Keys(access_key=f"mediaplane-{name}", secret_key=secrets.token_hex(24))


def policy(who: Identity) -> dict[str, Any]:
    """The IAM policy of `who`: the S3 actions of each grant on every bucket of its kind."""
    statements = []
    for kind, granted in who.grants.items():
        for resource, table in ((f"{kind}*/*", OBJECT_ACTIONS), (f"{kind}*", BUCKET_ACTIONS)):
            allowed = [a for action in granted for a in table[action]]
            if allowed:
                statements.append(
                    {"Effect": "Allow", "Action": allowed, "Resource": f"arn:aws:s3:::{resource}"}
                )
    return {"Version": "2012-10-17", "Statement": statements}


def seaweedfs_identity(name: str, keys: Keys, granted: list[str]) -> dict[str, Any]:
    """An identity with SeaweedFS's legacy actions (the admin's, tests' read-only one)."""
    return {
        "name": name,
        "credentials": [{"accessKey": keys.access_key, "secretKey": keys.secret_key}],
        "actions": granted,
    }


def seaweedfs_service(who: Identity, keys: Keys) -> dict[str, Any]:
    """A service's identity: no legacy actions, its policy (named after it) decides."""
    return seaweedfs_identity(who.name, keys, []) | {"policyNames": [who.name]}


def seaweedfs_config(admin: Keys, services: Mapping[str, Keys]) -> dict[str, Any]:
    """SeaweedFS's `-s3.config`: the admin, every service, and the services' policies.

    Without `-s3.config` SeaweedFS accepts every request, signed or not.
    """
    return {
        "identities": [
            seaweedfs_identity("mediaplane", admin, list(ADMIN_ACTIONS)),
            *(seaweedfs_service(s, services[s.name]) for s in SERVICES),
        ],
        "policies": [{"name": s.name, "content": json.dumps(policy(s))} for s in SERVICES],
    }


def placeholder_keys(name: str | None) -> Keys:
    """`${VARIABLE}` in place of each key: what compose's SeaweedFS substitutes at start."""
    return Keys(
        access_key=f"${{{access_key_variable(name)}}}",
        secret_key=f"${{{secret_key_variable(name)}}}",
    )


def config_template() -> dict[str, Any]:
    """The config with placeholders for the keys (deploy/seaweedfs/s3.json)."""
    return seaweedfs_config(
        placeholder_keys(None), {s.name: placeholder_keys(s.name) for s in SERVICES}
    )
