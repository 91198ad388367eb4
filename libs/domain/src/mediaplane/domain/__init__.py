"""The pure core every service's domain/ builds on: deciders, command contexts, domain errors.

Nothing here (or in any domain/ package) imports I/O, a framework or
servicekit; `lint-imports` checks it. The event store runs deciders
(`mediaplane.eventlog.handle`), each API maps domain error codes to HTTP.
"""

from mediaplane.domain.command import CommandContext
from mediaplane.domain.decider import Decider
from mediaplane.domain.errors import DomainError

__all__ = ["CommandContext", "Decider", "DomainError"]
