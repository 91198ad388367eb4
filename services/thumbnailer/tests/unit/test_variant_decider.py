"""The variant decider: one outcome per variant until an admin's re-run drops it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from mediaplane.contracts import Event, EventContext, VariantDropped, VariantGenerated
from mediaplane.domain import CommandContext
from mediaplane.thumbnailer.domain.variant import (
    VARIANT_DECIDER,
    DropVariant,
    Made,
    RecordVariant,
    VariantState,
)

FILE = uuid.uuid4()
SHA = "d" * 64
SPEC = "fit-320x320.webp"
CONTEXT = CommandContext(
    now=datetime(2026, 12, 6, 9, 0, tzinfo=UTC),
    cause=EventContext(producer="thumbnailer", correlation_id="c-1", causation_id="e-1"),
)
MADE = Made(bucket="variants", key=f"{SHA}/{SPEC}", width=320, height=240, format="webp", size=9)
RECORD = RecordVariant(file_id=FILE, sha256=SHA, spec=SPEC, made=MADE, context=CONTEXT)
DROP = DropVariant(
    file_id=FILE, sha256=SHA, spec=SPEC, made=MADE, requested_by="root", context=CONTEXT
)


def given(*events: Event) -> VariantState:
    state = VARIANT_DECIDER.initial_state
    for event in events:
        state = VARIANT_DECIDER.evolve(state, event)
    return state


def test_a_dropped_variant_is_made_again_and_a_second_drop_finds_nothing() -> None:
    [generated] = VARIANT_DECIDER.decide(RECORD, given())
    assert isinstance(generated, VariantGenerated)
    assert VARIANT_DECIDER.decide(RECORD, given(generated)) == []  # made once
    [dropped] = VARIANT_DECIDER.decide(DROP, given(generated))
    assert isinstance(dropped, VariantDropped)
    assert (dropped.stream_id, dropped.key, dropped.requested_by) == (
        f"variant-{SHA}-{SPEC}",
        MADE.key,
        "root",
    )
    assert dropped.causation_id == "e-1"
    assert VARIANT_DECIDER.decide(DROP, given(generated, dropped)) == []  # a redelivery
    [again] = VARIANT_DECIDER.decide(RECORD, given(generated, dropped))
    assert isinstance(again, VariantGenerated)
