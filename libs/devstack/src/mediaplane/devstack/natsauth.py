"""The local NATS identities: one password per identity, made on first use and kept.

The passwords live in `<data dir>/nats/passwords.json` (mode 0600, under the
git-ignored data folder), so a restarted server and a restarted platform keep
agreeing. nats-server gets them as environment variables, which the
`authorization` block from `mediaplane.bus.permissions` names; the services
get theirs as `MEDIAPLANE_<NAME>_NATS_PASSWORD`; tests and the devstack's own
checks use the admin identity in the URL (`admin_url`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from mediaplane.bus import BusSettings
from mediaplane.bus.permissions import (
    ADMIN,
    DEAD_LETTERS,
    SERVICES,
    new_password,
    password_variable,
)
from mediaplane.devstack.settings import StackSettings

IDENTITIES = (ADMIN, *(service.name for service in SERVICES), DEAD_LETTERS)
# The login of a cluster's nodes on each other's route port (`just up --cluster`):
# without one, anyone reaching a route port would bypass every permission.
ROUTE = "route"


def passwords_file(settings: StackSettings) -> Path:
    return settings.data_dir / "nats" / "passwords.json"


def passwords(settings: StackSettings) -> dict[str, str]:
    """Every identity's password; generated with `secrets` the first time."""
    path = passwords_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    made = {name: new_password() for name in (*IDENTITIES, ROUTE)}
    try:
        # O_EXCL: parallel first starts (several test runs) agree on one file.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        kept: dict[str, str] = json.loads(path.read_text())
        missing = {name: made[name] for name in made if name not in kept}
        if missing:
            # A service added since: its password joins the others. Names this
            # table lacks are kept (another checkout's server may still use them).
            kept |= missing
            path.write_text(json.dumps(kept, indent=2))
        return kept
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(made, indent=2))
    return made


def server_environment(known: dict[str, str]) -> dict[str, str]:
    """What nats-server needs to resolve the `$MEDIAPLANE_<NAME>_NATS_PASSWORD` references."""
    return {password_variable(name): password for name, password in known.items()}


def url_with_identity(url: str, user: str, password: str) -> str:
    """`nats://user:password@host:port` (nats-py reads the identity from the URL), for
    each server of a comma-separated list."""

    def one(server: str) -> str:
        parts = urlsplit(server.strip())
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit(
            parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}")
        )

    return ",".join(one(server) for server in url.split(","))


def admin_url(settings: StackSettings) -> str:
    """The admin's URL of the stack's NATS: the test identity, may do anything.

    For an external server (`MEDIAPLANE_NATS_URL`) the operator's identity is
    `MEDIAPLANE_NATS_USER` and `MEDIAPLANE_NATS_PASSWORD` (as for
    `python -m mediaplane.bus dlq`), or none.
    """
    if not settings.managed["nats"]:
        operator = BusSettings.from_env()
        if operator.user is None or operator.password is None:
            return settings.nats_url
        return url_with_identity(settings.nats_url, operator.user, operator.password)
    return url_with_identity(settings.nats_url, ADMIN, passwords(settings)[ADMIN])
