"""The file-status rules of `domain/file_status.py` compiled into the files projection's SQL.

The projection groups a file's ledger rows (alias `l`) into one row of
aggregates (alias `a`) and picks each field from them. `StatusSql` turns a
condition into an expression over `a`, and collects the aggregates the
expressions need: a condition about the latest body of some types reuses that
body's aggregate (`a.ver IS NOT NULL`), others get their own. Event types are
written from the contract classes' tags, never by hand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from mediaplane.catalog.domain.file_status import (
    AllOf,
    Always,
    AnyOf,
    Condition,
    LatestIs,
    Not,
    Seen,
    StatusTable,
    VerifiedKind,
)
from mediaplane.contracts import Event, FileVerified

# "The latest fact of one type": ties on occurred_at are broken by the event id (UUIDv7).
LATEST = "ORDER BY l.occurred_at DESC, l.event_id DESC"
_WORD = re.compile(r"^[a-z0-9_.]+$")


def literal(value: str) -> str:
    # Only tags and status names are ever written into the SQL: words, checked.
    if not _WORD.match(value):
        raise ValueError(f"not a plain word: {value!r}")
    return f"'{value}'"


def tag(event: type[Event]) -> str:
    return literal(event.tag())


def tags_in(events: Sequence[type[Event]]) -> str:
    """`IN ('a.v1', 'b.v1')` for these event types (`= 'a.v1'` for one)."""
    if len(events) == 1:
        return f"= {tag(events[0])}"
    return f"IN ({', '.join(tag(e) for e in events)})"


def tag_set(events: Sequence[type[Event]]) -> frozenset[str]:
    return frozenset(e.tag() for e in events)


class StatusSql:
    """Expressions over `a` for conditions and status tables, and the aggregates they need.

    `bodies` names the aggregates that already hold the latest body of some types.
    """

    def __init__(self, bodies: Mapping[str, Sequence[type[Event]]]) -> None:
        self._bodies = {tag_set(events): alias for alias, events in bodies.items()}
        self._aggregates: dict[str, str] = {}  # alias -> SQL aggregate over `l`

    def body(self, events: Sequence[type[Event]]) -> str:
        return f"a.{self._bodies[tag_set(events)]}"

    def aggregates(self) -> str:
        """The select-list entries of the aggregates the compiled expressions read."""
        return "".join(f",\n           {sql} AS {alias}" for alias, sql in self._aggregates.items())

    def _aggregate(self, prefix: str, sql: str) -> str:
        for alias, known in self._aggregates.items():
            if known == sql:
                return f"a.{alias}"
        alias = f"{prefix}_{len(self._aggregates)}"
        self._aggregates[alias] = sql
        return f"a.{alias}"

    def condition(self, condition: Condition) -> str:
        """A boolean expression for the condition, NULL standing for false.

        NULL appears only where a CASE or WHERE reads it as false (an absent body's
        kind, no transcode event yet); a negation therefore maps it to true.
        """
        match condition:
            case Seen(events) if tag_set(events) in self._bodies:
                return f"{self.body(events)} IS NOT NULL"
            case Seen(events):
                return self._aggregate(
                    "seen", f"coalesce(bool_or(l.type {tags_in(events)}), false)"
                )
            case LatestIs(among, event):
                among_sql = f"FILTER (WHERE l.type {tags_in(among)})"
                latest = self._aggregate("latest", f"(array_agg(l.type {LATEST}) {among_sql})[1]")
                return f"{latest} = {tag(event)}"
            case VerifiedKind(kinds):
                kind = f"{self.body((FileVerified,))}->>'kind'"
                return f"{kind} IN ({', '.join(literal(k) for k in kinds)})"
            case AnyOf(conditions):
                return "(" + " OR ".join(self.condition(c) for c in conditions) + ")"
            case AllOf(conditions):
                return "(" + " AND ".join(self.condition(c) for c in conditions) + ")"
            case Not(inner):
                return self.negation(inner)
            case Always():
                return "true"
        raise TypeError(f"no SQL for condition {condition!r}")

    def negation(self, condition: Condition) -> str:
        match condition:
            case Seen(events) if tag_set(events) in self._bodies:
                return f"{self.body(events)} IS NULL"
            case Seen():
                return f"NOT {self.condition(condition)}"
        return f"({self.condition(condition)}) IS NOT TRUE"

    def status(self, table: StatusTable) -> str:
        """`CASE WHEN <rule> THEN '<status>' ... END`: the first rule that holds."""
        branches = []
        for rule in table.rules:
            if isinstance(rule.when, Always):
                branches.append(f"ELSE {literal(rule.status)}")
                break
            branches.append(f"WHEN {self.condition(rule.when)} THEN {literal(rule.status)}")
        return "CASE " + "\n            ".join(branches) + " END"

    def failure_code(self, table: StatusTable) -> str:
        """The latest failure's `code` while the table's status is `failed`, else NULL."""
        assert table.failure is not None
        before, own = table.chosen("failed")
        holds = [self.negation(c) for c in before] + [self.condition(own)]
        return f"CASE WHEN {' AND '.join(holds)} THEN {self.body((table.failure,))}->>'code' END"
