"""Who may do what on the bus: one NATS identity per service, least privilege.

This table is the one place the permissions are written down. The local
stack renders its nats-server config from it, and `deploy/nats/auth.conf`
(compose, and the NATS of a Kubernetes cluster) is the same rendering, checked
by a test. Passwords are never in the config: it names an environment variable
per identity (`MEDIAPLANE_<NAME>_NATS_PASSWORD`), which nats-server resolves
when it starts; a missing variable stops it.

A service may publish only its own event families (`media.<family>.>`), the
dead letters of its own durable consumers (`dlq.<durable>.>`), and the
JetStream API requests and acks those consumers need; it may subscribe only
to its own inbox (`_INBOX_<name>.>`, see `BusSettings.connect_options`), so it
cannot read core traffic meant for another. The admin identity (operators,
`python -m mediaplane.bus dlq`, the test suites) may do anything.

`deadletters` is not a service but the admin dead-letter API's identity (the
gateway's `api` role holds it; docs/adr/0007): it reads and deletes messages of
the DLQ stream and republishes them on event subjects, and nothing else. It may
publish on every event subject because a dead letter may come from any of them;
what it republishes is only ever bytes read back from the DLQ.

Trade-off: services provision the two streams at start (`Bus.running`,
catalog ingest), so they may create and update `MEDIA` and `DLQ`, but never
delete or purge a stream, delete messages or delete consumers. Moving
provisioning to an admin job would drop `STREAM.CREATE/UPDATE` too.
Reading: JetStream consumers of the event stream see every subject they
filter on; a service's durables are fixed here, but the catalog (which
projects every event) may also create short-lived replay consumers.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from mediaplane.bus.settings import BusSettings, inbox_prefix

ADMIN = "admin"
DEAD_LETTERS = "deadletters"


@dataclass(frozen=True, kw_only=True)
class Identity:
    """One service's NATS user (its name is also its env prefix, `MEDIAPLANE_<NAME>_...`)."""

    name: str
    families: tuple[str, ...]  # event families it publishes: `media.<family>.>`
    durables: tuple[str, ...]  # its durable consumers on the event stream
    reads_by_sequence: bool = False  # gets single messages of the event stream by sequence
    replays: bool = False  # creates short-lived (ephemeral) consumers to replay the log
    # A stream of its own besides the event log (analytics: `BEACONS` on `beacon.>`): it
    # provisions it, publishes to it, consumes it with these durables and replays it.
    side_stream: str | None = None
    side_subject_root: str | None = None
    side_durables: tuple[str, ...] = ()


SERVICES = (
    Identity(
        name="gateway",
        # `deadletter`: the audit events of the admin dead-letter API it hosts.
        families=("upload", "file", "tag", "deadletter"),
        # The verifier, and the projection of accounts (`user.*`: status and plan).
        durables=("upload-gateway-verifier", "upload-gateway-accounts"),
    ),
    Identity(name="catalog", families=(), durables=("catalog-ingest",), replays=True),
    Identity(
        name="transcoder",
        families=("transcode",),
        # Jobs, and the chunks of long videos (a work queue every replica shares).
        durables=("transcoder-file-verified", "transcoder-chunks"),
    ),
    Identity(
        name="thumbnailer",
        families=("thumbnail", "variant", "metadata"),
        durables=(
            "thumbnailer-file-verified",
            "thumbnailer-variant-sources",
            "thumbnailer-metadata",
            "thumbnailer-accounts",  # `user.*`: the variants API refuses blocked accounts
        ),
    ),
    Identity(
        name="janitor",
        families=("janitor",),
        durables=("janitor-projection",),
        reads_by_sequence=True,
    ),
    # Accounts: publishes its outbox only, consumes nothing.
    Identity(name="identity", families=("user",), durables=()),
    # Playback analytics: reads file facts, owns the beacon stream (not part of `MEDIA`).
    Identity(
        name="analytics",
        families=(),
        durables=("analytics-files",),
        side_stream="BEACONS",
        side_subject_root="beacon",
        side_durables=("analytics-rollup",),
    ),
)


def identity(name: str) -> Identity:
    for candidate in SERVICES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no NATS identity {name!r}")


def password_variable(name: str) -> str:
    """The environment variable holding identity `name`'s password."""
    return f"MEDIAPLANE_{name.upper()}_NATS_PASSWORD"


def new_password() -> str:
    """A password nats-server reads back as the same string.

    nats-server parses a `$VAR`'s value like a config value: `12345` becomes
    a number, `10GB` a size, `-x` fails. A letter, then hex digits, is always
    a string. Passwords chosen by operators must follow the same rule.
    """
    return f"p{secrets.token_hex(32)}"


def publish_allowed(who: Identity, settings: BusSettings) -> list[str]:
    """Subjects `who` may publish to (everything else is refused by the server)."""
    events, dlq = settings.stream, settings.dlq_stream
    api = "$JS.API"
    allowed = [f"{settings.subject_root}.{family}.>" for family in who.families]
    allowed += [
        f"{api}.INFO",
        # Provisioning at start (see the module's trade-off): create/update, never delete.
        *(
            f"{api}.STREAM.{verb}.{s}"
            for s in (events, dlq)
            for verb in ("INFO", "CREATE", "UPDATE")
        ),
    ]
    for durable in who.durables:
        allowed += [
            f"{api}.CONSUMER.CREATE.{events}.{durable}",
            f"{api}.CONSUMER.CREATE.{events}.{durable}.>",  # with its filter subject
            f"{api}.CONSUMER.DURABLE.CREATE.{events}.{durable}",
            f"{api}.CONSUMER.INFO.{events}.{durable}",
            f"{api}.CONSUMER.MSG.NEXT.{events}.{durable}",
            f"$JS.ACK.{events}.{durable}.>",
            f"{settings.dlq_subject_root}.{durable}.>",
        ]
    if who.replays:
        allowed += [
            f"{api}.CONSUMER.CREATE.{events}",
            f"{api}.CONSUMER.CREATE.{events}.>",
            f"{api}.CONSUMER.INFO.{events}.*",
            f"{api}.CONSUMER.MSG.NEXT.{events}.*",
        ]
    if who.reads_by_sequence:
        allowed.append(f"{api}.STREAM.MSG.GET.{events}")
    if who.side_stream and who.side_subject_root:
        side = who.side_stream
        allowed += [
            f"{who.side_subject_root}.>",
            *(f"{api}.STREAM.{verb}.{side}" for verb in ("INFO", "CREATE", "UPDATE")),
            # Its replay (`analytics rebuild`): ephemeral consumers of its own stream only.
            f"{api}.CONSUMER.CREATE.{side}",
            f"{api}.CONSUMER.CREATE.{side}.>",
            f"{api}.CONSUMER.INFO.{side}.*",
            f"{api}.CONSUMER.MSG.NEXT.{side}.*",
        ]
        for durable in who.side_durables:
            allowed += [
                f"{api}.CONSUMER.DURABLE.CREATE.{side}.{durable}",
                f"$JS.ACK.{side}.{durable}.>",
                f"{settings.dlq_subject_root}.{durable}.>",
            ]
    return allowed


def permissions(who: Identity, settings: BusSettings) -> dict[str, Any]:
    """The `permissions` block of `who`'s user in nats-server's `authorization`."""
    return {
        "publish": {"allow": publish_allowed(who, settings)},
        "subscribe": {"allow": [f"{inbox_prefix(who.name)}.>"]},
    }


def dead_letter_permissions(settings: BusSettings) -> dict[str, Any]:
    """The admin dead-letter API's block: list, read and delete DLQ messages, redrive."""
    api, dlq = "$JS.API", settings.dlq_stream
    return {
        "publish": {
            "allow": [
                f"{api}.STREAM.INFO.{dlq}",
                f"{api}.STREAM.MSG.GET.{dlq}",
                f"{api}.STREAM.MSG.DELETE.{dlq}",
                # A redrive: the parked message on its original subject, into the event stream.
                settings.subjects,
            ]
        },
        "subscribe": {"allow": [f"{inbox_prefix(DEAD_LETTERS)}.>"]},
    }


def render_auth_config(settings: BusSettings | None = None) -> str:
    """nats-server's `authorization` block: the admin and every service, passwords by variable.

    Subjects are JSON strings (valid in NATS's config syntax, and `$JS...`
    must be quoted to not read as a variable); passwords are bare `$VAR`
    references, resolved from nats-server's environment.
    """
    settings = settings or BusSettings()
    lines = [
        "# Generated from libs/bus/src/mediaplane/bus/permissions.py",
        "# (python -m mediaplane.bus auth-config); tests check it matches.",
        "authorization {",
        "  users = [",
        f"    {{user: {ADMIN}, password: ${password_variable(ADMIN)}}}",
    ]
    for who in SERVICES:
        block = json.dumps(permissions(who, settings), indent=2).replace("\n", "\n      ")
        lines.append(
            f"    {{user: {who.name}, password: ${password_variable(who.name)}, "
            f"permissions: {block}}}"
        )
    block = json.dumps(dead_letter_permissions(settings), indent=2).replace("\n", "\n      ")
    lines.append(
        f"    {{user: {DEAD_LETTERS}, password: ${password_variable(DEAD_LETTERS)}, "
        f"permissions: {block}}}"
    )
    lines += ["  ]", "}", ""]
    return "\n".join(lines)
