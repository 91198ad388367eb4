"""Object storage tools for operators.

`python -m mediaplane.storage s3-config`: print SeaweedFS's `-s3.config` with
`${VARIABLE}` placeholders for the keys (the committed `deploy/seaweedfs/s3.json`).

`python -m mediaplane.storage new-keys`: a fresh key pair for every service's
S3 identity, as `VARIABLE=value` lines (`just compose-env` appends them to `.env`).

`python -m mediaplane.storage ensure-buckets NAME...`: create the buckets that do
not exist yet, as the admin (`MEDIAPLANE_S3_*`): services may not create buckets.
"""

from __future__ import annotations

import argparse
import json

from mediaplane.storage.admin import BucketAdmin
from mediaplane.storage.permissions import (
    SERVICES,
    access_key_variable,
    config_template,
    new_keys,
    secret_key_variable,
)
from mediaplane.storage.settings import StorageSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mediaplane.storage")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("s3-config", help="print SeaweedFS's -s3.config with key placeholders")
    sub.add_parser("new-keys", help="print a new key pair for every service's S3 identity")
    ensure = sub.add_parser("ensure-buckets", help="create missing buckets, as the admin")
    ensure.add_argument("buckets", nargs="+", metavar="NAME")
    args = parser.parse_args(argv)
    if args.command == "s3-config":
        print(json.dumps(config_template(), indent=2))
        return 0
    if args.command == "new-keys":
        for service in SERVICES:
            keys = new_keys(service.name)
            print(f"{access_key_variable(service.name)}={keys.access_key}")
            print(f"{secret_key_variable(service.name)}={keys.secret_key}")
        return 0
    admin = BucketAdmin(StorageSettings.from_env())
    for bucket in args.buckets:
        print(f"bucket {bucket}: {'created' if admin.ensure(bucket) else 'exists'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
