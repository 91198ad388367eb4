"""The local S3 identities: one key pair per service, made on first use and kept.

The keys live in `<data dir>/seaweedfs/keys.json` (mode 0600, under the
git-ignored data folder), so a restarted server and a restarted platform keep
agreeing. SeaweedFS gets them in its `-s3.config` (`SeaweedFS.s3_config`), the
services as `MEDIAPLANE_<NAME>_S3_ACCESS_KEY` and `..._SECRET_KEY`, with the
grants of `mediaplane.storage.permissions`. The admin (tests, `prepare`) keeps
`StackSettings.s3_admin`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from mediaplane.devstack.settings import StackSettings
from mediaplane.storage.permissions import (
    SERVICES,
    Keys,
    access_key_variable,
    new_keys,
    secret_key_variable,
)


def keys_file(settings: StackSettings) -> Path:
    return settings.data_dir / "seaweedfs" / "keys.json"


def keys(settings: StackSettings) -> dict[str, Keys]:
    """Every service's key pair; generated with `secrets` the first time."""
    path = keys_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    made = {s.name: new_keys(s.name) for s in SERVICES}
    try:
        # O_EXCL: parallel first starts (several test runs) agree on one file.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        kept = {name: Keys(**pair) for name, pair in json.loads(path.read_text()).items()}
        missing = {name: made[name] for name in made if name not in kept}
        if missing:
            # A service added since: its keys join the others (and the server's config
            # changes, which `SeaweedFS.apply_identities` restarts it for).
            kept |= missing
            path.write_text(_dump(kept))
        return kept
    with os.fdopen(fd, "w") as out:
        out.write(_dump(made))
    return made


def _dump(known: dict[str, Keys]) -> str:
    pairs = {
        name: {"access_key": k.access_key, "secret_key": k.secret_key} for name, k in known.items()
    }
    return json.dumps(pairs, indent=2)


def environment(known: dict[str, Keys]) -> dict[str, str]:
    """What the services read: `MEDIAPLANE_<NAME>_S3_ACCESS_KEY` and `..._SECRET_KEY`."""
    env = {}
    for name, pair in known.items():
        env[access_key_variable(name)] = pair.access_key
        env[secret_key_variable(name)] = pair.secret_key
    return env
