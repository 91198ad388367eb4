"""Who may do what in object storage: one S3 identity per service, least privilege.

This table is the one place the grants are written down, read off each
service's storage calls. The local stack renders its SeaweedFS `-s3.config`
from it, and `deploy/seaweedfs/s3.json` (compose) is the same rendering with
`${VARIABLE}` placeholders for the keys, checked by a test. docs/security.md
shows it for operators who bring another S3 server.

Grants are per bucket kind, in SeaweedFS's actions:

- `Read`: GET and HEAD of objects (also what a presigned GET signed with the
  identity's key may do), HEAD of the bucket, ListParts and ListMultipartUploads;
- `List`: listing the bucket's objects;
- `Write`: PUT (also presigned PUTs and part uploads), the multipart calls,
  server-side copy into the bucket, DELETE (one or many).

SeaweedFS has no separate delete action: who writes a bucket may delete in it.
No service may create, delete or configure a bucket (SeaweedFS asks `Admin`
for that, which on a bucket means every action, policies included): the
platform's buckets are made by the admin before the services start (`just up`,
compose's `s3-init` job, the operator elsewhere), and a service only checks at
start that its own exist.

A grant covers every bucket whose name starts with the kind's (SeaweedFS's
trailing `*`): `originals` and `originals-<run>`, so one server serves the
platform and test platforms beside it with one config. Name a platform's
buckets `<kind>` or `<kind>-<suffix>`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Action = Literal["Read", "List", "Write"]

BUCKET_KINDS = ("originals", "renditions", "thumbnails", "variants")


@dataclass(frozen=True, kw_only=True)
class Identity:
    """One service's S3 identity (its name is also its env prefix, `MEDIAPLANE_<NAME>_...`)."""

    name: str
    grants: Mapping[str, tuple[Action, ...]]  # bucket kind -> what it may do there


SERVICES = (
    # api: presigned PUTs and part uploads, multipart create/list parts/complete/abort,
    # HEAD of the upload; verifier: reads it, copies it to the immutable key, deletes
    # rejected bytes.
    Identity(name="gateway", grants={"originals": ("Read", "Write")}),
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
        grants={"originals": ("Read",), "renditions": ("Read", "List", "Write")},
    ),
    # Worker: reads the original, writes thumbnails and deletes stale ones it listed.
    # API: variants from the original, written, presigned for GET, deleted. `Read` on
    # thumbnails: the bucket check at start (HEAD of the bucket).
    Identity(
        name="thumbnailer",
        grants={
            "originals": ("Read",),
            "thumbnails": ("Read", "List", "Write"),
            "variants": ("Read", "Write"),
        },
    ),
    # Aborts expired multipart uploads (listing them and their parts), HEADs and deletes
    # what it purges; lists rendition folders. Variants are the thumbnailer's to delete.
    Identity(
        name="janitor",
        grants={
            "originals": ("Read", "Write"),
            "renditions": ("Read", "List", "Write"),
            "thumbnails": ("Read", "Write"),
        },
    ),
)

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


def actions(who: Identity) -> list[str]:
    """SeaweedFS's actions of `who`: each grant on every bucket named after its kind."""
    return [f"{action}:{kind}*" for kind, granted in who.grants.items() for action in granted]


def seaweedfs_identity(name: str, keys: Keys, granted: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "credentials": [{"accessKey": keys.access_key, "secretKey": keys.secret_key}],
        "actions": granted,
    }


def seaweedfs_config(admin: Keys, services: Mapping[str, Keys]) -> dict[str, Any]:
    """SeaweedFS's `-s3.config`: the admin, and every service with its grants.

    Without `-s3.config` SeaweedFS accepts every request, signed or not.
    """
    return {
        "identities": [
            seaweedfs_identity("mediaplane", admin, list(ADMIN_ACTIONS)),
            *(seaweedfs_identity(s.name, services[s.name], actions(s)) for s in SERVICES),
        ]
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
