"""The events as an AsyncAPI 3 document, generated from the registry (`just schemas`).

One channel per registered event version (its JetStream subject `media.<tag>`,
or `beacon.<tag>` for the beacon stream's), its message with the payload's JSON
Schema (from msgspec, as in contracts/schemas) and the committed example, and one
`send` operation per channel for the service that produces it. Committed as
contracts/asyncapi.json.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from mediaplane.contracts import headers
from mediaplane.contracts.beacons import BEACON_REGISTRY
from mediaplane.contracts.examples import build_examples
from mediaplane.contracts.registry import Registry

# The service that publishes each event family (the tag's first segment). The bus's
# NATS permissions grant exactly these (libs/bus permissions.py, checked by its tests).
PRODUCERS = {
    "upload": "upload-gateway",
    "file": "upload-gateway",
    "tag": "upload-gateway",
    "transcode": "transcoder",
    "thumbnail": "thumbnailer",
    "variant": "thumbnailer",
    "metadata": "thumbnailer",
    "janitor": "janitor",
    "user": "identity",
    "playback": "analytics",
    "deadletter": "upload-gateway",
}

_HEADERS = {
    "type": "object",
    "properties": {
        headers.MSG_ID: {
            "type": "string",
            "format": "uuid",
            "description": "= event_id: JetStream drops a re-publish within its duplicate window",
        },
        headers.EVENT_TYPE: {"type": "string", "description": "the event tag (`type`)"},
        headers.STREAM_ID: {"type": "string", "description": "the event's stream_id"},
        headers.CORRELATION_ID: {"type": "string"},
        headers.CAUSATION_ID: {"type": "string"},
        headers.PRODUCER: {"type": "string", "description": "the producing service"},
        "traceparent": {"type": "string", "description": "W3C trace context"},
    },
    "required": [headers.MSG_ID, headers.EVENT_TYPE],
}


def producer_of(tag: str) -> str:
    family = tag.split(".", 1)[0]
    try:
        return PRODUCERS[family]
    except KeyError:
        raise ValueError(f"no producing service for event family {family!r} ({tag})") from None


def asyncapi_document(
    registry: Registry, side: Sequence[Registry] = (BEACON_REGISTRY,)
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every event version in `registry` and in the `side`
    streams' registries (the beacons: their own stream and subject root)."""
    owner_of = {tag: r for r in (registry, *side) for tag in r.tags}
    classes = {tag: r.class_for(tag) for tag, r in owner_of.items()}
    tags = sorted(classes)
    _, schemas = msgspec.json.schema_components(
        [classes[tag] for tag in tags], ref_template="#/components/schemas/{name}"
    )
    examples = {example.tag(): registry.to_builtins(example) for example in build_examples()}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for tag in tags:
        cls = classes[tag]
        latest = owner_of[tag].latest_tag(tag)
        summary = (cls.__doc__ or tag).strip().splitlines()[0]
        description = (
            f"Superseded by {latest}: readers receive it upcast to that version."
            if latest != tag
            else None
        )
        message: dict[str, Any] = {
            "name": tag,
            "title": tag,
            "summary": summary,
            "contentType": "application/json",
            "headers": _HEADERS,
            "payload": {"$ref": f"#/components/schemas/{cls.__name__}"},
        }
        if description:
            message["description"] = description
        if tag in examples:
            message["examples"] = [{"name": tag, "payload": examples[tag]}]
        messages[tag] = message
        channels[tag] = {
            "address": owner_of[tag].subject(tag),
            "title": tag,
            "messages": {tag: {"$ref": f"#/components/messages/{tag}"}},
        }
        producer = producer_of(tag)
        operations[f"{producer}.send.{tag}"] = {
            "action": "send",
            "title": f"{producer} publishes {tag}",
            "channel": {"$ref": f"#/channels/{tag}"},
            "messages": [{"$ref": f"#/channels/{tag}/messages/{tag}"}],
            "tags": [{"name": producer}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "mediaplane events",
            "version": "1.0.0",
            "description": (
                "Every event version on the JetStream stream of the platform, as its"
                f" producers publish it: subject `{registry.subject_root}.<type>`, a JSON body"
                " with the common envelope (event_id, occurred_at, stream_id, producer,"
                " correlation_id, causation_id) and the event's fields. A published version"
                " never changes; a new one comes with an upcaster."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "nats": {
                "host": "nats:4222",
                "protocol": "nats",
                "description": (
                    "NATS JetStream as compose and Kubernetes name it (the local stack's"
                    " listens on 127.0.0.1:24222); every client logs in"
                ),
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "messages": messages,
        },
    }
